"""The handoff once requested: callbacks, silence, the staff side's messages, the end."""
from __future__ import annotations

import abc
import logging
import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import handoff as core
from actions.dossier_lookup import is_external
from actions.handoff import REPLY_HERE, STATE, call, channel_of, hotline_lines, question_of
from dichvucong import contract
from dichvucong.handoff.tickets import HandoffError
from dichvucong.privacy import mask_digits, normalize_phone

logger = logging.getLogger(__name__)

ENDED = "Cuộc trò chuyện với cán bộ đã kết thúc; trợ lý tự động sẽ tiếp tục hỗ trợ bạn."
TIMED_OUT = ("Cuộc trò chuyện với cán bộ đã kết thúc vì một thời gian không có tin nhắn; "
             "trợ lý tự động sẽ tiếp tục hỗ trợ bạn.")
NOT_TAKEN = ("Rất tiếc, chưa có cán bộ nào nhận được yêu cầu của bạn nên yêu cầu đã hết hạn. "
             "Bạn có thể gõ \"gặp cán bộ\" để yêu cầu lại, hoặc liên hệ:")
# Phone-like runs: "0912 345 678", "+84.912.345.678".
_PHONE_RUN = re.compile(r"\+?\d[\d .\-]{7,}\d")


def entity(tracker: Tracker, name: str) -> Optional[str]:
    value = next(tracker.get_latest_entity_values(name), None)
    return value if isinstance(value, str) else None


def end_for_citizen(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """End or withdraw the conversation's request; None when there was none."""
    try:
        ticket = core.queue().ticket_for(tracker.sender_id)
        if ticket is None:
            return None
        core.queue().cancel(tracker.sender_id, "citizen")
    except SQLAlchemyError:
        logger.exception("handoff queue unavailable; the request was not withdrawn")
        return None
    if ticket.status == "active":
        dispatcher.utter_message(response="utter_handoff_ended", answer=ENDED)
    else:
        dispatcher.utter_message(
            response="utter_handoff_ended",
            answer="Vâng, tôi đã hủy yêu cầu gặp cán bộ. Bạn cần hỏi gì khác cứ nhắn tôi nhé.")
    return [SlotSet(STATE, None)]


class ActionHandoffEnd(Action):
    """"kết thúc": give the conversation back to the assistant."""

    def name(self) -> str:
        return "action_handoff_end"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        events = await call(end_for_citizen, dispatcher, tracker)
        if events is None:
            dispatcher.utter_message(
                response="utter_handoff_status",
                answer="Hiện bạn không trao đổi với cán bộ nào. Tôi có thể giúp gì thêm cho bạn?")
            return [SlotSet(STATE, None)]
        return events


class ActionHandoffSilent(Action):
    """A citizen message while a person has the conversation: stored, not answered."""

    def name(self) -> str:
        return "action_handoff_silent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        ticket = await call(core.queue().ticket_for, tracker.sender_id)
        if ticket is not None and ticket.status == "active":
            await call(core.queue().touch, ticket.id)
            return []
        # The queue says no person holds it any more (ended while the slot lagged).
        dispatcher.utter_message(response="utter_handoff_ended", answer=ENDED)
        return [SlotSet(STATE, "queued" if ticket else None)]


class ActionHandoffCallback(Action):
    """The answer to "which number should staff call?" (out of office hours)."""

    def name(self) -> str:
        return "action_handoff_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        verified = (tracker.latest_message.get("metadata") or {}).get(
            contract.METADATA_VERIFIED_PHONE) if tracker.sender_id.startswith("telegram:") else None
        phone = normalize_phone(verified) if isinstance(verified, str) else None
        for run in _PHONE_RUN.findall(text):
            phone = phone or normalize_phone(run)
        args = (tracker.sender_id, channel_of(tracker))
        extra = dict(question=question_of(tracker), procedure=tracker.get_slot("procedure"))
        if phone:
            await call(core.queue().add_callback, *args, "phone", phone, **extra)
            answer = (f"Cảm ơn bạn. Cán bộ sẽ gọi lại số {mask_digits(phone)} trong giờ làm việc. "
                      "Số điện thoại chỉ dùng để gọi lại và sẽ được xóa ngay sau khi cán bộ gọi.")
        elif REPLY_HERE in text.lower() or "tại đây" in text.lower():
            await call(core.queue().add_callback, *args, "reply_here", **extra)
            answer = ("Cảm ơn bạn. Cán bộ sẽ nhắn trả lời bạn ngay trong cuộc trò chuyện này "
                      "khi văn phòng mở cửa.")
        elif intent in ("deny", "cancel", contract.INTENT_END_HANDOFF):
            answer = "Vâng, tôi không ghi yêu cầu gọi lại. Bạn cần hỏi gì khác cứ nhắn tôi nhé."
        else:
            answer = "\n".join([
                "Tôi chưa nhận được số điện thoại hợp lệ nên chưa ghi yêu cầu gọi lại. "
                "Bạn có thể gõ \"gặp cán bộ\" để thử lại, hoặc liên hệ:", *hotline_lines(tracker)])
        dispatcher.utter_message(response="utter_handoff_callback", answer=answer)
        return [SlotSet(STATE, None)]


