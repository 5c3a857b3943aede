"""Conversations built from tracker rows: messages, NLU results, review flags, masking.

Everything leaving this module is masked: identity and phone numbers through
``dichvucong.privacy.redact``, and every digit of a message typed while
the bot was asking for the "4 chữ số cuối" (second factor of the dossier
lookup). The raw texts never reach templates, the API or the console database.
The rows come from ``bot.console.tracker_reader``; ``bot.console.listing`` picks
the conversations a page shows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from bot.console import clock
from bot.console.tracker_reader import FALLBACK_ACTIONS, HANDOFF_ACTIONS, Row
from dichvucong import contract
from dichvucong.privacy import MASK, redact
from dichvucong.retention import sender_digest as retention_digest
from dichvucong.text import fold

FALLBACK_INTENT = "nlu_fallback"
HANDOFF_INTENT = "request_human"
RATING_INTENT = "rate_answer"
SECOND_FACTOR_SLOT = contract.SLOT_SECOND_FACTOR
# Folded form of the question that asks for the last digits, whatever form
# or channel asked it.
# Conversations stored before the retry prompt had its own response name
# (utter_ask_second_factor_again) are recognised by its wording.
_ASKS_DIGITS = re.compile(r"\b4 chu so cuoi\b")
_DIGIT = re.compile(r"\d")

REASON_LABELS = {
    "fallback": "Bot không chắc (hỏi lại)",
    "low_confidence": "Độ tin cậy thấp",
    "negative_rating": "Bị đánh giá 👎",
}


def mask_digits(text: str) -> str:
    return _DIGIT.sub(MASK, text or "")


def safe_text(text: str | None, second_factor: bool = False) -> str:
    text = text or ""
    return redact(mask_digits(text) if second_factor else text)


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
    # SHA-256 of the raw sender id: how tags find a conversation (never shown).
    sender_digest: str = ""
    procedure_slot: Optional[str] = None  # the last value of the slot ``procedure``
    handed_off_at: Optional[dt.datetime] = None  # the first ``action_handoff``

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
    def last_question(self) -> Message | None:
        """The citizen's last message that is not a rating (what the ending is judged on)."""
        for message in reversed(self.user_messages):
            if message.intent != RATING_INTENT:
                return message
        return None

    @property
    def ended_in_fallback(self) -> bool:
        """The assistant had to ask again (or gave up) on the last question, and the
        citizen wrote nothing after: they left after a fallback or a clarification."""
        last = self.last_question
        return bool(last and last.fallback)

    @property
    def resolved_alone(self) -> bool:
        """No person asked for or handed to, no fallback at the end, no 👎."""
        return not (self.handoff or self.handed_off_at or self.ended_in_fallback
                    or self.rated_down)

    @property
    def preview(self) -> str:
        for message in self.user_messages:
            if not message.payload:
                return message.text[:120]
        return ""


# --- building a conversation, one row type at a time ---------------------------------


@dataclass
class _State:
    """What ``build`` remembers between rows."""

    low_confidence: float
    messages: List[Message] = field(default_factory=list)
    procedures: Set[str] = field(default_factory=set)
    requested: str | None = None  # the slot a form is asking for
    asked_digits: bool = False  # the last bot message asked for the lookup digits
    last_user: Message | None = None  # the last citizen message (no system events)
    last_buttons: Dict[str, str] = field(default_factory=dict)  # payload → title
    procedure_slot: str | None = None
    handed_off_at: dt.datetime | None = None

    def last_rated(self) -> Message | None:
        """The citizen's question whose answer a rating is about."""
        for message in reversed(self.messages):
            if message.kind == "user" and message.intent != RATING_INTENT and not message.system:
                return message
        return None


def _on_slot(state: _State, row: Row) -> None:
    value = row.data.get("value")
    if row.action == "requested_slot":
        state.requested = value
    elif row.action == "procedure" and isinstance(value, str) and value:
        state.procedures.add(value)
        state.procedure_slot = value


def _on_session(state: _State, row: Row) -> None:
    state.messages.append(Message(row.id, "session", clock.local(row.ts)))


def _on_action(state: _State, row: Row) -> None:
    if row.action in HANDOFF_ACTIONS and state.handed_off_at is None:
        state.handed_off_at = clock.local(row.ts)
    if state.last_user is None:
        return
    if row.action in FALLBACK_ACTIONS:
        state.last_user.fallback = True
    if row.action in HANDOFF_ACTIONS:
        state.last_user.handoff = True


