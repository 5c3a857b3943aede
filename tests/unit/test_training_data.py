"""The held-out sets measure generalisation only if the model never saw them.

The tokenizer folds diacritics and expands abbreviations, so "xin chào" and
"xin chao" are one input to the model: a held-out message counts as seen when
what the model reads of it (intent_canonical) is in the training data, not only
when its letters are.
"""
from pathlib import Path

from rasa.shared.nlu.training_data.loading import load_data

from dichvucong.text import intent_canonical

ROOT = Path(__file__).resolve().parents[2]


def _canonical_texts(paths):
    return {
        intent_canonical(example.get("text")): (path.name, example.get("text"))
        for path in paths
        for example in load_data(str(path)).intent_examples
    }


def test_no_heldout_message_is_in_the_training_data():
    training = _canonical_texts(sorted((ROOT / "data" / "nlu").glob("*.yml")))
    heldout = _canonical_texts(sorted((ROOT / "tests" / "nlu").glob("heldout_*.yml")))
    seen = sorted(f"{heldout[c][0]}: {heldout[c][1]!r} (trained as {training[c][1]!r})"
                  for c in set(training) & set(heldout))
    assert not seen, "held-out messages in data/nlu:\n" + "\n".join(seen)


def test_no_dev_message_is_in_the_training_data():
    training = _canonical_texts(sorted((ROOT / "data" / "nlu").glob("*.yml")))
    dev = _canonical_texts(sorted((ROOT / "tests" / "nlu" / "dev").glob("*.yml")))
    seen = sorted(f"{dev[c][0]}: {dev[c][1]!r}" for c in set(training) & set(dev))
    assert not seen, "dev messages in data/nlu:\n" + "\n".join(seen)
