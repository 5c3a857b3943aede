"""Clarify instead of guessing when the model is unsure."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.procedures import mentioned_procedures
from dichvucong.knowledge.answers import payload
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
