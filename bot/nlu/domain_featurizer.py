"""Sparse features saying whether a message names something the knowledge base knows.

DIET sees words and character n-grams; what it cannot learn from a few
examples is that "giá heo hơi" or "tư vấn chứng khoán" names nothing of ours
while "khai sinh" does: cross-validation put one-off out-of-scope questions
into ``inform`` and bare procedure names into ``out_of_scope``. The knowledge
base already knows the difference (procedure names and aliases, life-event
phrases, the neighbouring procedures we do not cover), and the extractors
after DIET use it; this featurizer gives the same knowledge to DIET itself.

Four columns, per token (inside a phrase of that kind) and for the sentence:
a procedure, a life event, an uncovered procedure, none of them. It learns
nothing, so it only reads the data files at load time.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Type

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.procedure_extractor import alias_table
from dichvucong.knowledge.base import KnowledgeBase
from dichvucong.life_events import default_life_events
from dichvucong.text import find_phrases

# The columns: a procedure, a life event, an uncovered procedure, none of them.
PROCEDURE_COLUMN, LIFE_EVENT_COLUMN, UNCOVERED_COLUMN, NONE_COLUMN = range(4)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class DomainFeaturizer(SparseFeaturizer, GraphComponent):
    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**SparseFeaturizer.get_default_config(), "procedures_dir": "data/procedures"}

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        pass

    def __init__(self, config: Dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._aliases = alias_table(KnowledgeBase.load(Path(config["procedures_dir"])))
        self._life_events = default_life_events()

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> DomainFeaturizer:
        return cls(config, execution_context.node_name)

    def spans(self, text: str) -> List[tuple]:
        """(start, end, column) of every known phrase in ``text``."""
        found = [(s, e, PROCEDURE_COLUMN) for s, e, _, _ in find_phrases(text, self._aliases)]
        found += [(s, e, LIFE_EVENT_COLUMN) for s, e, _ in self._life_events.match(text).spans]
        found += [(s, e, UNCOVERED_COLUMN) for s, e, _ in self._life_events.match_uncovered(text)]
        return found

    def _featurize(self, message: Message) -> None:
        text = message.get(TEXT)
        tokens = message.get(TOKENS_NAMES[TEXT])
        if not text or not tokens:
            return
        found = self.spans(text)
        sequence = np.zeros((len(tokens), NONE_COLUMN + 1), dtype=np.float32)
        for row, token in enumerate(tokens):
            for start, end, column in found:
                if token.start < end and start < token.end:
                    sequence[row, column] = 1.0
        sentence = np.zeros((1, NONE_COLUMN + 1), dtype=np.float32)
        for _, _, column in found:
            sentence[0, column] = 1.0
        if not found:
            sentence[0, NONE_COLUMN] = 1.0
        self.add_features_to_message(
            scipy.sparse.coo_matrix(sequence), scipy.sparse.coo_matrix(sentence), TEXT, message
        )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._featurize(message)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._featurize(message)
        return messages
