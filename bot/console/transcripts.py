"""Conversations read straight from Rasa's SQL tracker store (``events`` table), read-only.

Everything leaving this module is masked: identity and phone numbers through
``actions.dossiers.privacy.redact``, and every digit of a message typed while
the bot was asking for the "4 chữ số cuối" (second factor of the dossier
lookup). The raw texts never reach templates, the API or the console database.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from actions.dossiers.models import VIETNAM_TZ
from actions.dossiers.privacy import MASK, redact
from bot.text import fold

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = frozenset({"action_clarify", "action_default_fallback"})
HANDOFF_INTENT = "request_human"
HANDOFF_ACTIONS = frozenset({"action_handoff"})
RATING_INTENT = "rate_answer"
SECOND_FACTOR_SLOT = "second_factor"
SECOND_FACTOR_UTTERANCE = "utter_ask_second_factor"
# Folded form of the question that asks for the last digits, whatever form
# or channel asked it.
_ASKS_DIGITS = re.compile(r"\b4 chu so cuoi\b")
_DIGIT = re.compile(r"\d")

REASON_LABELS = {
    "fallback": "Bot không chắc (hỏi lại)",
    "low_confidence": "Độ tin cậy thấp",
    "negative_rating": "Bị đánh giá 👎",
}

events = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("intent_name", sa.String),
    sa.column("action_name", sa.String),
    sa.column("data", sa.Text),
)


class TrackerUnavailable(RuntimeError):
    """The tracker store cannot be read; the message is Vietnamese."""


def mask_digits(text: str) -> str:
    return _DIGIT.sub(MASK, text or "")


def safe_text(text: str | None, second_factor: bool = False) -> str:
    text = text or ""
    return redact(mask_digits(text) if second_factor else text)


def local(ts: float | None) -> dt.datetime | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).astimezone(VIETNAM_TZ)


def day_bounds(start: dt.date | None, end: dt.date | None) -> Tuple[float | None, float | None]:
    """Timestamps of [start 00:00, end+1 00:00) in Vietnam time; None means open."""

    def ts(day: dt.date) -> float:
        return dt.datetime.combine(day, dt.time(), VIETNAM_TZ).timestamp()

    return (ts(start) if start else None, ts(end + dt.timedelta(days=1)) if end else None)


# --- reading the store --------------------------------------------------------------


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
        columns = [events.c[name] for name in (
            "id", "sender_id", "type_name", "timestamp", "intent_name", "action_name", "data"
        )]
        relevant = sa.or_(
            events.c.type_name.in_(("user", "bot")),
            sa.and_(
                events.c.type_name == "action",
                events.c.action_name.in_(sorted(FALLBACK_ACTIONS | HANDOFF_ACTIONS)),
            ),
            sa.and_(
                events.c.type_name == "slot",
                events.c.action_name.in_(("requested_slot", "procedure")),
            ),
        )
        query = sa.select(*columns).where(relevant)
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
        columns = [events.c[name] for name in (
            "id", "sender_id", "type_name", "timestamp", "intent_name", "action_name", "data"
        )]
        query = sa.select(*columns).where(events.c.sender_id == sender).order_by(events.c.id)
        return [_row(r) for r in self._execute(query)]


# --- building conversations ------------------------------------------------------


@dataclass
class Message:
    event_id: int
    kind: str  # "user", "bot" or "session"
    at: dt.datetime
    text: str = ""
    intent: Optional[str] = None  # what NLU returned, nlu_fallback included
    top_intent: Optional[str] = None  # its best real intent
    confidence: Optional[float] = None  # of top_intent
    ranking: List[Tuple[str, float]] = field(default_factory=list)
    entities: List[Tuple[str, str]] = field(default_factory=list)
    buttons: List[str] = field(default_factory=list)
    channel: Optional[str] = None
    payload: bool = False
    system: bool = False
    second_factor: bool = False
    fallback: bool = False
    low_confidence: bool = False
    handoff: bool = False
    rating: Optional[str] = None
    rated_down: bool = False
    rated_up: bool = False

    @property
    def procedure(self) -> str | None:
        return next((value for name, value in self.entities if name == "procedure"), None)

    @property
    def reviewable(self) -> bool:
        """Typed by a citizen, not a button, not a notice, not the digits of a lookup."""
        return self.kind == "user" and not (self.payload or self.system or self.second_factor)

    @property
    def reasons(self) -> List[str]:
        if not self.reviewable:
            return []
        found = []
        if self.fallback:
            found.append("fallback")
        if self.low_confidence and not self.fallback:
            found.append("low_confidence")
        if self.rated_down:
            found.append("negative_rating")
        return found

    @property
    def reason_labels(self) -> List[str]:
        return [REASON_LABELS[r] for r in self.reasons]


@dataclass
class Conversation:
    key: int
    sender: str  # masked
    messages: List[Message]
    procedures: Set[str]

    @property
    def user_messages(self) -> List[Message]:
        return [m for m in self.messages if m.kind == "user" and not m.system]

    @property
    def started(self) -> dt.datetime | None:
        return self.messages[0].at if self.messages else None

    @property
    def last(self) -> dt.datetime | None:
        return self.messages[-1].at if self.messages else None

    @property
    def channel(self) -> str:
        for message in self.user_messages:
            if message.channel:
                return message.channel
        return ""

    @property
    def fallback(self) -> bool:
        return any(m.fallback for m in self.user_messages)

    @property
    def low_confidence(self) -> bool:
        return any(m.low_confidence for m in self.user_messages if m.reviewable)

    @property
    def handoff(self) -> bool:
        return any(m.handoff for m in self.user_messages)

    @property
    def rated_down(self) -> bool:
        return any(m.rating == "down" for m in self.user_messages)

    @property
    def rated_up(self) -> bool:
        return any(m.rating == "up" for m in self.user_messages)

    @property
    def preview(self) -> str:
        for message in self.user_messages:
            if not message.payload:
                return message.text[:120]
        return ""


def _top_real(parse: Dict[str, Any]) -> Tuple[str | None, float | None]:
    for candidate in parse.get("intent_ranking") or []:
        if candidate.get("name") and candidate.get("name") != FALLBACK_INTENT:
            return candidate["name"], candidate.get("confidence")
    intent = parse.get("intent") or {}
    return intent.get("name"), intent.get("confidence")


def _rating(entities: Sequence[Dict[str, Any]]) -> str | None:
    for entity in entities:
        if entity.get("entity") == "rating" and entity.get("value") in ("up", "down"):
            return entity["value"]
    return None


def build(rows: Sequence[Row], low_confidence: float) -> Conversation:
    """Messages of one conversation with their NLU results and review flags."""
    messages: List[Message] = []
    procedures: Set[str] = set()
    requested: str | None = None
    asked_digits = False
    last_user: Message | None = None
    last_buttons: Dict[str, str] = {}

    for row in rows:
        at = local(row.ts)
        if row.type == "slot":
            value = row.data.get("value")
            if row.action == "requested_slot":
                requested = value
            elif row.action == "procedure" and isinstance(value, str) and value:
                procedures.add(value)
        elif row.type == "session_started":
            messages.append(Message(row.id, "session", at))
        elif row.type == "action":
            if last_user is not None and row.action in FALLBACK_ACTIONS:
                last_user.fallback = True
            if last_user is not None and row.action in HANDOFF_ACTIONS:
                last_user.handoff = True
        elif row.type == "bot":
            metadata = row.data.get("metadata") or {}
            text = row.data.get("text") or ""
            data = row.data.get("data") or {}
            buttons = data.get("buttons") or []
            last_buttons = {
                str(b.get("payload")): str(b.get("title") or "") for b in buttons if b
            }
            asked_digits = (
                metadata.get("utter_action") == SECOND_FACTOR_UTTERANCE
                or bool(_ASKS_DIGITS.search(fold(text)))
            )
            messages.append(
                Message(
                    row.id, "bot", at, text=safe_text(text),
                    buttons=[safe_text(b.get("title")) for b in buttons if b],
                )
            )
        elif row.type == "user":
            parse = row.data.get("parse_data") or {}
            raw = row.data.get("text") or parse.get("text") or ""
            intent = (parse.get("intent") or {}).get("name") or row.intent
            top, confidence = _top_real(parse)
            second = requested == SECOND_FACTOR_SLOT or asked_digits
            payload = raw.startswith("/")
            system = bool(intent and intent.startswith("EXTERNAL_"))
            entities = parse.get("entities") or []
            text = safe_text(raw, second)
            if payload and raw in last_buttons:
                text = f"[Nút] {safe_text(last_buttons[raw])}"
            elif system:
                text = f"[Sự kiện hệ thống] {intent}"
            message = Message(
                row.id, "user", at,
                text=text,
                intent=intent,
                top_intent=top,
                confidence=confidence,
                # The real intents only: the fallback's own "confidence" is its threshold.
                ranking=[
                    (c.get("name"), c.get("confidence") or 0.0)
                    for c in (parse.get("intent_ranking") or [])
                    if c.get("name") != FALLBACK_INTENT
                ][:3],
                entities=[
                    (str(e.get("entity")), safe_text(str(e.get("value")), second))
                    for e in entities
                ],
                channel=row.data.get("input_channel")
                or (row.data.get("metadata") or {}).get("channel"),
                payload=payload,
                system=system,
                second_factor=second,
                fallback=intent == FALLBACK_INTENT,
                handoff=intent == HANDOFF_INTENT,
            )
            if confidence is not None and not payload and not system:
                message.low_confidence = confidence < low_confidence
            for entity in entities:
                if entity.get("entity") == "procedure" and entity.get("value"):
                    procedures.add(str(entity["value"]))
            if intent == RATING_INTENT:
                message.rating = _rating(entities) or (
                    "down" if "down" in raw else "up" if "up" in raw else None
                )
                rated = _last_rated(messages)
                if rated is not None:
                    rated.rated_down |= message.rating == "down"
                    rated.rated_up |= message.rating == "up"
            messages.append(message)
            if not system:
                last_user = message
            asked_digits = False
    key = rows[0].id if rows else 0
    return Conversation(key, safe_text(rows[0].sender) if rows else "", messages, procedures)


def _last_rated(messages: List[Message]) -> Message | None:
    """The citizen's question whose answer a rating is about."""
    for message in reversed(messages):
        if message.kind == "user" and message.intent != RATING_INTENT and not message.system:
            return message
    return None


