"""Vietnam time for everything the console shows or filters by, in one place.

Rasa stores epoch seconds, the console's tables aware UTC datetimes; staff read
and choose days in Vietnam time. Pages, the training view and the command line
format moments the same way through ``fmt_time``.
"""

from __future__ import annotations

import datetime as dt
from typing import Tuple

from dichvucong.dossiers.models import VIETNAM_TZ

EARLIEST = dt.datetime.min.replace(tzinfo=VIETNAM_TZ)


def today() -> dt.date:
    return dt.datetime.now(VIETNAM_TZ).date()


def local(ts: float | None) -> dt.datetime | None:
    """An epoch timestamp (Rasa's events) as a Vietnam-time datetime."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).astimezone(VIETNAM_TZ)


def day_bounds(start: dt.date | None, end: dt.date | None) -> Tuple[float | None, float | None]:
    """Timestamps of [start 00:00, end+1 00:00) in Vietnam time; None means open."""

    def ts(day: dt.date) -> float:
        return dt.datetime.combine(day, dt.time(), VIETNAM_TZ).timestamp()

    return (ts(start) if start else None, ts(end + dt.timedelta(days=1)) if end else None)


def fmt_time(value: dt.datetime | None) -> str:
    """"20/11/2026 16:05" in Vietnam time; "" for no time."""
    if value is None:
        return ""
    return value.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M")


def file_time(mtime: float) -> dt.datetime:
    """A file's modification time in Vietnam time."""
    return dt.datetime.fromtimestamp(mtime, VIETNAM_TZ)


def stamp(fmt: str = "%Y%m%d-%H%M%S") -> str:
    """The current Vietnam time for names (model versions)."""
    return dt.datetime.now(VIETNAM_TZ).strftime(fmt)
