"""Per-process memory of stored conversations, so a turn reads only what is new.

Rasa's SQL tracker store reads, JSON-parses and deserialises every event of
the conversation's session on each message, and counts them again on each
save: the cost grows with the conversation's length. Here each process keeps,
per conversation, the events exactly as they were stored (already redacted)
and the id of the last stored row. A retrieval asks the database only for rows
after that id, which is what another replica may have written meanwhile, and
for the first remembered row: if that row is gone (retention or an erasure
deleted the conversation), the memory is dropped and the conversation read
again in full. The database stays the only source of truth; the memory only
saves re-parsing what this process already parsed.

Bounded by ``ASSISTANT_TRACKER_CACHE`` conversations (least recently used
first out; default 2000).
"""
from __future__ import annotations

import json
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, List, NamedTuple, Optional, Tuple

import sqlalchemy as sa
from rasa.shared.core.events import Event, SessionStarted, deserialise_events


class StoredRow(NamedTuple):
    """What the memory needs of a row just written (its ORM object expires)."""

    id: int
    type_name: str
    data: str


@dataclass
class Entry:
    first_id: int
    last_id: int
    # Rows since the last session start: Rasa's own measure of what is stored.
    count: int
    events: List[Event] = field(default_factory=list)
    # Read from the database by this turn's retrieval: the save that ends the
    # turn (under the conversation's lock) needs no query to know what is stored.
    checked: bool = True


def _session_tail(rows: List[Any], events: List[Event]) -> Tuple[int, List[Any], List[Event]]:
    """Rows and events from the last SessionStarted on (Rasa keeps one session)."""
    for index in range(len(rows) - 1, -1, -1):
        if rows[index].type_name == SessionStarted.type_name:
            return index, rows[index:], _events_from(rows[index:])
    return -1, rows, events


def _events_from(rows: List[Any]) -> List[Event]:
    return deserialise_events([json.loads(row.data) for row in rows])


class TrackerCache:
    def __init__(self, size: Optional[int] = None) -> None:
        self.size = size or int(os.environ.get("ASSISTANT_TRACKER_CACHE", "2000"))
        self.entries: OrderedDict[str, Entry] = OrderedDict()

    def _put(self, sender_id: str, entry: Entry) -> None:
        self.entries[sender_id] = entry
        self.entries.move_to_end(sender_id)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def forget(self, sender_id: str) -> None:
        self.entries.pop(sender_id, None)

    def events(self, store: Any, session: Any, sender_id: str) -> List[Event]:
        """The stored events of the conversation's current session."""
        entry = self.entries.get(sender_id)
        if entry is not None and entry.count:
            rows = self._rows_after(store, session, sender_id, entry)
            if rows and rows[0].id == entry.first_id:
                new = rows[1:]
                index, tail, events = _session_tail(new, _events_from(new))
                if index >= 0:
                    entry = Entry(tail[0].id, tail[-1].id, len(tail), events)
                else:
                    entry.events.extend(events)
                    entry.count += len(new)
                    entry.last_id = new[-1].id if new else entry.last_id
                entry.checked = True
                self._put(sender_id, entry)
                return list(entry.events)
            self.forget(sender_id)
        rows = store._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
        events = _events_from(rows)
        if rows:
            self._put(sender_id, Entry(rows[0].id, rows[-1].id, len(rows), events))
        else:  # a new conversation: its first save starts the memory
            self._put(sender_id, Entry(0, 0, 0, []))
        return list(events)

    @staticmethod
    def _rows_after(store: Any, session: Any, sender_id: str, entry: Entry) -> List[Any]:
        table = store.SQLEvent
        return (
            session.query(table)
            .filter(table.sender_id == sender_id,
                    sa.or_(table.id == entry.first_id, table.id > entry.last_id))
            .order_by(table.id)
            .all()
        )

    def stored_count(self, store: Any, session: Any, sender_id: str) -> Optional[int]:
        """Rows of the current session, if this process's memory is up to date."""
        entry = self.entries.get(sender_id)
        if entry is None:
            return None
        if entry.checked:
            entry.checked = False
            return entry.count
        table = store.SQLEvent
        last = session.query(sa.func.max(table.id)).filter(table.sender_id == sender_id).scalar()
        if last != entry.last_id:
            self.forget(sender_id)
            return None
        return entry.count

    def saved(self, sender_id: str, rows: List[Any], events: List[Event]) -> None:
        """Remember what was just written (ids assigned), if the memory was current."""
        entry = self.entries.get(sender_id)
        if entry is None or not rows:
            return
        index, tail, tail_events = _session_tail(rows, events)
        if not entry.count and index < 0:
            self._put(sender_id, Entry(rows[0].id, rows[-1].id, len(rows), list(events), False))
            return
        if index >= 0:
            self._put(sender_id, Entry(tail[0].id, tail[-1].id, len(tail), tail_events, False))
            return
        entry.events.extend(events)
        entry.count += len(rows)
        entry.last_id = rows[-1].id
        self._put(sender_id, entry)
