"""Answer a citizen's situation (a life event) and questions about procedures we do not cover.

The NLU (bot/nlu/life_event_extractor.py) puts the event in the ``life_event``
entity; a button payload may carry it too. The journey composer answers the
events that have a journey; otherwise the event's procedure gets its usual
overview, or the citizen chooses among the event's procedures.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.feedback import RATING_BUTTONS
from dichvucong.knowledge.answers import compose, detect_variants, procedure_buttons
from dichvucong.knowledge.base import default_knowledge_base
from dichvucong.knowledge.journeys import compose_journey
from dichvucong.life_event_routing import ASK
from dichvucong.life_events import LifeEvent, default_life_events
from dichvucong.settings import settings

DIED_TEXT = "Người thân tôi vừa qua đời"
LOST_TEXT = "Tôi bị mất thẻ căn cước"
ASK_TEXT = "Xin lỗi, bạn cho tôi hỏi lại: ý bạn là người thân vừa qua đời, hay bạn bị mất giấy tờ?"


def _entity(tracker: Tracker, name: str) -> Optional[str]:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return entity["value"]
    return None


def _event_of(tracker: Tracker) -> Optional[str]:
    """The event in the message, or what the matcher reads from its text."""
    value = _entity(tracker, "life_event")
    if value:
        return value
    match = default_life_events().match(tracker.latest_message.get("text") or "")
    return match.best or (ASK if match.ask else None)


def _ask_died_or_lost(dispatcher: CollectingDispatcher) -> List[EventType]:
    # Words, not "/life_event{...}" payloads: the inbound guard lets buttons
    # carry only procedure and rating entities (dichvucong/inbound.py), and
    # the NLU reads these sentences as the two events.
    buttons = [
        {"title": "Người thân qua đời", "payload": DIED_TEXT},
        {"title": "Mất thẻ căn cước, giấy tờ", "payload": LOST_TEXT},
    ]
    dispatcher.utter_message(response="utter_life_event", answer=ASK_TEXT, buttons=buttons)
    return [SlotSet("life_event", None)]


def _answer_procedure(
    dispatcher: CollectingDispatcher, event: LifeEvent, procedure_id: str, text: str
) -> List[EventType]:
    procedure = default_knowledge_base().get(procedure_id)
    prefix = f"{procedure_id}."
    variants = [v[len(prefix):] for v in event.variants if v.startswith(prefix)]
    variants += [v for v in detect_variants(procedure, text) if v not in variants]
    answer = compose(procedure, "overview", variants, settings().today())
    dispatcher.utter_message(
        response="utter_procedure_answer", answer=answer.text, buttons=answer.buttons + RATING_BUTTONS
    )
    return [
        SlotSet("procedure", procedure_id),
        SlotSet("variants", [f"{procedure_id}.{v}" for v in variants]),
        SlotSet("pending_topic", None),
    ]


def _choose_procedure(dispatcher: CollectingDispatcher, event: LifeEvent) -> List[EventType]:
    kb = default_knowledge_base()
    names = ", ".join(kb.get(p).short_name.lower() for p in event.procedures)
    text = (
        f"Với việc {event.name.lower()}, bạn có thể cần: {names}. "
        "Bạn muốn xem hướng dẫn thủ tục nào?"
    )
    buttons = procedure_buttons(kb, intent="ask_procedure", only=event.procedures)
    dispatcher.utter_message(response="utter_life_event", answer=text, buttons=buttons)
    return [SlotSet("procedure", None), SlotSet("pending_topic", "overview")]


class ActionLifeEvent(Action):
    def name(self) -> str:
        return "action_life_event"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        event_id = _event_of(tracker)
        if event_id == ASK:
            return _ask_died_or_lost(dispatcher)
        event = default_life_events().get(event_id)
        if event is None:
            dispatcher.utter_message(response="utter_ask_what_else")
            return []
        journey = compose_journey(event.journey, settings().today()) if event.journey else None
        if journey is not None:
            dispatcher.utter_message(
                response="utter_life_event", answer=journey.text, buttons=journey.buttons
            )
            return [SlotSet("life_event", event.id), SlotSet("procedure", event.procedures[0])]
        text = tracker.latest_message.get("text") or ""
        if len(event.procedures) == 1:
            events = _answer_procedure(dispatcher, event, event.procedures[0], text)
        else:
            events = _choose_procedure(dispatcher, event)
        return [SlotSet("life_event", event.id), *events]


class ActionAnswerUncovered(Action):
    def name(self) -> str:
        return "action_answer_uncovered"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        life_events = default_life_events()
        uncovered_id = _entity(tracker, "uncovered_procedure")
        if uncovered_id is None:
            spans = life_events.match_uncovered(tracker.latest_message.get("text") or "")
            uncovered_id = spans[0][2] if spans else None
        uncovered = life_events.uncovered.get(uncovered_id or "")
        if uncovered is None:
            dispatcher.utter_message(response="utter_out_of_scope")
            return []
        text = (
            f"{uncovered.name} không nằm trong các thủ tục tôi hướng dẫn. {uncovered.answer}\n"
            f"Căn cứ: {'; '.join(uncovered.sources)}."
        )
        buttons = [
            {"title": "Xem các thủ tục", "payload": "/list_services"},
            {"title": "Gặp nhân viên", "payload": "/request_human"},
        ]
        dispatcher.utter_message(response="utter_uncovered", answer=text, buttons=buttons)
        return [SlotSet("procedure", None)]
