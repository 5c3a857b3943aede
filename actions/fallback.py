"""Clarify instead of guessing when the model is unsure."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import OFFER_RESPONSE, STATE
from actions.handoff_session import end_for_citizen
from actions.procedures import mentioned_procedures
from dichvucong.contract import INTENT_FALLBACK
from dichvucong.knowledge.answers import TOPIC_BY_INTENT, payload
from dichvucong.knowledge.base import default_knowledge_base

# What each intent means to a citizen, phrased as a choice on a button.
CHOICES = {
    "ask_procedure": "Hướng dẫn chung về thủ tục",
    "ask_documents": "Giấy tờ cần chuẩn bị",
    "ask_fee": "Lệ phí",
    "ask_processing_time": "Thời gian giải quyết",
    "ask_where": "Nộp hồ sơ ở đâu",
    "ask_online_steps": "Cách nộp trực tuyến",
    "check_dossier_status": "Tra cứu hồ sơ đã nộp",
    "request_human": "Gặp nhân viên hỗ trợ",
    "list_services": "Xem các thủ tục",
    "inform": "Hướng dẫn chung về thủ tục",
}
MAX_CHOICES = 3


class ActionClarify(Action):
    def name(self) -> str:
        return "action_clarify"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        if failed_twice(tracker):
            offer_handoff(dispatcher)
            return []
        ranking = tracker.latest_message.get("intent_ranking") or []
        mentioned = mentioned_procedures(tracker)
        procedure = mentioned[0] if len(mentioned) == 1 else None

        buttons, titles = [], set()
        for candidate in ranking:
            intent = candidate.get("name")
            title = CHOICES.get(intent)
            if not title or title in titles:
                continue
            if intent == "inform":
                intent = "ask_procedure"
            entities = {"procedure": procedure} if procedure and intent.startswith("ask_") else {}
            buttons.append({"title": title, "payload": payload(intent, **entities)})
            titles.add(title)
            if len(buttons) == MAX_CHOICES:
                break

        if not buttons:
            dispatcher.utter_message(response="utter_default")
            return []
        about = ""
        if procedure:
            about = f" về {default_knowledge_base().get(procedure).short_name}"
        text = f"Xin lỗi, tôi chưa chắc bạn muốn hỏi gì{about}. Có phải bạn muốn hỏi:"
        buttons.append({"title": "Gặp nhân viên", "payload": "/request_human"})
        if buttons[-2]["title"] == buttons[-1]["title"]:
            buttons.pop()
        dispatcher.utter_message(response="utter_clarify", answer=text, buttons=buttons)
        return []


def failed_twice(tracker: Tracker) -> bool:
    """This message and the one before both left the model unsure."""
    intents = [(tracker.latest_message.get("intent") or {}).get("name")]
    intents += _previous_user_intents(tracker)[:1]
    return intents == [INTENT_FALLBACK, INTENT_FALLBACK]


def offer_handoff(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(
        response=OFFER_RESPONSE,
        answer="Xin lỗi, tôi chưa trả lời được câu hỏi này. "
               "Bạn có muốn gặp cán bộ hỗ trợ để được trả lời trực tiếp không?",
        buttons=[{"title": "Gặp cán bộ", "payload": "/request_human"},
                 {"title": "Không, cảm ơn", "payload": "/deny"}])


def _previous_user_intents(tracker: Tracker) -> List[str]:
    """Intents of the citizen's earlier messages, newest first (the current one excluded)."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    return [((e.get("parse_data") or {}).get("intent") or {}).get("name") for e in reversed(users[:-1])]


class ActionPrepareCorrection(Action):
    """"không phải, ý tôi là tạm trú": keep the question, change the procedure.

    Sets the topic the citizen asked before, so action_answer_procedure (next in
    the rule) answers that topic for the procedure just named.
    """

    def name(self) -> str:
        return "action_prepare_correction"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        topic = tracker.get_slot("pending_topic")
        for intent in _previous_user_intents(tracker):
            if intent in TOPIC_BY_INTENT:
                topic = TOPIC_BY_INTENT[intent]
                break
        return [SlotSet("pending_topic", topic or "overview"), SlotSet("variants", [])]


class ActionRepeatLast(Action):
    """"nhắc lại": the last answer again, with its buttons."""

    def name(self) -> str:
        return "action_repeat_last"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        users = [i for i, e in enumerate(tracker.events) if e.get("event") == "user"]
        before = tracker.events[: users[-1]] if users else tracker.events
        for event in reversed(before):
            if event.get("event") == "bot" and event.get("text"):
                buttons = (event.get("data") or {}).get("buttons") or []
                dispatcher.utter_message(text=event["text"], buttons=buttons)
                return []
        dispatcher.utter_message(response="utter_nothing_to_repeat")
        return []


class ActionCancel(Action):
    """"hủy": withdraw a request to see staff, else drop the question waiting for an answer."""

    def name(self) -> str:
        return "action_cancel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        # The slot mirrors the queue: only a conversation with a request asks it.
        if tracker.get_slot(STATE) in ("queued", "active"):
            ended = await asyncio.to_thread(end_for_citizen, dispatcher, tracker)
            if ended is not None:
                return ended
        dispatcher.utter_message(response="utter_cancelled")
        return [SlotSet("pending_topic", None), SlotSet("life_event", None)]
