"""Rule-based extractor for the ``locality`` entity (old and new unit names).

Recognition lives in dichvucong.localities (no Rasa there); this adapter only
loads the unit index once, when the model is loaded, so a message costs a few
dictionary lookups. The entity keeps the span the citizen typed and carries
the unit's canonical full name as value ("Phường Thác Mơ, Thị xã Phước Long,
Tỉnh Bình Phước"), which the actions resolve again: old names stay old, so the
answer can say that they no longer exist. When a message fits several units
equally, nothing is extracted and the actions ask.

A question about the reorganisation never names a procedure: "tôi ở phường
Thác Mơ, … thì làm căn cước ở đâu" asks where to apply, in that unit. The
classifier, which sees few addresses in the procedure questions, may still
call it ``ask_locality_change``; when a procedure was found, the best-ranked
procedure question takes its place, with the classifier's confidence that
this is a question at all.

A place name is not a procedure: the procedure extractor tolerates typos, so
"Cao Bằng, làm thường trú" also yields "bằng lái"; procedure entities that
begin inside a locality span are dropped.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.rule_component import RuleComponent
from dichvucong.localities.resolve import Resolution, index, resolve

ENTITY = "locality"
CHANGE_INTENT = "ask_locality_change"
PROCEDURE_INTENTS = (
    "ask_where", "ask_procedure", "ask_documents", "ask_fee",
    "ask_processing_time", "ask_online_steps",
)


def procedure_question(intent: Dict[str, Any], ranking: List[Dict[str, Any]],
                       entities: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The intent to use instead of ``ask_locality_change`` when the message
    names a procedure, or None to keep the classifier's choice."""
    if (intent or {}).get("name") != CHANGE_INTENT:
        return None
    if not any(e.get("entity") == "procedure" for e in entities):
        return None
    best = next((r for r in ranking if r.get("name") in PROCEDURE_INTENTS), None)
    name = best["name"] if best else "ask_where"
    return {"name": name, "confidence": intent.get("confidence", 0.0)}


def without_places(
    entities: List[Dict[str, Any]], names: Tuple[Tuple[int, int], ...]
) -> List[Dict[str, Any]]:
    """Drop the procedure entities that begin inside a place name."""
    return [
        e for e in entities
        if e.get("entity") != "procedure"
        or not any(start <= e.get("start", -1) < end for start, end in names)
    ]


def extract_locality(text: str, found: Optional[Resolution] = None) -> List[Dict[str, Any]]:
    found = found or resolve(text)
    if found is None or found.unit is None:
        return []
    return [{
        "entity": ENTITY,
        "start": found.start,
        "end": found.end,
        "value": found.unit.label,
        "confidence_entity": 1.0,
    }]


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class LocalityEntityExtractor(RuleComponent):
    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__(config)
        index()  # load the units now, not on the first citizen's message

    @staticmethod
    def _prefer_procedure_question(message: Message, entities: List[Dict[str, Any]]) -> None:
        ranking = message.get(INTENT_RANKING_KEY) or []
        replacement = procedure_question(message.get(INTENT), ranking, entities)
        if replacement is None:
            return
        # The two intents swap confidences, so the ranking stays a ranking.
        was = next((r["confidence"] for r in ranking if r.get("name") == replacement["name"]), 0.0)
        rest = [
            {**r, "confidence": was} if r.get("name") == CHANGE_INTENT else r
            for r in ranking if r.get("name") != replacement["name"]
        ]
        message.set(INTENT, replacement, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [replacement, *rest], add_to_output=True)

    def process_one(self, message: Message, text: str) -> None:
        resolution = resolve(text)
        found = self.add_extractor_name(extract_locality(text, resolution))
        names = resolution.parts if resolution else ()
        entities = without_places(message.get(ENTITIES, []), names) + found
        message.set(ENTITIES, entities, add_to_output=True)
        self._prefer_procedure_question(message, entities)
