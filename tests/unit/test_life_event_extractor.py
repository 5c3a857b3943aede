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


@pytest.mark.parametrize(
    "text, said, wanted",
    [
        ("bật thông báo hồ sơ", "unsubscribe_dossier", "subscribe_dossier"),
        ("toi muon nhan thong bao tien do ho so qua day", "unsubscribe_dossier", "subscribe_dossier"),
        ("tôi không muốn theo dõi hồ sơ này nữa", "subscribe_dossier", "unsubscribe_dossier"),
        ("ad ơi e hết cần theo dõi hs rồi", "subscribe_dossier", "unsubscribe_dossier"),
        ("dừng nhận tin hồ sơ", "subscribe_dossier", "unsubscribe_dossier"),
        ("toi da co ket qua, dung gui tin bao nua", "subscribe_dossier", "unsubscribe_dossier"),
        # The same for a conversation with staff.
        ("không cần gặp cán bộ nữa", "request_human", "end_handoff"),
        ("tôi muốn ngắt kết nối với cán bộ", "request_human", "end_handoff"),
        ("nguoi that giai dap xong roi, cho toi ve che do tu dong", "request_human", "end_handoff"),
        ("toi can noi chuyen voi can bo", "end_handoff", "request_human"),
    ],
)
def test_the_verb_decides_which_way_a_request_goes(extractor, text, said, wanted):
    message = _parsed(text, [(said, 0.5), (wanted, 0.4), ("check_dossier_status", 0.1)])
    extractor.process([message])
    top = message.get(INTENT)
    assert top["name"] == wanted and top["confidence"] == pytest.approx(0.9)
    # The runner-up no longer looks like a tie to the FallbackClassifier.
    assert message.get(INTENT_RANKING_KEY)[1]["confidence"] <= 0.25


@pytest.mark.parametrize(
    "text, said",
    [
        # No negation of the verb: "hết hạn", "tất cả", "đúng rồi", "hay không".
        ("hồ sơ sắp hết hạn thì nhắc em", "subscribe_dossier"),
        ("báo cho tôi tất cả cập nhật của hồ sơ", "subscribe_dossier"),
        ("đúng rồi, báo cho tôi khi xong", "subscribe_dossier"),
        ("có kết quả hay không thì báo tôi", "subscribe_dossier"),
        ("mỗi lần cán bộ cập nhật hồ sơ thì gửi tin cho tôi", "subscribe_dossier"),
        ("tắt thông báo", "unsubscribe_dossier"),
        ("toi can nguoi that tu van, khong muon noi chuyen voi bot", "request_human"),
        ("tôi muốn hủy hồ sơ, cho tôi gặp cán bộ", "request_human"),
        # Other intents are left alone.
        ("thôi không cần báo nữa", "deny"),
    ],
)
def test_a_request_that_agrees_with_its_verb_stays(extractor, text, said):
    message = _parsed(text, [(said, 0.7), ("check_dossier_status", 0.2)])
    extractor.process([message])
    assert message.get(INTENT) == {"name": said, "confidence": 0.7}
