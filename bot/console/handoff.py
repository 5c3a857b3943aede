"""The operators' side of the live handoff, as the console shows and does it.

The queue, its rules and the delivery to citizens are the core's
(``dichvucong.handoff``); this module only puts them together for the pages:
the queue with positions and waiting times, one ticket's conversation (masked
like every transcript, ``bot.console.conversation``), knowledge-base answers to
suggest, and the operators' actions, each audited. The Rasa API address and
token are the console's own (the ones it uses to load a promoted model).
"""

from __future__ import annotations

import datetime as dt
import logging
import statistics
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from bot.console import audit, clock
from bot.console import conversation as conv
from bot.console.analytics import HandoffDay, HandoffTimes
from bot.console.db import Database
from bot.console.settings import Settings
from bot.console.tracker_reader import TrackerReader
from dichvucong import contract
from dichvucong.handoff import relay
from dichvucong.handoff.queue import HandoffQueue
from dichvucong.handoff.tickets import Callback, HandoffError, Ticket
from dichvucong.knowledge.answers import TOPIC_BY_INTENT, TOPIC_HEADINGS, compose
from dichvucong.knowledge.base import default_knowledge_base
from dichvucong.rasa_api import RasaApi

logger = logging.getLogger(__name__)

# Audit actions (table console_audit): never the text sent, never the number read.
TAKE = "handoff_take"
REPLY = "handoff_reply"
END = "handoff_end"
VIEW = "handoff_view"
CALLBACK_PHONE = "handoff_callback_phone"
CALLBACK_DONE = "handoff_callback_done"
audit.ACTION_LABELS.update({
    TAKE: "Nhận yêu cầu gặp cán bộ",
    REPLY: "Trả lời người dân",
    END: "Kết thúc trao đổi với người dân",
    VIEW: "Xem yêu cầu gặp cán bộ",
    CALLBACK_PHONE: "Xem số điện thoại gọi lại",
    CALLBACK_DONE: "Đã gọi lại (xóa số)",
})

CHANNEL_LABELS = {"webchat": "Web", "telegram": "Telegram", "zalo": "Zalo", "rest": "REST"}
STATUS_LABELS = {"queued": "Đang chờ", "active": "Đang trao đổi", "closed": "Đã kết thúc",
                 "cancelled": "Đã hủy"}
ENDED_LABELS = {"citizen": "người dân kết thúc", "operator": "cán bộ kết thúc",
                "timeout": "hết thời gian chờ"}
# Suggested answers: the citizen's own topic first, then these.
TOPICS = ("overview", "documents", "fee", "processing_time", "where", "online")
# Bot messages after these system events are not the assistant speaking.
_SPOKEN_AFTER = {
    contract.INTENT_HANDOFF_MESSAGE: "operator",
    contract.INTENT_HANDOFF_TAKEN: "notice",
    contract.INTENT_HANDOFF_ENDED: "notice",
}


class DeskError(HandoffError):
    """Refused or failed; Vietnamese, shown to the operator as is."""


@dataclass(frozen=True)
class Line:
    """One line of the queue page."""

    ticket: Ticket
    position: int  # 0 once taken
    waiting_minutes: int


@dataclass(frozen=True)
class Suggestion:
    topic: str
    title: str
    text: str


