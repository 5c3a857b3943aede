"""Rasa adapter for life events and uncovered procedures (dichvucong/life_event_routing.py).

Runs after the intent classifier and the procedure extractor and before the
FallbackClassifier, because the decision needs both (the kind of question
and the procedures named) and may replace an unsure intent with a confident
one. It also repairs the intents only the data can confirm: ``life_event`` or
``ask_uncovered`` without any matching phrase, and a correction ("không phải,
ý tôi là…") that names no procedure, fall back to the next intent.
"""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from dichvucong.life_event_routing import LIFE_EVENT_INTENT, UNCOVERED_INTENT, decide
from dichvucong.life_events import default_life_events

# Intents that only make sense with something the data recognises.
NEEDS_EVENT = {LIFE_EVENT_INTENT: "life_event", UNCOVERED_INTENT: "uncovered_procedure"}
CORRECTION = "correct_procedure"


def _entity(start: int, end: int, name: str, value: str) -> Dict[str, Any]:
    return {"entity": name, "start": start, "end": end, "value": value, "confidence_entity": 1.0}


def _set_intent(message: Message, name: str, confidence: float) -> None:
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
    top = {"name": name, "confidence": confidence}
    message.set(INTENT, top, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)


def _next_intent(message: Message, excluded: set) -> None:
    for candidate in message.get(INTENT_RANKING_KEY) or []:
        if candidate.get("name") not in excluded:
            _set_intent(message, candidate["name"], candidate.get("confidence", 0.0))
            return


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class LifeEventExtractor(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {}

    def __init__(self, config: Dict[str, Any]) -> None:
        self._config = config
        self._life_events = default_life_events()

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LifeEventExtractor:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if message.get(TEXT):
                self._process_one(message)
        return messages

    def _process_one(self, message: Message) -> None:
        text = message.get(TEXT)
        entities = list(message.get(ENTITIES) or [])
        procedures = [e for e in entities if e.get("entity") == "procedure"]
        intent = (message.get(INTENT) or {}).get("name") or ""
        if intent == CORRECTION and not procedures:
            _next_intent(message, {CORRECTION})
            intent = (message.get(INTENT) or {}).get("name") or ""
        elif intent == "deny" and procedures:
            # "không phải, ý tôi là tạm trú": a correction, not a refusal.
            _set_intent(message, CORRECTION, 1.0)
            intent = CORRECTION
        decision = decide(
            intent, [(e["start"], e["end"], e["value"]) for e in procedures], text, self._life_events
        )
        dropped = [procedures[i] for i in decision.drop_procedures]
        entities = [e for e in entities if not any(e is d for d in dropped)]
        added = []
        if decision.add_procedure:
            added.append(_entity(*decision.add_procedure[:2], "procedure", decision.add_procedure[2]))
        if decision.life_event:
            added.append(_entity(*decision.life_event[:2], "life_event", decision.life_event[2]))
        if decision.uncovered:
            added.append(_entity(*decision.uncovered[:2], "uncovered_procedure", decision.uncovered[2]))
        message.set(ENTITIES, entities + self.add_extractor_name(added), add_to_output=True)
        if decision.intent:
            _set_intent(message, decision.intent, 1.0)
        elif decision.demote:
            _next_intent(message, set(NEEDS_EVENT))
        elif intent in NEEDS_EVENT and not any(e["entity"] == NEEDS_EVENT[intent] for e in added):
            _next_intent(message, set(NEEDS_EVENT))
