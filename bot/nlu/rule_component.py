"""What the rule-based NLU components share.

The procedure, life-event and locality extractors learn nothing: they read
data files (through ``dichvucong``) and annotate each message after DIET.
Rasa's graph API still asks each of them for a default config, a factory, a
training-data pass and a batch loop; that boilerplate lives here once, and a
component only says what it does to one message with text.
"""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


class RuleComponent(GraphComponent, EntityExtractorMixin):
    """A non-trainable entity extractor; subclasses implement :meth:`process_one`
    (and register themselves with ``DefaultV1Recipe.register``)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {}

    def __init__(self, config: Dict[str, Any]) -> None:
        self._config = config

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RuleComponent:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text:
                self.process_one(message, text)
        return messages

    def process_one(self, message: Message, text: str) -> None:
        raise NotImplementedError
