"""Syllable tokenizer whose lemmas ignore diacritics and expand chat abbreviations.

Rasa's CountVectorsFeaturizer reads ``Token.lemma`` (``use_lemma`` defaults to
true), so "căn cước", "can cuoc" and "CĂN CƯỚC" produce the same features while
``Token.text`` and the offsets still point into what the citizen typed.
Measured on PhoATIS (docs in ../shared/research/vi_nlu.md), folding removed the
drop from 95% to 68% intent accuracy on text typed without diacritics.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from dichvucong.text import intent_lemma, lemma, real_syllables


@lru_cache(maxsize=1)
def _spacy_vi():
    import spacy

    # spaCy's Vietnamese tokenizer segments words with pyvi and, since spaCy
    # 3.1, keeps the original text and offsets.
    return spacy.blank("vi")


def _word_spans(text: str) -> List[tuple]:
    """Character spans of the words spaCy/pyvi find ("đăng ký" is one word)."""
    return [(t.idx, t.idx + len(t.text)) for t in _spacy_vi()(text)]


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class VietnameseTokenizer(WhitespaceTokenizer):
    """``segmenter: syllable`` (default) or ``spacy_vi`` (spaCy's pyvi word
    segmentation; the choice is measured in docs/nlu_design.md). ``homographs``
    (default true) keeps the replies of dichvucong.text.HOMOGRAPHS apart when
    typed with tones ("dừng" is not "đúng"); false folds every word."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**WhitespaceTokenizer.get_default_config(), "segmenter": "syllable", "homographs": True}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VietnameseTokenizer:
        # Loaded with the model, so the first citizen's message does not pay for
        # reading the syllable list that respelling consults (dichvucong/text.py).
        real_syllables()
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        text = message.get(attribute)
        if isinstance(text, str):
            composed = unicodedata.normalize("NFC", text)
            if composed != text:
                # Decomposed input (some keyboards, macOS) would split words on
                # combining marks; NFC keeps one code point per letter.
                message.set(attribute, composed)
        tokens = super().tokenize(message, attribute)
        for token in tokens:
            token.lemma = intent_lemma(token.text) if self._config["homographs"] else lemma(token.text)
        if self._config.get("segmenter") == "spacy_vi" and tokens:
            tokens = self._merge_words(tokens, message.get(attribute))
        return tokens

    @staticmethod
    def _merge_words(tokens: List[Token], text: str) -> List[Token]:
        spans = _word_spans(text)
        merged: List[Token] = []
        group: List[Token] = []
        group_span = None

        def flush() -> None:
            if group:
                start, end = group[0].start, group[-1].end
                merged.append(
                    Token(text[start:end], start, end, lemma="_".join(t.lemma for t in group))
                )

        for token in tokens:
            span = next((s for s in spans if s[0] <= token.start < s[1]), None)
            if span is None or span != group_span:
                flush()
                group, group_span = [], span
            group.append(token)
        flush()
        return merged