def _on_bot(state: _State, row: Row) -> None:
    metadata = row.data.get("metadata") or {}
    text = row.data.get("text") or ""
    buttons = [b for b in (row.data.get("data") or {}).get("buttons") or [] if b]
    state.last_buttons = {str(b.get("payload")): str(b.get("title") or "") for b in buttons}
    state.asked_digits = (
        metadata.get("utter_action") in contract.SECOND_FACTOR_PROMPTS
        or bool(_ASKS_DIGITS.search(fold(text)))
    )
    state.messages.append(
        Message(
            row.id, "bot", clock.local(row.ts), text=safe_text(text),
            buttons=[safe_text(b.get("title")) for b in buttons],
        )
    )


def _top_real(parse: Dict[str, Any]) -> Tuple[str | None, float | None]:
    for candidate in parse.get("intent_ranking") or []:
        if candidate.get("name") and candidate.get("name") != FALLBACK_INTENT:
            return candidate["name"], candidate.get("confidence")
    intent = parse.get("intent") or {}
    return intent.get("name"), intent.get("confidence")


def _rating(entities: Sequence[Dict[str, Any]], raw: str) -> str | None:
    for entity in entities:
        if entity.get("entity") == "rating" and entity.get("value") in ("up", "down"):
            return entity["value"]
    return "down" if "down" in raw else "up" if "up" in raw else None


def _user_message(state: _State, row: Row, parse: Dict[str, Any], raw: str) -> Message:
    """A user event as a masked message with its NLU result."""
    intent = (parse.get("intent") or {}).get("name") or row.intent
    top, confidence = _top_real(parse)
    second = state.requested == SECOND_FACTOR_SLOT or state.asked_digits
    payload = raw.startswith("/")
    system = bool(intent and intent.startswith("EXTERNAL_"))
    text = safe_text(raw, second)
    if payload and raw in state.last_buttons:
        text = f"[Nút] {safe_text(state.last_buttons[raw])}"
    elif system:
        text = f"[Sự kiện hệ thống] {intent}"
    message = Message(
        row.id, "user", clock.local(row.ts),
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
            for e in parse.get("entities") or []
        ],
        channel=row.data.get("input_channel") or (row.data.get("metadata") or {}).get("channel"),
        payload=payload,
        system=system,
        second_factor=second,
        fallback=intent == FALLBACK_INTENT,
        handoff=intent == HANDOFF_INTENT,
    )
    if confidence is not None and not payload and not system:
        message.low_confidence = confidence < state.low_confidence
    return message


def _on_user(state: _State, row: Row) -> None:
    parse = row.data.get("parse_data") or {}
    raw = row.data.get("text") or parse.get("text") or ""
    entities = parse.get("entities") or []
    message = _user_message(state, row, parse, raw)
    for entity in entities:
        if entity.get("entity") == "procedure" and entity.get("value"):
            state.procedures.add(str(entity["value"]))
    if message.intent == RATING_INTENT:
        message.rating = _rating(entities, raw)
        rated = state.last_rated()
        if rated is not None:
            rated.rated_down |= message.rating == "down"
            rated.rated_up |= message.rating == "up"
    state.messages.append(message)
    if not message.system:
        state.last_user = message
    state.asked_digits = False


_HANDLERS: Dict[str, Callable[[_State, Row], None]] = {
    "slot": _on_slot,
    "session_started": _on_session,
    "action": _on_action,
    "bot": _on_bot,
    "user": _on_user,
}


def build(rows: Sequence[Row], low_confidence: float) -> Conversation:
    """Messages of one conversation with their NLU results and review flags."""
    state = _State(low_confidence)
    for row in rows:
        handler = _HANDLERS.get(row.type)
        if handler is not None:
            handler(state, row)
    key = rows[0].id if rows else 0
    sender = safe_text(rows[0].sender) if rows else ""
    return Conversation(
        key, sender, state.messages, state.procedures,
        sender_digest=sender_digest(rows[0].sender) if rows else "",
        procedure_slot=state.procedure_slot, handed_off_at=state.handed_off_at,
    )


# One definition, shared with the retention run that deletes tags with their conversation.
sender_digest = retention_digest


# --- serialisers for the JSON API ---------------------------------------------------


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
