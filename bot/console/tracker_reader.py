"""Reading Rasa's SQL tracker store (``events`` table), strictly read-only.

This module knows the table and the connection (an SQLAlchemy URL, or the
SQLite file opened with ``mode=ro``) and hands out plain ``Row`` objects, one
conversation at a time. What the rows mean, and the masking of what they say,
is ``bot.console.conversation``'s job.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from dichvucong.tracker_events import events

# The actions and slots whose events say something about a conversation.
FALLBACK_ACTIONS = frozenset({"action_clarify", "action_default_fallback"})
HANDOFF_ACTIONS = frozenset({"action_handoff"})
SLOTS_READ = ("requested_slot", "procedure")

_COLUMNS = [events.c[name] for name in (
    "id", "sender_id", "type_name", "timestamp", "intent_name", "action_name", "data"
)]


class TrackerUnavailable(RuntimeError):
    """The tracker store cannot be read; the message is Vietnamese."""


@dataclass
class Row:
    id: int
    sender: str
    type: str
    ts: float
    intent: Optional[str]
    action: Optional[str]
    data: Dict[str, Any]


def _row(raw) -> Row:
    try:
        data = json.loads(raw.data) if raw.data else {}
    except (TypeError, ValueError):
        data = {}
    return Row(
        raw.id, raw.sender_id, raw.type_name, raw.timestamp or 0.0, raw.intent_name,
        raw.action_name, data if isinstance(data, dict) else {},
    )


def tracker_engine(url: str | None, sqlite_path: Path | None) -> Engine:
    if url:
        engine = sa.create_engine(url, future=True, pool_pre_ping=True)
        if engine.dialect.name == "postgresql":
            # Belt and braces: the console should also get a read-only database role.
            engine = engine.execution_options(postgresql_readonly=True)
        return engine
    path = Path(sqlite_path).resolve()

    def connect():
        # mode=ro: the console can never write to (or create) Rasa's tracker file.
        return sqlite3.connect(
            f"{path.as_uri()}?mode=ro", uri=True, timeout=10, check_same_thread=False
        )

    return sa.create_engine("sqlite://", creator=connect, future=True)


class TrackerReader:
    def __init__(self, url: str | None = None, sqlite_path: Path | None = None) -> None:
        self.description = url.split("@")[-1] if url else str(sqlite_path)
        self.sqlite_path = None if url else Path(sqlite_path) if sqlite_path else None
        self.engine = tracker_engine(url, sqlite_path)

    def dispose(self) -> None:
        self.engine.dispose()

    def _check_file(self) -> None:
        if self.sqlite_path is not None and not self.sqlite_path.exists():
            raise TrackerUnavailable(
                f"Chưa có kho hội thoại tại {self.sqlite_path}: trợ lý chưa nhận tin nhắn nào."
            )

    def _unavailable(self, error: Exception) -> TrackerUnavailable:
        if "no such table" in str(error) or "does not exist" in str(error):
            return TrackerUnavailable("Kho hội thoại chưa có bảng events.")
        return TrackerUnavailable(
            f"Không đọc được kho hội thoại ({self.description}): {type(error).__name__}."
        )

    def _execute(self, statement) -> List[Any]:
        self._check_file()
        try:
            with self.engine.connect() as connection:
                return list(connection.execute(statement))
        except SQLAlchemyError as error:
            raise self._unavailable(error) from error

    def scan(self, start: float | None = None, end: float | None = None) -> Iterator[List[Row]]:
        """The events that matter to the console in [start, end), one list per sender."""
        relevant = sa.or_(
            events.c.type_name.in_(("user", "bot")),
            sa.and_(
                events.c.type_name == "action",
                events.c.action_name.in_(sorted(FALLBACK_ACTIONS | HANDOFF_ACTIONS)),
            ),
            sa.and_(events.c.type_name == "slot", events.c.action_name.in_(SLOTS_READ)),
        )
        query = sa.select(*_COLUMNS).where(relevant)
        if start is not None:
            query = query.where(events.c.timestamp >= start)
        if end is not None:
            query = query.where(events.c.timestamp < end)
        query = query.order_by(events.c.sender_id, events.c.id)
        self._check_file()
        try:
            with self.engine.connect() as connection:
                # Streamed and grouped on the fly: one conversation in memory at a time.
                result = connection.execution_options(stream_results=True).execute(query)
                rows = (_row(r) for r in result.yield_per(1000))
                for _, group in itertools.groupby(rows, key=lambda r: r.sender):
                    yield list(group)
        except SQLAlchemyError as error:
            raise self._unavailable(error) from error

    def sender_of(self, event_id: int) -> str | None:
        found = self._execute(sa.select(events.c.sender_id).where(events.c.id == event_id))
        return found[0][0] if found else None

    def conversation(self, event_id: int) -> List[Row]:
        """Every event of the conversation that ``event_id`` belongs to."""
        sender = self.sender_of(event_id)
        if sender is None:
            return []
        return self.conversation_of(sender)

    def conversation_of(self, sender: str) -> List[Row]:
        """Every event of one sender (a handoff ticket knows its conversation by sender)."""
        query = sa.select(*_COLUMNS).where(events.c.sender_id == sender).order_by(events.c.id)
        return [_row(r) for r in self._execute(query)]
