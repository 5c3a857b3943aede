"""When staff answer chats: weekly office hours, a time zone and holidays.

Written as people write them on an office's door, e.g.
``"Mon-Fri 07:30-11:30,13:30-17:00; Sat 07:30-11:30"``. Out of these hours the
assistant takes a callback request instead of queueing the citizen.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Dict, FrozenSet, Iterable, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dichvucong.settings import HandoffSettings, settings

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
# Vietnam has had no daylight saving since 1975; used if tzdata is missing.
_VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")
Span = Tuple[dt.time, dt.time]


class HoursError(ValueError):
    pass


def _days(spec: str) -> Iterable[int]:
    for part in spec.split(","):
        part = part.strip().lower()
        if "-" in part:
            first, last = (DAYS.index(p.strip()[:3]) for p in part.split("-", 1))
            yield from (range(first, last + 1) if first <= last
                        else [*range(first, 7), *range(0, last + 1)])
        else:
            yield DAYS.index(part[:3])


def parse_hours(text: str) -> Dict[int, Tuple[Span, ...]]:
    """``{weekday: ((start, end), ...)}`` from ``text``; HoursError if unreadable."""
    week: Dict[int, Tuple[Span, ...]] = {}
    for group in filter(None, (g.strip() for g in (text or "").split(";"))):
        days, _, ranges = group.partition(" ")
        spans = []
        try:
            for item in ranges.split(","):
                match = _RANGE.match(item.strip())
                if not match:
                    raise HoursError(f"unreadable time range {item!r} in {text!r}")
                h1, m1, h2, m2 = map(int, match.groups())
                # "24:00" closes the day: "Mon-Sun 00:00-24:00" is always open.
                end = dt.time.max if (h2, m2) == (24, 0) else dt.time(h2, m2)
                start = dt.time(h1, m1)
                if end <= start:
                    raise HoursError(f"time range {item!r} ends before it starts")
                spans.append((start, end))
            for day in _days(days):
                week[day] = tuple(sorted(week.get(day, ()) + tuple(spans)))
        except ValueError as error:
            raise HoursError(f"unreadable office hours {text!r}: {error}") from error
    return week


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name in ("Asia/Ho_Chi_Minh", "Asia/Saigon"):
            return _VIETNAM
        raise HoursError(f"unknown time zone {name!r}") from None


@dataclasses.dataclass(frozen=True)
class OfficeHours:
    week: Dict[int, Tuple[Span, ...]]
    zone: dt.tzinfo
    holidays: FrozenSet[dt.date] = frozenset()

    @classmethod
    def from_settings(cls, handoff: Optional[HandoffSettings] = None) -> OfficeHours:
        handoff = handoff or settings().handoff
        return cls(
            parse_hours(handoff.hours),
            _zone(handoff.timezone),
            frozenset(dt.date.fromisoformat(day) for day in handoff.holidays),
        )

    def _local(self, now: Optional[dt.datetime]) -> dt.datetime:
        now = now or dt.datetime.now(dt.timezone.utc)
        if now.tzinfo is None:
            raise ValueError("pass a timezone-aware datetime")
        return now.astimezone(self.zone)

    def _spans(self, day: dt.date) -> Tuple[Span, ...]:
        return () if day in self.holidays else self.week.get(day.weekday(), ())

    def is_open(self, now: Optional[dt.datetime] = None) -> bool:
        local = self._local(now)
        return any(start <= local.time() < end for start, end in self._spans(local.date()))

    def next_opening(self, now: Optional[dt.datetime] = None) -> Optional[dt.datetime]:
        """The next instant the office opens after ``now`` (None if never in a year)."""
        local = self._local(now)
        for offset in range(366):
            day = local.date() + dt.timedelta(days=offset)
            for start, _end in self._spans(day):
                opening = dt.datetime.combine(day, start, tzinfo=self.zone)
                if opening > local:
                    return opening
        return None


def describe_opening(opening: Optional[dt.datetime], now: Optional[dt.datetime] = None) -> str:
    """ "7:30 sáng thứ Hai, 07/12/2026" or "13:30 hôm nay": what the citizen reads."""
    if opening is None:
        return "giờ hành chính"
    hour = f"{opening.hour}:{opening.minute:02d}"
    today = (now or dt.datetime.now(dt.timezone.utc)).astimezone(opening.tzinfo).date()
    if opening.date() == today:
        return f"{hour} hôm nay"
    if opening.date() == today + dt.timedelta(days=1):
        return f"{hour} ngày mai ({WEEKDAY_NAMES[opening.weekday()]}, {opening:%d/%m/%Y})"
    return f"{hour} {WEEKDAY_NAMES[opening.weekday()]}, {opening:%d/%m/%Y}"
