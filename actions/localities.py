"""Answers about the citizen's locality and the 2025 reorganisation.

A thin adapter: the wording lives in dichvucong.localities. The ``locality``
slot is filled from the entity by the domain's slot mapping; this action
answers "xã Phước Tín giờ thuộc phường nào" directly, asks which new commune
the citizen means when the old one was divided (buttons, never the library's
silent default), and, when a procedure is under discussion, says where to go
for it in the citizen's unit today.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from dichvucong.knowledge.base import default_knowledge_base
from dichvucong.localities import change_answer, office_line, resolve, split_buttons, today
from dichvucong.localities.answers import locality_payload, with_province
from dichvucong.localities.units import UNITS

MAX_CHOICES = 6


def latest_locality(tracker: Tracker) -> Optional[str]:
    """This message's locality if it names one, else the one kept in the slot."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "locality" and entity.get("value"):
            return entity["value"]
    return tracker.get_slot("locality")


def _choices(text: str) -> List[Dict[str, str]]:
    """Buttons when the message fits several units equally ("phường 1")."""
    found = resolve(text or "")
    if found is None or found.unit is not None:
        return []
    units = UNITS().by_key
    return [
        {"title": units[key].label, "payload": locality_payload(units[key])}
        for key in found.candidates[:MAX_CHOICES]
    ]


def _where_for_procedure(procedure_id: str, locality: str) -> Optional[str]:
    line = office_line(procedure_id, locality)
    if not line:
        return None
    name = default_knowledge_base().get(procedure_id).short_name
    return f"{name}: {line}"


def _acknowledge(locality: str) -> Optional[str]:
    found = resolve(locality)
    if found is None or found.unit is None:
        return None
    now = today(found.unit)
    here = with_province(now.communes[0]) if len(now.communes) == 1 else None
    here = here or (with_province(now.province) if now.province else found.unit.label)
    return f"{now.notice} Tôi ghi nhận bạn ở {here}. Bạn muốn hỏi thủ tục nào?".strip()


class ActionAnswerLocality(Action):
    def name(self) -> str:
        return "action_answer_locality"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        locality = latest_locality(tracker)
        if not locality:
            choices = _choices(tracker.latest_message.get("text"))
            if choices:
                dispatcher.utter_message(
                    response="utter_locality_answer",
                    answer="Tên này có ở nhiều nơi. Bạn muốn hỏi nơi nào?",
                    buttons=choices,
                )
            else:
                dispatcher.utter_message(response="utter_ask_which_locality")
            return []
        buttons = split_buttons(locality)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        procedure = tracker.get_slot("procedure")
        answer = None
        if intent != "ask_locality_change" and procedure and not buttons:
            answer = _where_for_procedure(procedure, locality)
        if answer is None and intent != "ask_locality_change" and not buttons:
            answer = _acknowledge(locality)
        answer = answer or change_answer(locality)
        if answer is None:
            dispatcher.utter_message(response="utter_ask_which_locality")
            return []
        dispatcher.utter_message(response="utter_locality_answer", answer=answer, buttons=buttons)
        return [SlotSet("locality", locality)]
