"""Actions that answer procedure questions from the knowledge base."""
from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.feedback import RATING_BUTTONS
from dichvucong.knowledge.answers import (
    FULL,
    TOPIC_BY_INTENT,
    TOPIC_QUESTIONS,
    Answer,
    compose,
    compose_details,
    detect_variants,
    procedure_buttons,
)
from dichvucong.knowledge.base import Procedure, default_knowledge_base
from dichvucong.localities import office_line, split_buttons
from dichvucong.settings import settings
from dichvucong.text import fold

# Topics whose answer names the office, so the citizen's own office leads.
OFFICE_TOPICS = ("where", "overview")


def mentioned_procedures(tracker: Tracker) -> List[str]:
    """Distinct procedure ids in the latest message, in the order typed."""
    known = default_knowledge_base().procedures
    found: List[str] = []
    for entity in tracker.latest_message.get("entities") or []:
        value = entity.get("value")
        if entity.get("entity") == "procedure" and value in known and value not in found:
            found.append(value)
    return found


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return entity["value"]
    return None


def _variants(tracker: Tracker, procedure: Procedure) -> List[str]:
    """A button's variant, else the ones typed, else the ones kept from before."""
    known = {v.id for v in procedure.variants}
    chosen = _entity(tracker, "variant")
    if chosen in known:
        return [chosen]
    detected = detect_variants(procedure, tracker.latest_message.get("text") or "")
    if detected:
        return detected
    prefix = f"{procedure.id}."
    return [v[len(prefix):] for v in tracker.get_slot("variants") or [] if v.startswith(prefix)]


def _office(tracker: Tracker, procedure: Procedure, topic: str) -> tuple:
    """The office line for the citizen's locality, and the buttons to pick
    today's commune when the old one was divided (the line then asks)."""
    locality = tracker.get_slot("locality") if topic in OFFICE_TOPICS else None
    line = office_line(procedure.id, locality) if locality else None
    return line, (split_buttons(locality) if line else [])


# "thường trú hay tạm trú" asks for one of them; "thường trú và tạm trú" for both.
_ONE_OF = re.compile(r"\b(hay|hoac|hay la)\b")
MAX_TOGETHER = 3


def asks_for_one(text: str) -> bool:
    return bool(_ONE_OF.search(fold(text)))


def answer_each(
    dispatcher: CollectingDispatcher, tracker: Tracker, procedure_ids: List[str], topic: str
) -> List[EventType]:
    """One short answer per procedure named, in the order typed; the buttons
    (and the rating) only under the last, so the chat stays readable."""
    kb, today = default_knowledge_base(), settings().today()
    for index, procedure_id in enumerate(procedure_ids):
        answer = short_answer(tracker, kb.get(procedure_id), topic, (), today)
        send_answer(dispatcher, answer, "utter_procedure_answer",
                    with_buttons=index == len(procedure_ids) - 1)
    # A follow-up ("cần giấy tờ gì") then asks which of them.
    return [SlotSet("procedure", None), SlotSet("variants", []), SlotSet("pending_topic", None)]


def short_answer(
    tracker: Tracker, procedure: Procedure, topic: str, variants, today
) -> Answer:
    """The first answer, with the citizen's office and, after a divided ward,
    the buttons to pick today's commune first."""
    office, choices = _office(tracker, procedure, topic)
    answer = compose(procedure, topic, variants, today, office_line=office)
    answer.buttons = choices + answer.buttons
    return answer


def send_answer(
    dispatcher: CollectingDispatcher, answer: Answer, response: str, with_buttons: bool = True
) -> None:
    """Each part as its own message; the buttons (and the rating) under the last one."""
    parts = answer.parts
    for part in parts[:-1]:
        dispatcher.utter_message(response=response, answer=part)
    if with_buttons:
        dispatcher.utter_message(
            response=response, answer=parts[-1], buttons=answer.buttons + RATING_BUTTONS
        )
    else:
        dispatcher.utter_message(response=response, answer=parts[-1])


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
        if len(mentioned) > 1 and asks_for_one(tracker.latest_message.get("text") or ""):
            return ask_which_procedure(dispatcher, topic, only=mentioned)
        if len(mentioned) > 1:
            return answer_each(dispatcher, tracker, mentioned[:MAX_TOGETHER], topic)
        procedure_id = mentioned[0] if mentioned else tracker.get_slot("procedure")
        procedure = default_knowledge_base().get(procedure_id)
        if procedure is None:
            return ask_which_procedure(dispatcher, topic)

        variants = _variants(tracker, procedure)
        today = settings().today()
        if _entity(tracker, "detail") == FULL:
            answer = compose_details(procedure, topic, variants, today)
        else:
            answer = short_answer(tracker, procedure, topic, variants, today)
        send_answer(dispatcher, answer, "utter_procedure_answer")
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
