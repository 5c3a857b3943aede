"""Give the citizen a person: the queue in office hours, a callback outside them.

The queue (dichvucong/handoff) is the truth; the ``handoff_state`` slot only
mirrors it so that the policy can keep the assistant silent while a staff
member answers. The hotline stays in every message as the fallback.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from functools import lru_cache
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from dichvucong import contract
from dichvucong.handoff.hours import OfficeHours, describe_opening
from dichvucong.handoff.queue import HandoffQueue
from dichvucong.handoff.tickets import Ticket
from dichvucong.knowledge.base import default_knowledge_base
from dichvucong.settings import settings

logger = logging.getLogger(__name__)

STATE = contract.SLOT_HANDOFF_STATE
# The offer made after two failed answers (actions/fallback.py): accepting it
# queues the request with reason "failed_twice".
OFFER_RESPONSE = "utter_handoff_offer"
CANCEL_BUTTON = {"title": "Hủy yêu cầu", "payload": "/cancel"}
REPLY_HERE = "trả lời tại đây"
NO_THANKS = {"title": "Không, cảm ơn", "payload": "/deny"}
PASSWORD_WARNING = "Lưu ý: cán bộ không bao giờ hỏi mật khẩu hay mã OTP của bạn qua tin nhắn."


@lru_cache(maxsize=4)
def _queue(url: str) -> HandoffQueue:
    return HandoffQueue(url)


def queue() -> HandoffQueue:
    return _queue(settings().dossiers.database_url)


def office_hours() -> OfficeHours:
    return OfficeHours.from_settings(settings().handoff)


async def call(fn, *args, **kwargs):
    """Run a blocking queue call off the action server's event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def channel_of(tracker: Tracker) -> str:
    """The output channel the staff side must answer on."""
    prefix = tracker.sender_id.split(":", 1)[0] if ":" in tracker.sender_id else ""
    if prefix in ("telegram", "zalo", "webchat", "rest"):
        return prefix
    return tracker.get_latest_input_channel() or "rest"


def hotline_lines(tracker: Tracker) -> List[str]:
    support = settings().support
    lines = [
        f"• Tổng đài hỗ trợ Cổng Dịch vụ công quốc gia: {support.hotline} (theo chân trang dichvucong.gov.vn)",
        f"• Email: {support.email}",
        f"• Trực tiếp: {support.office}, {support.office_hours}.",
    ]
    procedure = default_knowledge_base().get(tracker.get_slot("procedure"))
    if procedure:
        agency = next((f.text for f in procedure.agency), None)
        if agency:
            lines.append(f"Với thủ tục {procedure.short_name}: {agency}")
    return lines


def position_text(position: int, wait: int) -> str:
    if position <= 1:
        return f"Bạn là người tiếp theo, thời gian chờ dự kiến khoảng {wait} phút."
    return f"Bạn đang ở vị trí số {position} trong hàng chờ, thời gian chờ dự kiến khoảng {wait} phút."


def queued_text(q: HandoffQueue, ticket: Ticket, again: bool = False) -> str:
    position = q.position(ticket.id)
    wait = q.expected_wait_minutes(position)
    head = ("Yêu cầu gặp cán bộ của bạn vẫn đang chờ." if again else
            "Tôi đã chuyển câu hỏi của bạn cho cán bộ hỗ trợ. Một cán bộ sẽ trả lời bạn ngay tại đây.")
    return "\n".join([
        head, position_text(position, wait),
        "Trong lúc chờ, bạn vẫn có thể hỏi tôi như bình thường. "
        "Muốn hủy yêu cầu, bạn gõ \"hủy\" hoặc bấm nút bên dưới.",
    ])


def _user_events(tracker: Tracker) -> List[Dict[str, Any]]:
    return [e for e in tracker.events if e.get("event") == "user"]


def _intent(event: Dict[str, Any]) -> Optional[str]:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def was_offered(tracker: Tracker) -> bool:
    """The bot's last message before this one was the offer after two failures."""
    users = [i for i, e in enumerate(tracker.events) if e.get("event") == "user"]
    before = tracker.events[: users[-1]] if users else tracker.events
    for event in reversed(before):
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action") == OFFER_RESPONSE
    return False


def question_of(tracker: Tracker) -> Optional[str]:
    """The citizen's question for the operator: the last message that asked something."""
    skip = {contract.INTENT_HANDOFF, "affirm", "deny", "greet", "thank", "cancel"}
    users = _user_events(tracker)
    for event in reversed(users[:-1]):
        text = event.get("text") or ""
        if _intent(event) not in skip and text and not text.startswith("/"):
            return text
    current = tracker.latest_message.get("text") or ""
    return None if current.startswith("/") else current or None


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        try:
            return await self.hand_over(dispatcher, tracker)
        except SQLAlchemyError:
            # No queue (database down or not migrated): the contacts still help.
            logger.exception("handoff queue unavailable")
            lines = ["Hiện tôi chưa chuyển được câu hỏi cho cán bộ. Bạn có thể liên hệ:",
                     *hotline_lines(tracker), PASSWORD_WARNING]
            dispatcher.utter_message(response="utter_handoff", answer="\n".join(lines))
            return []

    async def hand_over(self, dispatcher: CollectingDispatcher,
                        tracker: Tracker) -> List[EventType]:
        q = queue()
        ticket = await call(q.ticket_for, tracker.sender_id)
        if ticket is not None and ticket.status == "active":
            # The policy keeps the assistant silent while a person answers;
            # this is only reached if the slot lagged behind the queue.
            return [SlotSet(STATE, "active")]
        if ticket is not None:
            text = await call(queued_text, q, ticket, True)
            dispatcher.utter_message(response="utter_handoff_status", answer=text,
                                     buttons=[CANCEL_BUTTON])
            return [SlotSet(STATE, "queued")]
        now = dt.datetime.now(dt.timezone.utc)
        hours = office_hours()
        if not hours.is_open(now):
            opening = describe_opening(hours.next_opening(now), now)
            lines = [
                f"Hiện đã ngoài giờ làm việc của cán bộ hỗ trợ; văn phòng mở cửa lại lúc {opening}.",
                "Bạn có thể để lại số điện thoại để cán bộ gọi lại, hoặc bấm \"Trả lời tại đây\" "
                "để cán bộ nhắn trả lời ngay trong cuộc trò chuyện này. "
                "Số điện thoại chỉ dùng để gọi lại và sẽ được xóa sau khi gọi.",
                "Hoặc bạn liên hệ:", *hotline_lines(tracker), PASSWORD_WARNING,
            ]
            dispatcher.utter_message(
                response="utter_handoff_callback", answer="\n".join(lines),
                buttons=[{"title": "Trả lời tại đây", "payload": REPLY_HERE}, NO_THANKS])
            return [SlotSet(STATE, "callback")]
        reason = "failed_twice" if was_offered(tracker) else "asked"
        ticket = await call(
            q.request, tracker.sender_id, channel_of(tracker), reason, question_of(tracker),
            tracker.get_slot("procedure"), tracker.get_slot("locality"))
        text = await call(queued_text, q, ticket)
        lines = [text, "Nếu cần gấp, bạn có thể liên hệ:", *hotline_lines(tracker),
                 PASSWORD_WARNING]
        dispatcher.utter_message(response="utter_handoff", answer="\n".join(lines),
                                 buttons=[CANCEL_BUTTON])
        return [SlotSet(STATE, "queued")]
