"""Adds accent-stripped, teencode and typo variants of the intent examples at training time.

It runs first in the pipeline and only in the training graph's data pass, so
nothing generated is committed into data/nlu, and in cross-validation it sees
only the training folds (the test fold never goes through training).
At prediction time it passes messages through untouched.
"""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.augment import STYLES, variants


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class TrainingAugmenter(GraphComponent):
    """``styles``: any of accents, teencode, typos; ``copies`` per style; ``seed``."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"styles": ["typos"], "copies": 1, "seed": 20261202}

    def __init__(self, config: Dict[str, Any]) -> None:
        unknown = set(config["styles"]) - set(STYLES)
        if unknown:
            raise ValueError(f"unknown augmentation styles {sorted(unknown)}; use {STYLES}")
        self._config = config

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TrainingAugmenter:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        known = {m.get(TEXT) for m in training_data.intent_examples}
        extra: List[Message] = []
        for example in training_data.intent_examples:
            for text in variants(
                example.get(TEXT), self._config["styles"], self._config["seed"], self._config["copies"]
            ):
                # A variant that is another example's text keeps that example's label only.
                if text not in known:
                    known.add(text)
                    extra.append(Message.build(text=text, intent=example.get(INTENT)))
        return training_data.merge(TrainingData(training_examples=extra))

    def process(self, messages: List[Message]) -> List[Message]:
        return messages
