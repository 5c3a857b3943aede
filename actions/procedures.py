"""Actions that answer procedure questions from the knowledge base."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.feedback import RATING_BUTTONS
from dichvucong.knowledge.answers import (
    TOPIC_BY_INTENT,
    TOPIC_QUESTIONS,
    compose,
    detect_variants,
    procedure_buttons,
)
from dichvucong.knowledge.base import default_knowledge_base
from dichvucong.settings import settings


def mentioned_procedures(tracker: Tracker) -> List[str]:
    """Distinct procedure ids in the latest message, in the order typed."""
    known = default_knowledge_base().procedures
    found: List[str] = []
    for entity in tracker.latest_message.get("entities") or []:
        value = entity.get("value")
        if entity.get("entity") == "procedure" and value in known and value not in found:
            found.append(value)
    return found


def ask_which_procedure(
    dispatcher: CollectingDispatcher, topic: str, only: List[str] = None
) -> List[EventType]:
    kb = default_knowledge_base()
    if only:
        names = " hay ".join(kb.get(pid).short_name for pid in only)
        text = f"Bạn đang hỏi về {names}? Vui lòng chọn một thủ tục:"
    elif topic == "overview":
        text = "Bạn muốn hỏi về thủ tục nào? Vui lòng chọn hoặc gõ tên thủ tục:"
    else:
        text = (
            f"Bạn muốn hỏi {TOPIC_QUESTIONS[topic]} của thủ tục nào? "
            "Vui lòng chọn hoặc gõ tên thủ tục:"
        )
    dispatcher.utter_message(
        response="utter_which_procedure", answer=text, buttons=procedure_buttons(kb, only=only)
    )
    return [SlotSet("procedure", None), SlotSet("variants", []), SlotSet("pending_topic", topic)]


class ActionAnswerProcedure(Action):
    def name(self) -> str:
        return "action_answer_procedure"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in TOPIC_BY_INTENT:
            topic = TOPIC_BY_INTENT[intent]
        else:
            topic = tracker.get_slot("pending_topic") or "overview"

        mentioned = mentioned_procedures(tracker)
        if len(mentioned) > 1:
            return ask_which_procedure(dispatcher, topic, only=mentioned)
        procedure_id = mentioned[0] if mentioned else tracker.get_slot("procedure")
        procedure = default_knowledge_base().get(procedure_id)
        if procedure is None:
            return ask_which_procedure(dispatcher, topic)

        detected = detect_variants(procedure, tracker.latest_message.get("text") or "")
        if detected:
            variants = detected
        else:
            prefix = f"{procedure.id}."
            variants = [
                v[len(prefix):] for v in tracker.get_slot("variants") or [] if v.startswith(prefix)
            ]
        answer = compose(procedure, topic, variants, settings().today())
        dispatcher.utter_message(
            response="utter_procedure_answer",
            answer=answer.text,
            buttons=answer.buttons + RATING_BUTTONS,
        )
        return [
            SlotSet("procedure", procedure.id),
            SlotSet("variants", [f"{procedure.id}.{v}" for v in variants]),
            SlotSet("pending_topic", None),
        ]


class ActionListServices(Action):
    def name(self) -> str:
        return "action_list_services"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        kb = default_knowledge_base()
        lines = ["Tôi có thể hướng dẫn các thủ tục sau (giấy tờ, lệ phí, thời gian, nơi nộp, cách nộp online):"]
        lines += [f"• {p.short_name}" for p in kb]
        lines.append("Ngoài ra, bạn có thể tra cứu tình trạng hồ sơ đã nộp.")
        buttons = procedure_buttons(kb, intent="ask_procedure")
        buttons.append({"title": "Tra cứu hồ sơ", "payload": "/check_dossier_status"})
        dispatcher.utter_message(
            response="utter_procedure_answer", answer="\n".join(lines), buttons=buttons
        )
        return []
