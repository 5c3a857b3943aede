"""Rasa adapter for life events and uncovered procedures (dichvucong/life_event_routing.py).

Runs after the intent classifier and the procedure extractor and before the
FallbackClassifier, because the decision needs both (the kind of question
and the procedures named) and may replace an unsure intent with a confident
one. It also repairs the intents only the data can confirm: ``life_event`` or
``ask_uncovered`` without any matching phrase, and a correction ("không phải,
ý tôi là…") or an ``inform`` that names no procedure, fall back to the next
intent; "how do I do it" asked about the online channel is ``ask_online_steps``.
"""
from __future__ import annotations

from typing import Any, Dict

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.rule_component import RuleComponent
from dichvucong.life_event_routing import (
    LIFE_EVENT_INTENT,
    ONLINE_INTENT,
    UNCOVERED_INTENT,
    asks_online,
    decide,
)
from dichvucong.life_events import default_life_events
from dichvucong.request_direction import direction

# Intents that only make sense with something the data recognises.
NEEDS_EVENT = {LIFE_EVENT_INTENT: "life_event", UNCOVERED_INTENT: "uncovered_procedure"}
CORRECTION = "correct_procedure"
INFORM = "inform"
NAMED = {"procedure", *NEEDS_EVENT.values()}
DECIDED_SHARE = 0.5


def _entity(start: int, end: int, name: str, value: str) -> Dict[str, Any]:
    return {"entity": name, "start": start, "end": end, "value": value, "confidence_entity": 1.0}


def _set_intent(message: Message, name: str, confidence: float, decided: bool = False) -> None:
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
    if decided:
        # The data decided: the classifier's runners-up must not make the
        # FallbackClassifier read the choice as ambiguous.
        ranking = [{**r, "confidence": r.get("confidence", 0.0) * DECIDED_SHARE} for r in ranking]
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
class LifeEventExtractor(RuleComponent):
    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__(config)
        self._life_events = default_life_events()

    def process_one(self, message: Message, text: str) -> None:
        entities = list(message.get(ENTITIES) or [])
        procedures = [e for e in entities if e.get("entity") == "procedure"]
        intent, confidence = _repair_correction(message, bool(procedures))
        decision = decide(
            intent,
            [(e["start"], e["end"], e["value"]) for e in procedures],
            text,
            self._life_events,
            confidence,
        )
        dropped = [procedures[i] for i in decision.drop_procedures]
        entities = [e for e in entities if not any(e is d for d in dropped)]
        added = [
            _entity(span[0], span[1], name, span[2])
            for name, span in (
                ("procedure", decision.add_procedure),
                ("life_event", decision.life_event),
                ("uncovered_procedure", decision.uncovered),
            )
            if span
        ]
        message.set(ENTITIES, entities + self.add_extractor_name(added), add_to_output=True)
        if decision.intent:
            _set_intent(message, decision.intent, 1.0, decided=True)
        elif decision.demote or (
            intent in NEEDS_EVENT and not any(e["entity"] == NEEDS_EVENT[intent] for e in added)
        ):
            _next_intent(message, set(NEEDS_EVENT))
        elif intent == INFORM and not any(e["entity"] in NAMED for e in entities + added):
            # "inform" is the citizen naming a procedure; without one it is the
            # classifier's nearest class for an unknown noun phrase ("giá heo hơi").
            _next_intent(message, {INFORM, *NEEDS_EVENT})
        intent, confidence = _top(message)
        if asks_online(intent, text):
            _set_intent(message, ONLINE_INTENT, confidence, decided=True)
        wanted = direction(intent, text)
        if wanted:
            # The classifier believes in a request of this pair; the verb
            # decides which way, so the two confidences add up.
            other = sum(r.get("confidence", 0.0) for r in message.get(INTENT_RANKING_KEY) or []
                        if r.get("name") == wanted)
            _set_intent(message, wanted, min(1.0, confidence + other), decided=True)


def _top(message: Message) -> tuple:
    top = message.get(INTENT) or {}
    return top.get("name") or "", top.get("confidence", 1.0)


def _repair_correction(message: Message, names_procedure: bool) -> tuple:
    """A correction must name the procedure; a "no" that names one is a correction."""
    intent, _ = _top(message)
    if intent == CORRECTION and not names_procedure:
        _next_intent(message, {CORRECTION})
    elif intent == "deny" and names_procedure:
        # "không phải, ý tôi là tạm trú": a correction, not a refusal.
        _set_intent(message, CORRECTION, 1.0, decided=True)
    return _top(message)