def _minutes(since: dt.datetime, now: dt.datetime) -> int:
    return max(0, int((now - since).total_seconds() // 60))


def ticket_dict(ticket: Ticket, position: int = 0, now: dt.datetime | None = None) -> dict:
    now = now or dt.datetime.now(dt.timezone.utc)
    return {
        "id": ticket.id, "status": ticket.status, "status_label": STATUS_LABELS[ticket.status],
        "channel": ticket.channel, "reason": ticket.reason, "position": position,
        "waiting_minutes": _minutes(ticket.created_at, ticket.taken_at or now),
        "question": conv.safe_text(ticket.question), "procedure": ticket.procedure,
        "locality": ticket.locality, "created_at": ticket.created_at.isoformat(),
        "taken_by": ticket.taken_by, "taken_at": ticket.taken_at.isoformat()
        if ticket.taken_at else None,
        "ended_by": ticket.ended_by, "ended_at": ticket.ended_at.isoformat()
        if ticket.ended_at else None,
    }


def callback_dict(callback: Callback) -> dict:
    return {
        "id": callback.id, "channel": callback.channel, "contact_kind": callback.contact_kind,
        "phone_masked": callback.phone_masked, "question": conv.safe_text(callback.question),
        "procedure": callback.procedure, "created_at": callback.created_at.isoformat(),
    }


def panel_messages(conversation: conv.Conversation, after: int = 0) -> List[dict]:
    """The transcript as the operator reads it: who spoke (citizen, assistant, operator,
    notice of the handoff), masked text, newer than event ``after``."""
    shown, speaker = [], "bot"
    for message in conversation.messages:
        if message.kind == "user" and message.system:
            speaker = _SPOKEN_AFTER.get(message.intent or "", "notice")
            continue
        if message.kind == "user":
            speaker = "bot"
        who = speaker if message.kind == "bot" else message.kind
        if message.event_id > after:
            shown.append({
                "event_id": message.event_id, "who": who, "text": message.text,
                "at": clock.fmt_time(message.at), "buttons": message.buttons,
            })
    return shown


def suggestions(procedure_id: Optional[str], intent: Optional[str] = None,
                today: dt.date | None = None) -> List[Suggestion]:
    """Short knowledge-base answers on the procedure (sources and check date included),
    the topic of the citizen's question first."""
    procedure = default_knowledge_base().get(procedure_id) if procedure_id else None
    if procedure is None:
        return []
    first = TOPIC_BY_INTENT.get(intent or "")
    topics = ([first] if first else []) + [t for t in TOPICS if t != first]
    found = []
    for topic in topics:
        try:
            answer = compose(procedure, topic, today=today or clock.today())
        except (KeyError, ValueError):  # a topic the file does not cover
            logger.debug("no %s answer for %s", topic, procedure_id)
            continue
        found.append(Suggestion(topic, TOPIC_HEADINGS[topic], answer.text[:relay.MAX_MESSAGE]))
    return found


def _median(values: Sequence[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def times(tickets: Sequence[Ticket]) -> HandoffTimes:
    """Medians overall and per day (Vietnam time) of tickets created in the range."""
    by_day: Dict[dt.date, List[Ticket]] = {}
    for ticket in tickets:
        by_day.setdefault(ticket.created_at.astimezone(clock.VIETNAM_TZ).date(), []).append(ticket)

    def waits(group):
        return [t.waiting_seconds for t in group if t.waiting_seconds is not None]

    def handled(group):
        return [t.handling_seconds for t in group if t.handling_seconds is not None]

    return HandoffTimes(
        median_wait_seconds=_median(waits(tickets)),
        median_handling_seconds=_median(handled(tickets)),
        requested=len(tickets),
        taken=sum(1 for t in tickets if t.taken_at),
        timed_out=sum(1 for t in tickets if t.ended_by == "timeout"),
        days=[HandoffDay(day, len(group), sum(1 for t in group if t.taken_at),
                         _median(waits(group)), _median(handled(group)))
              for day, group in sorted(by_day.items())],
    )


class Desk:
    """What an operator can do, each step one short transaction of the core's queue."""

    def __init__(self, settings: Settings, db: Database, reader: TrackerReader,
                 queue: HandoffQueue | None = None) -> None:
        self.settings = settings
        self.db = db
        self.reader = reader
        self.queue = queue or HandoffQueue(db.engine)
        self.api = RasaApi(settings.rasa_url, settings.rasa_token)

    # --- reading ---------------------------------------------------------------------

    def lines(self, now: dt.datetime | None = None) -> List[Line]:
        now = now or dt.datetime.now(dt.timezone.utc)
        queued = self.queue.queued()  # oldest first: the order positions count in
        return [Line(t, i + 1, _minutes(t.created_at, now)) for i, t in enumerate(queued)]

    def active(self) -> List[Ticket]:
        return self.queue.active()

    def callbacks(self) -> List[Callback]:
        return self.queue.callbacks()

    def ticket(self, ticket_id: int) -> Ticket:
        return self.queue.get(ticket_id)

    def conversation(self, ticket: Ticket) -> conv.Conversation:
        rows = self.reader.conversation_of(ticket.conversation_id)
        return conv.build(rows, self.settings.low_confidence)

    def times(self, start: dt.date, end: dt.date) -> HandoffTimes:
        since = dt.datetime.combine(start, dt.time(), clock.VIETNAM_TZ)
        until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), clock.VIETNAM_TZ)
        return times(self.queue.finished(since, until))

    # --- acting (the caller has checked the role) --------------------------------------

    def take(self, ticket_id: int, username: str, address: str | None) -> Ticket:
        try:
            ticket = relay.announce_taken(self.api, self.queue, ticket_id, username)
        except relay.RelayError as error:
            # Taken, but the citizen was not told: "Nhận" again tells them.
            audit.record(self.db, username, TAKE, f"#{ticket_id} (chưa báo được)", address)
            raise DeskError(f"Bạn đã nhận yêu cầu số {ticket_id} nhưng {_lower(error)} "
                            "Hãy bấm “Nhận” lần nữa để báo lại cho người dân.") from error
        audit.record(self.db, username, TAKE, f"#{ticket_id}", address)
        return ticket

    def reply(self, ticket_id: int, username: str, text: str, address: str | None,
              suggested: str = "") -> Ticket:
        ticket = relay.send_operator_message(self.api, self.queue, ticket_id, username, text)
        target = f"#{ticket_id}" + (f" (gợi ý: {suggested})" if suggested else "")
        audit.record(self.db, username, REPLY, target[:200], address)
        return ticket

    def end(self, ticket_id: int, username: str, address: str | None) -> Ticket:
        try:
            ticket = relay.end_by_operator(self.api, self.queue, ticket_id, username)
        except relay.RelayError as error:
            audit.record(self.db, username, END, f"#{ticket_id} (chưa báo được)", address)
            raise DeskError(f"Đã kết thúc yêu cầu số {ticket_id} nhưng {_lower(error)} "
                            "Trợ lý sẽ trả lời lại khi người dân nhắn tiếp.") from error
        audit.record(self.db, username, END, f"#{ticket_id}", address)
        return ticket

    def callback_phone(self, callback_id: int, username: str, address: str | None) -> str:
        phone = self.queue.callback_phone(callback_id)
        audit.record(self.db, username, CALLBACK_PHONE, f"gọi lại #{callback_id}", address)
        if not phone:
            raise DeskError("Người dân chọn được trả lời ngay trong cuộc trò chuyện, "
                            "không để lại số điện thoại.")
        return phone

    def callback_done(self, callback_id: int, username: str, address: str | None) -> bool:
        gone = self.queue.callback_done(callback_id)
        if gone:
            audit.record(self.db, username, CALLBACK_DONE, f"gọi lại #{callback_id}", address)
        return gone

    def sweep(self) -> List[Ticket]:
        """Close what timed out and tell the citizens (``relay.end_expired``)."""
        return relay.end_expired(self.api, self.queue)


def _lower(error: Exception) -> str:
    text = str(error).rstrip(".") + "."
    return text[:1].lower() + text[1:]


def last_question_intent(conversation: conv.Conversation) -> Optional[str]:
    question = conversation.last_question
    return question.top_intent if question else None
