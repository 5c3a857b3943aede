"""The question part of a message, and the featurizer that counts its words."""
import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from dichvucong.question_part import question_span, sentences


def part(text):
    start, end = question_span(text)
    return text[start:end]


@pytest.mark.parametrize(
    "text, expected",
    [
        # The story comes first, the question last.
        ("Ông nội tôi mất hôm qua ở nhà, năm nay cụ 89 tuổi. Gia đình đang lo tang lễ nên rối lắm."
         " Làm khai tử cho cụ thì thủ tục ra sao?", "Làm khai tử cho cụ thì thủ tục ra sao?"),
        # The asking sentence wins over a closing remark.
        ("Có cách nào làm căn cước online không? Tôi bận đi làm cả tuần.", "Có cách nào làm căn cước online không?"),
        # No question mark: the last sentence.
        ("Tuần trước tôi nộp hồ sơ khai tử cho mẹ. Kiểm tra giúp tôi hồ sơ đang ở đâu với.",
         "Kiểm tra giúp tôi hồ sơ đang ở đâu với."),
        # Dots inside a dossier code or a number end no sentence.
        ("Mã hồ sơ là 000.00.15.H10-261120-0012, lệ phí 2.5 nghìn. Hồ sơ tới bước nào rồi?", "Hồ sơ tới bước nào rồi?"),
        # Abbreviations and thanks are fragments, not sentences.
        ("TP. HCM làm căn cước ở đâu", "TP. HCM làm căn cước ở đâu"),
        ("Kiểm tra giúp tôi hồ sơ khai sinh với. Cảm ơn.", "Kiểm tra giúp tôi hồ sơ khai sinh với. Cảm ơn."),
        # A short message is its own question part.
        ("lam cccd o dau", "lam cccd o dau"),
        ("ok", "ok"),
        ("", ""),
        ("...", "..."),
    ],
)
def test_question_part(text, expected):
    assert part(text) == expected


def test_line_breaks_end_sentences():
    text = "Con tôi 3 tháng tuổi rồi\nlàm khai sinh online thế nào"
    assert part(text) == "làm khai sinh online thế nào"
    assert len(sentences(text)) == 2


@pytest.fixture(scope="module")
def featurized():
    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from bot.nlu.question_featurizer import QuestionPartFeaturizer
    from bot.nlu.tokenizer import VietnameseTokenizer

    def run(tmp_path, train_texts, text):
        tokenizer = VietnameseTokenizer(VietnameseTokenizer.get_default_config())
        featurizer = QuestionPartFeaturizer.create(
            {**QuestionPartFeaturizer.get_default_config(), "max_ngram": 2},
            LocalModelStorage(tmp_path),
            Resource("question"),
            ExecutionContext(None, node_name="question"),
        )
        examples = [Message(data={TEXT: t, "intent": "ask_where"}) for t in train_texts]
        tokenizer.process(examples)
        featurizer.train(TrainingData(training_examples=examples))
        message = Message(data={TEXT: text})
        tokenizer.process([message])
        featurizer.process([message])
        sequence, sentence = message.get_sparse_features(TEXT)
        vocabulary = featurizer.vectorizers[TEXT].vocabulary_
        featurizer.persist()
        loaded = QuestionPartFeaturizer.load(
            featurizer._config, featurizer._model_storage, featurizer._resource,
            ExecutionContext(None, node_name="question"),
        )
        again = Message(data={TEXT: text})
        tokenizer.process([again])
        loaded.process([again])
        assert (again.get_sparse_features(TEXT)[1].features.toarray() == sentence.features.toarray()).all()
        return message, sequence.features.toarray(), sentence.features.toarray()[0], vocabulary

    return run


def test_featurizer_counts_only_the_question_part(tmp_path, featurized):
    message, sequence, sentence, vocabulary = featurized(
        tmp_path, ["làm căn cước ở đâu", "đám tang xong rồi"], "Đám tang xong rồi. Làm căn cước ở đâu?"
    )
    tokens = message.get(TOKENS_NAMES[TEXT])
    assert sequence.shape[0] == len(tokens)
    story = [i for i, t in enumerate(tokens) if t.end <= len("Đám tang xong rồi.")]
    assert story and not sequence[story].any()  # the story's rows are empty
    assert sentence[vocabulary["dam"]] == 0 and sentence[vocabulary["can"]] == 1
    assert sentence[vocabulary["o dau"]] == 1  # bigrams of the question part
    # Only the text is featurized, never the intent label.
    assert not message.get_sparse_features("intent")[1]
