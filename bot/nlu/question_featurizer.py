"""Word counts of a message's question part (dichvucong/question_part.py).

With no transformer, DIET classifies the intent from the sentence features,
a bag of every word in the message. A long message's story (a funeral, a
holiday, a job) then weighs as much as its question, and held-out long
messages moved between out_of_scope and the right intent from one training
run to the next (reports/nlu_study.md, fifth round). This featurizer is a
second word-level CountVectorsFeaturizer that sees only the words of the
question part, so DIET gets a stable signal of what is being asked. Words
outside the question part become empty tokens: their sequence rows are zero
and the sentence features count the question part alone. A short message is
its own question part, so the vocabulary is learned from every example.
"""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from dichvucong.question_part import question_span


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class QuestionPartFeaturizer(CountVectorsFeaturizer):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**CountVectorsFeaturizer.get_default_config(), "analyzer": "word"}

    @staticmethod
    def _attributes_for(analyzer: str) -> List[str]:
        # Only the message text: intent and action labels are featurized once,
        # by the main word featurizer (also what load() rebuilds vectorizers for).
        return [TEXT]

    def _get_message_tokens_by_attribute(self, message: Message, attribute: str) -> List[str]:
        # The parent's words (lemma or text), blanked outside the question part;
        # _attributes_for makes ``attribute`` always the text.
        words = super()._get_message_tokens_by_attribute(message, attribute)
        start, end = question_span(message.get(TEXT) or "")
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        return [w if start <= t.start and t.end <= end else "" for w, t in zip(words, tokens, strict=True)]
