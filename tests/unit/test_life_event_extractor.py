"""The adapter's repairs of intents that only the data can confirm."""
import pytest
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.life_event_extractor import LifeEventExtractor


@pytest.fixture(scope="module")
def extractor():
    return LifeEventExtractor({})


def _parsed(text, ranking, entities=()):
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": ranking[0][0], "confidence": ranking[0][1]})
    message.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in ranking])
    message.set(ENTITIES, list(entities))
    return message


def test_inform_without_a_procedure_takes_the_next_intent(extractor):
    message = _parsed("giá heo hơi", [("inform", 0.5), ("out_of_scope", 0.3), ("affirm", 0.1)])
    extractor.process([message])
    assert message.get(INTENT)["name"] == "out_of_scope"


def test_inform_that_names_a_procedure_stays(extractor):
    procedure = {"entity": "procedure", "start": 0, "end": 9, "value": "khai_sinh"}
    message = _parsed("khai sinh", [("inform", 0.9), ("ask_procedure", 0.1)], [procedure])
    extractor.process([message])
    assert message.get(INTENT)["name"] == "inform"


def test_correction_without_a_procedure_is_not_a_correction(extractor):
    message = _parsed("không phải", [("correct_procedure", 0.6), ("deny", 0.3)])
    extractor.process([message])
    assert message.get(INTENT)["name"] == "deny"


@pytest.mark.parametrize("text", [
    "đăng ký tạm trú qua mạng thì làm thế nào",
    "lam khai sinh truc tuyen nhu the nao",
    "khai báo lưu trú trên app VNeID thì làm sao",
])
def test_how_to_do_it_online_is_the_online_steps_question(extractor, text):
    message = _parsed(text, [("ask_procedure", 0.8), ("ask_online_steps", 0.15)])
    extractor.process([message])
    ranking = message.get(INTENT_RANKING_KEY)
    assert message.get(INTENT) == {"name": "ask_online_steps", "confidence": 0.8}
    # The procedure question stays second, far enough below not to read as ambiguous.
    assert ranking[1]["name"] == "ask_procedure" and ranking[1]["confidence"] <= 0.4


@pytest.mark.parametrize("text", [
    "làm vneid mức 2 thế nào",  # VNeID is the procedure here, not the channel
    "đăng ký tạm trú thì làm thế nào",
])
def test_a_procedure_question_without_the_online_channel_stays(extractor, text):
    message = _parsed(text, [("ask_procedure", 0.8), ("ask_online_steps", 0.15)])
    extractor.process([message])
    assert message.get(INTENT)["name"] == "ask_procedure"
