"""Review inbox: user messages the assistant was unsure about or that were rated 👎.

A reviewer confirms the predicted intent, corrects it (to an existing intent
or the name of one still to be created) and the procedure, or marks the
message as noise. Only masked text is stored with the decision.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from sqlalchemy import func, select

from bot.console.conversation import FALLBACK_INTENT, Message, build
from bot.console.db import DECISIONS, Annotation, Database, now
from bot.console.listing import all_messages
from bot.console.nludata import INTENT_NAME
from bot.console.tracker_reader import TrackerReader
from dichvucong.knowledge.base import PROCEDURE_IDS

audit = logging.getLogger("bot.console.audit")


class ReviewError(ValueError):
    """Refused annotation; the message is Vietnamese."""


@dataclass
class InboxItem:
    message: Message
    conversation_key: int
    annotation: Optional[Annotation] = None


def inbox(
    reader: TrackerReader,
    db: Database,
    start: dt.date | None,
    end: dt.date | None,
    low_confidence: float,
    *,
    show: str = "open",
) -> List[InboxItem]:
    """Flagged messages in the range, newest first; ``show`` is open, done or all."""
    items: List[InboxItem] = []
    for conversation in all_messages(reader, start, end, low_confidence):
        for message in conversation.messages:
            if message.reasons:
                items.append(InboxItem(message, conversation.key))
    annotations = annotations_for(db, [i.message.event_id for i in items])
    for item in items:
        item.annotation = annotations.get(item.message.event_id)
    if show == "open":
        items = [i for i in items if i.annotation is None]
    elif show == "done":
        items = [i for i in items if i.annotation is not None]
    items.sort(key=lambda i: i.message.at, reverse=True)
    return items


def annotations_for(db: Database, event_ids: List[int]) -> Dict[int, Annotation]:
    found: Dict[int, Annotation] = {}
    with db.session() as session:
        for chunk in range(0, len(event_ids), 500):
            ids = event_ids[chunk : chunk + 500]
            for annotation in session.scalars(
                select(Annotation).where(Annotation.event_id.in_(ids))
            ):
                found[annotation.event_id] = annotation
    return found


def find_message(reader: TrackerReader, event_id: int, low_confidence: float):
    """(message, conversation key) of a user event, with its context-dependent masking."""
    rows = reader.conversation(event_id)
    conversation = build(rows, low_confidence)
    for message in conversation.messages:
        if message.event_id == event_id and message.kind == "user":
            return message, conversation.key
    return None, None


def _checked_procedure(procedure: str | None) -> str | None:
    procedure = (procedure or "").strip() or None
    if procedure in ("none", "khong"):
        return None
    if procedure is not None and procedure not in PROCEDURE_IDS:
        raise ReviewError("Thủ tục không hợp lệ.")
    return procedure


def _decided(decision: str, intent: str | None, procedure: str | None, message,
             known_intents: List[str]):
    """(stored decision, intent, procedure) for a reviewer's choice, or ReviewError."""
    if decision == "noise":
        return "noise", None, None
    if decision in ("confirm", "confirmed"):
        intent = message.top_intent
    if not intent or intent == FALLBACK_INTENT:
        raise ReviewError("Hãy chọn ý định đúng của tin nhắn.")
    if intent not in known_intents and not INTENT_NAME.match(intent):
        raise ReviewError(
            "Tên ý định mới chỉ gồm chữ thường không dấu, số và dấu gạch dưới (3–49 ký tự)."
        )
    return ("confirmed" if intent == message.top_intent else "corrected"), intent, procedure


def annotate(
    reader: TrackerReader,
    db: Database,
    event_id: int,
    *,
    decision: str,
    intent: str | None,
    procedure: str | None,
    user_id: int,
    username: str,
    known_intents: List[str],
    low_confidence: float,
) -> Annotation:
    """Store (or replace) the reviewer's decision about one user message."""
    if decision not in ("confirm", "correct", "noise", *DECISIONS):
        raise ReviewError("Quyết định không hợp lệ.")
    message, key = find_message(reader, event_id, low_confidence)
    if message is None:
        raise ReviewError("Không tìm thấy tin nhắn này trong kho hội thoại.")
    if not message.reviewable:
        raise ReviewError(
            "Tin nhắn này là nút bấm, thông báo hệ thống hoặc mã xác minh: không cần duyệt."
        )
    procedure = _checked_procedure(procedure)
    stored, intent, procedure = _decided(decision, (intent or "").strip() or None, procedure,
                                         message, known_intents)
    stamp = now()
    with db.session() as session:
        annotation = session.scalar(select(Annotation).where(Annotation.event_id == event_id))
        if annotation is None:
            annotation = Annotation(event_id=event_id, created_at=stamp)
            session.add(annotation)
        annotation.conversation_key = key
        annotation.message_at = message.at
        annotation.text = message.text
        annotation.predicted_intent = message.top_intent
        annotation.confidence = message.confidence
        annotation.reasons = ",".join(message.reasons)
        annotation.decision = stored
        annotation.intent = intent
        annotation.procedure = procedure
        annotation.reviewer_id = user_id
        annotation.updated_at = stamp
        annotation.exported_at = None
        session.flush()
        # Loaded while the session is open: callers read it after it closed.
        _ = annotation.reviewer
    audit.info("message %s annotated %s/%s by %s", event_id, stored, intent, username)
    return annotation


def reviewed(db: Database, limit: int = 200) -> List[Annotation]:
    with db.session() as session:
        return list(
            session.scalars(select(Annotation).order_by(Annotation.updated_at.desc()).limit(limit))
        )


def counts(db: Database) -> Dict[str, int]:
    with db.session() as session:
        rows = session.execute(
            select(Annotation.decision, func.count()).group_by(Annotation.decision)
        ).all()
        pending_export = session.scalar(
            select(func.count()).select_from(Annotation).where(
                Annotation.decision.in_(("confirmed", "corrected")),
                Annotation.exported_at.is_(None),
            )
        )
    result = {decision: n for decision, n in rows}
    result["pending_export"] = pending_export or 0
    return result


def pending_new_intents(db: Database, known: List[str]) -> List[Tuple[str, int]]:
    """Intent names reviewers used that do not exist yet, with how many messages wait."""
    with db.session() as session:
        rows = session.execute(
            select(Annotation.intent, func.count())
            .where(Annotation.decision == "corrected", Annotation.intent.notin_(known or [""]))
            .group_by(Annotation.intent)
        ).all()
    return sorted(((i, n) for i, n in rows if i), key=lambda r: -r[1])


def annotation_dict(annotation: Annotation) -> dict:
    return {
        "event_id": annotation.event_id,
        "conversation_key": annotation.conversation_key,
        "text": annotation.text,
        "predicted_intent": annotation.predicted_intent,
        "confidence": annotation.confidence,
        "reasons": annotation.reasons.split(",") if annotation.reasons else [],
        "decision": annotation.decision,
        "intent": annotation.intent,
        "procedure": annotation.procedure,
        "reviewer": annotation.reviewer.username if annotation.reviewer else None,
        "updated_at": annotation.updated_at.isoformat(),
        "exported_at": annotation.exported_at.isoformat() if annotation.exported_at else None,
    }
