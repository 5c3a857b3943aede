import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.domain_featurizer import (
    LIFE_EVENT_COLUMN,
    NONE_COLUMN,
    PROCEDURE_COLUMN,
    UNCOVERED_COLUMN,
    DomainFeaturizer,
)
from bot.nlu.tokenizer import VietnameseTokenizer


@pytest.fixture(scope="module")
def featurize():
    tokenizer = VietnameseTokenizer(VietnameseTokenizer.get_default_config())
    featurizer = DomainFeaturizer({**DomainFeaturizer.get_default_config()}, "domain")

    def run(text):
        message = Message(data={TEXT: text})
        tokenizer.process([message])
        featurizer.process([message])
        sequence, sentence = message.get_sparse_features(TEXT)
        return message, sequence.features.toarray(), sentence.features.toarray()[0]

    return run


@pytest.mark.parametrize(
    "text, column",
    [
        ("lam khai sinh cho con", PROCEDURE_COLUMN),
        ("đổi cccd ở đâu", PROCEDURE_COLUMN),
        ("vợ tôi vừa sinh em bé", LIFE_EVENT_COLUMN),
        ("tach ho khau lam ntn", UNCOVERED_COLUMN),
        ("giá heo hơi hôm nay", NONE_COLUMN),
        ("tư vấn chứng khoán cho tôi", NONE_COLUMN),
    ],
)
def test_sentence_feature_says_what_the_knowledge_base_knows(featurize, text, column):
    _, _, sentence = featurize(text)
    assert sentence[column] == 1.0
    if column == NONE_COLUMN:
        assert sentence[:NONE_COLUMN].sum() == 0


def test_sequence_features_mark_the_tokens_of_the_phrase(featurize):
    message, sequence, _ = featurize("lệ phí khai sinh bao nhiêu")
    tokens = [t.text for t in message.get(TOKENS_NAMES[TEXT])]
    marked = [t for t, row in zip(tokens, sequence, strict=True) if row[PROCEDURE_COLUMN]]
    assert marked == ["khai", "sinh"]
    assert sequence.shape == (len(tokens), NONE_COLUMN + 1)


def test_training_data_pass_skips_messages_without_text(featurize):
    featurizer = DomainFeaturizer({**DomainFeaturizer.get_default_config()}, "domain")
    intent_only = Message(data={"intent": "greet"})
    featurizer.process_training_data(TrainingData([intent_only]))
    assert not intent_only.features