# --- listing ----------------------------------------------------------------------


@dataclass
class Filters:
    start: dt.date | None = None
    end: dt.date | None = None
    channel: str | None = None
    procedure: str | None = None
    fallback: bool = False
    low_confidence: bool = False
    handoff: bool = False
    negative: bool = False

    def matches(self, conversation: Conversation) -> bool:
        if not conversation.user_messages:
            return False
        if self.channel and conversation.channel != self.channel:
            return False
        if self.procedure and self.procedure not in conversation.procedures:
            return False
        checks = (
            (self.fallback, conversation.fallback),
            (self.low_confidence, conversation.low_confidence),
            (self.handoff, conversation.handoff),
            (self.negative, conversation.rated_down),
        )
        return all(have for wanted, have in checks if wanted)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "on", "true", "yes")


def filters_from(query: Dict[str, str], default_days: int = 30, today: dt.date | None = None):
    """Filters from a query string; without dates, the last ``default_days`` days."""
    today = today or dt.datetime.now(VIETNAM_TZ).date()
    start, end = _date(query.get("from")), _date(query.get("to"))
    if start is None and end is None and "from" not in query and "to" not in query:
        start = today - dt.timedelta(days=default_days - 1)
    return Filters(
        start=start,
        end=end,
        channel=(query.get("channel") or "").strip() or None,
        procedure=(query.get("procedure") or "").strip() or None,
        fallback=_flag(query.get("fallback")),
        low_confidence=_flag(query.get("low_confidence")),
        handoff=_flag(query.get("handoff")),
        negative=_flag(query.get("negative")),
    )


