"""Training-time augmentation: deterministic, label-preserving, never touching what it is not given."""
import random

import pytest
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.augment import strip_accents, teencode, typos, variants
from bot.nlu.augmenter import TrainingAugmenter
from dichvucong.text import canonical, fold

TEXT = "Cho em hỏi đăng ký khai sinh được không, lệ phí bao nhiêu ạ"


def test_strip_accents_keeps_case_and_letters():
    assert strip_accents("Đăng ký CĂN CƯỚC") == "Dang ky CAN CUOC"


def test_teencode_uses_the_abbreviation_table_and_keeps_the_meaning():
    short = teencode(TEXT, random.Random(0))
    assert short != TEXT
    # The tokenizer expands the chat form back: same canonical words as the original.
    assert canonical(short) == canonical(TEXT)


def test_typos_change_at_most_two_words_by_one_edit():
    original, typed = TEXT.split(), typos(TEXT, random.Random(3)).split()
    changed = [(a, b) for a, b in zip(original, typed, strict=False) if a != b]
    assert len(original) == len(typed) and 1 <= len(changed) <= 2
    for before, after in changed:
        assert abs(len(fold(before)) - len(fold(after))) <= 1 or fold(after)[:-1] == fold(before)


def test_variants_are_deterministic_and_exclude_the_original():
    first = variants(TEXT, ["accents", "teencode", "typos"], seed=7, copies=2)
    assert first == variants(TEXT, ["accents", "teencode", "typos"], seed=7, copies=2)
    assert TEXT not in first and len(first) == len(set(first))
    assert first != variants(TEXT, ["accents", "teencode", "typos"], seed=8, copies=2)


def test_component_adds_labelled_variants_only_at_training_time():
    data = TrainingData(
        training_examples=[
            Message.build(text=TEXT, intent="ask_fee"),
            Message.build(text="xin chào", intent="greet"),
        ]
    )
    augmenter = TrainingAugmenter({"styles": ["accents", "typos"], "copies": 1, "seed": 1})
    augmented = augmenter.process_training_data(data)
    added = augmented.intent_examples[2:]
    assert {m.get("text") for m in data.intent_examples} <= {m.get("text") for m in augmented.intent_examples}
    assert added and all(m.get("intent") in {"ask_fee", "greet"} for m in added)
    assert strip_accents(TEXT) in {m.get("text") for m in added if m.get("intent") == "ask_fee"}
    assert len(data.intent_examples) == 2  # the input is not modified
    message = Message.build(text="le phi bao nhieu")
    assert augmenter.process([message]) == [message] and message.get("intent") is None


def test_component_rejects_unknown_styles():
    with pytest.raises(ValueError):
        TrainingAugmenter({"styles": ["emoji"], "copies": 1, "seed": 1})
