"""Rule-based extractor for the ``locality`` entity (old and new unit names).

Recognition lives in dichvucong.localities (no Rasa there); this adapter only
loads the unit index once, when the model is loaded, so a message costs a few
dictionary lookups. The entity keeps the span the citizen typed and carries
the unit's canonical full name as value ("Phường Thác Mơ, Thị xã Phước Long,
Tỉnh Bình Phước"), which the actions resolve again: old names stay old, so the
answer can say that they no longer exist. When a message fits several units
equally, nothing is extracted and the actions ask.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from dichvucong.localities.resolve import index, resolve

ENTITY = "locality"


def extract_locality(text: str) -> List[Dict[str, Any]]:
    found = resolve(text)
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
class LocalityEntityExtractor(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {}

    def __init__(self, config: Dict[str, Any]) -> None:
        self._config = config
        index()  # load the units now, not on the first citizen's message

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LocalityEntityExtractor:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text: Optional[str] = message.get(TEXT)
            if not text:
                continue
            found = self.add_extractor_name(extract_locality(text))
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages
