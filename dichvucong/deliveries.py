"""Platform deliveries already accepted, shared by every replica and kept across restarts.

Telegram resends an update, and Zalo an event, that it thinks was lost (Zalo
retries after 30 s, 5, 15, 30 and 60 minutes with the original timestamp). A
process's own memory forgets on restart and is not seen by the other
replicas behind a balancer; the ``channel_deliveries`` table of the dossier
database is. :meth:`Deliveries.first_time` inserts the key and reads the
unique constraint's verdict: of two replicas receiving the same event at the
same moment exactly one insert succeeds, with no read-then-write race.

The calls block (SQLAlchemy, sync): channels run them with ``asyncio.to_thread``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Optional

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from dichvucong.dossiers.models import ChannelDelivery, as_utc, utcnow

KEY_LENGTH = 300
_TABLE = ChannelDelivery.__table__


def stored_key(key: str) -> str:
    """``key`` as stored: as is when it fits the column, else its SHA-256 digest."""
    if len(key) <= KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class Deliveries:
    """The ``channel_deliveries`` table: has this delivery been accepted before?"""

    def __init__(self, url: Optional[str] = None, engine: Optional[Engine] = None):
        if engine is None:
            # Imported here: building an engine needs the settings, the class does not.
            from dichvucong.dossiers.store.engine import make_engine

            engine = make_engine(url)
        self.engine = engine

    def first_time(self, key: str, channel: str, now: Optional[dt.datetime] = None) -> bool:
        """Record ``key``; True if no one recorded it before (this replica or another).

        Raises the database's own error when the table cannot be reached; only
        the unique constraint's refusal means "seen".
        """
        seen_at = as_utc(now) if now is not None else utcnow()
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(_TABLE).values(key=stored_key(key), channel=channel, seen_at=seen_at)
                )
        except IntegrityError:
            return False
        return True

    def prune(self, older_than: dt.datetime) -> int:
        """Forget deliveries recorded before ``older_than``; returns how many."""
        with self.engine.begin() as connection:
            result = connection.execute(delete(_TABLE).where(_TABLE.c.seen_at < as_utc(older_than)))
        return int(result.rowcount or 0)

    def dispose(self) -> None:
        self.engine.dispose()