class _ExternalAction(Action, abc.ABC):
    """An intent from the staff side: only through the authenticated Rasa API.

    Abstract, so that the action server does not register the base itself.
    """

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[EventType]:
        if not is_external(tracker):
            return []
        return await self.handle(dispatcher, tracker)

    @abc.abstractmethod
    async def handle(self, dispatcher: CollectingDispatcher,
                     tracker: Tracker) -> List[EventType]:
        """The step itself, once the intent is known to come from the staff side."""


class ActionHandoffTaken(_ExternalAction):
    def name(self) -> str:
        return "action_handoff_taken"

    async def handle(self, dispatcher, tracker):
        ticket = await call(core.queue().ticket_for, tracker.sender_id)
        if ticket is None or ticket.status != "active":
            return []
        name = (entity(tracker, contract.ENTITY_HANDOFF_OPERATOR) or "").strip()
        who = f"Cán bộ {name}" if name else "Cán bộ"
        dispatcher.utter_message(response="utter_handoff_taken", answer=(
            f"{who} đã nhận câu hỏi của bạn và sẽ trả lời ngay tại đây. "
            "Trong lúc này trợ lý tự động tạm dừng. "
            "Khi xong, bạn gõ \"kết thúc\" để quay lại trợ lý tự động."))
        return [SlotSet(STATE, "active")]


class ActionHandoffOperatorMessage(_ExternalAction):
    def name(self) -> str:
        return "action_handoff_operator_message"

    async def handle(self, dispatcher, tracker):
        text = (entity(tracker, contract.ENTITY_HANDOFF_TEXT) or "").strip()
        ticket = await call(core.queue().ticket_for, tracker.sender_id)
        if not text or ticket is None or ticket.status != "active":
            return []
        dispatcher.utter_message(response="utter_handoff_operator_message",
                                 answer=f"Cán bộ: {text}")
        return [SlotSet(STATE, "active")]


class ActionHandoffEnded(_ExternalAction):
    def name(self) -> str:
        return "action_handoff_ended"

    async def handle(self, dispatcher, tracker):
        ticket_id = entity(tracker, contract.ENTITY_HANDOFF_TICKET)
        try:
            ticket = await call(core.queue().get, int(ticket_id or ""))
        except (ValueError, HandoffError):
            return []
        if ticket.conversation_id != tracker.sender_id or ticket.is_open:
            return []
        if ticket.taken_at is None:
            answer = "\n".join([NOT_TAKEN, *hotline_lines(tracker)])
        else:
            answer = TIMED_OUT if ticket.ended_by == "timeout" else ENDED
        dispatcher.utter_message(response="utter_handoff_ended", answer=answer)
        return [SlotSet(STATE, None)]