def conversations(
    reader: TrackerReader, filters: Filters, low_confidence: float
) -> Tuple[List[Conversation], List[str]]:
    """Matching conversations, most recent first, and every channel seen in the range."""
    start, end = day_bounds(filters.start, filters.end)
    found: List[Conversation] = []
    channels: Set[str] = set()
    for rows in reader.scan(start, end):
        conversation = build(rows, low_confidence)
        if conversation.channel:
            channels.add(conversation.channel)
        if filters.matches(conversation):
            found.append(conversation)
    found.sort(key=lambda c: c.last or dt.datetime.min.replace(tzinfo=VIETNAM_TZ), reverse=True)
    return found, sorted(channels)


def all_messages(
    reader: TrackerReader, start: dt.date | None, end: dt.date | None, low_confidence: float
) -> Iterable[Conversation]:
    a, b = day_bounds(start, end)
    for rows in reader.scan(a, b):
        yield build(rows, low_confidence)


def summary_dict(conversation: Conversation) -> Dict[str, Any]:
    return {
        "key": conversation.key,
        "sender": conversation.sender,
        "started": conversation.started.isoformat() if conversation.started else None,
        "last": conversation.last.isoformat() if conversation.last else None,
        "channel": conversation.channel,
        "user_messages": len(conversation.user_messages),
        "procedures": sorted(conversation.procedures),
        "fallback": conversation.fallback,
        "low_confidence": conversation.low_confidence,
        "handoff": conversation.handoff,
        "negative_rating": conversation.rated_down,
        "preview": conversation.preview,
    }


def message_dict(message: Message) -> Dict[str, Any]:
    return {
        "event_id": message.event_id,
        "kind": message.kind,
        "at": message.at.isoformat() if message.at else None,
        "text": message.text,
        "intent": message.intent,
        "top_intent": message.top_intent,
        "confidence": message.confidence,
        "ranking": [{"name": n, "confidence": c} for n, c in message.ranking],
        "entities": [{"entity": e, "value": v} for e, v in message.entities],
        "buttons": message.buttons,
        "second_factor": message.second_factor,
        "reasons": message.reasons,
        "rating": message.rating,
    }
