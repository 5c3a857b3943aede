"""Life events and uncovered procedures: data, matching, routing and actions (no model)."""
import pytest
import yaml
from rasa_sdk.events import SlotSet

from actions.fallback import ActionCancel, ActionPrepareCorrection, ActionRepeatLast
from actions.life_events import ActionAnswerUncovered, ActionLifeEvent
from dichvucong.life_event_routing import ASK, LIFE_EVENT_INTENT, UNCOVERED_INTENT, decide
from dichvucong.life_events import (
    LifeEventDataError,
    LifeEventFile,
    LifeEvents,
    default_life_events,
)
from dichvucong.settings import PROJECT_ROOT
from tests.support.trackers import make_tracker

EVENTS_FILE = PROJECT_ROOT / "data" / "life_events.yml"


@pytest.fixture(scope="module")
def life_events():
    return default_life_events()


def test_every_event_leads_to_known_procedures_and_ids_are_unique(life_events):
    assert {"birth", "death", "marriage", "lost_card", "renting", "guest"} <= set(life_events.events)
    assert all(event.procedures for event in life_events.events.values())


def test_an_unknown_procedure_fails_loudly_with_the_file_name(tmp_path):
    data = yaml.safe_load(EVENTS_FILE.read_text(encoding="utf-8"))
    data["events"][0]["procedures"] = ["khai_sinh_typo"]
    broken = tmp_path / "life_events.yml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(LifeEventDataError, match=r"(?s)life_events.yml.*khai_sinh_typo"):
        LifeEvents.load(broken, PROJECT_ROOT / "data" / "uncovered_procedures.yml")


def test_unknown_fields_are_rejected():
    data = yaml.safe_load(EVENTS_FILE.read_text(encoding="utf-8"))
    data["events"][0]["synonyms"] = ["x"]
    with pytest.raises(ValueError):
        LifeEventFile.parse_obj(data)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("vợ tôi vừa sinh em bé, cần làm giấy tờ gì cho cháu", "birth"),
        ("vo toi vua sinh em be", "birth"),
        ("vợ em mới đẻ", "birth"),
        ("ông nội em vừa mất, gia đình phải làm thủ tục gì", "death"),
        ("bo toi mat roi", "death"),
        ("anh trai em mất vì tai nạn", "death"),
        ("bọn em sắp cưới thì phải làm thủ tục gì", "marriage"),
        ("em mới lên hà nội thuê trọ đi làm thì phải đăng ký gì", "renting"),
        ("nhà có người họ hàng dưới quê lên chơi mấy hôm có phải báo ai không", "guest"),
        ("tôi bị mất căn cước", "lost_card"),
        ("bố tôi mất căn cước", "lost_card"),  # the card is lost, nobody died
        ("toi lam mat cccd r", "lost_card"),
        ("mới mua xe máy", "buying_vehicle"),
    ],
)
def test_situations_are_recognised_in_every_style(life_events, text, expected):
    assert life_events.match(text).best == expected


@pytest.mark.parametrize(
    "text",
    [
        "làm khai sinh mất bao lâu",  # "takes how long"
        "đổi bằng lái mất 5 ngày à",
        "xác thực khuôn mặt trên vneid",  # "mặt" folds like "mất"
        "làm căn cước để con đi học",  # "để con" folds like "đẻ con"
        "tôi bảo tự làm được không",  # "bảo tự" folds like "báo tử"
        "cuối tháng này tôi đi làm căn cước",  # "cuối" folds like "cưới"
        "mình còn bằng giấy cũ",  # one letter from "sinh con": no typo in short phrases
    ],
)
def test_folding_collisions_are_not_events(life_events, text):
    assert life_events.match(text).best != "birth" and life_events.match(text).best != "death"


def test_an_undecided_mat_asks(life_events):
    match = life_events.match("mất rồi thì làm sao")
    assert match.best is None and set(match.ask) == {"death", "lost_card"}


def test_uncovered_procedures_are_recognised(life_events):
    spans = life_events.match_uncovered("Khai báo tạm trú cho người nước ngoài?")
    assert [s[2] for s in spans] == ["tam_tru_nguoi_nuoc_ngoai"]
    assert [s[2] for s in life_events.match_uncovered("tách hộ khẩu thế nào")] == ["tach_ho"]
    assert life_events.match_uncovered("giấy tờ cho các con thế nào") == []  # no typo matching


def test_a_situation_with_a_general_question_becomes_the_life_event(life_events):
    decision = decide("ask_documents", [], "vợ tôi vừa sinh em bé, cần làm giấy tờ gì", life_events)
    assert decision.intent == LIFE_EVENT_INTENT and decision.life_event[2] == "birth"


def test_a_precise_question_keeps_its_intent_and_gets_the_procedure(life_events):
    decision = decide("ask_fee", [], "mới mua xe máy thì lệ phí bao nhiêu", life_events)
    assert decision.intent is None and decision.add_procedure[2] == "dang_ky_xe"


def test_a_named_procedure_wins_when_the_classifier_is_sure(life_events):
    text = "bố tôi vừa mất, làm khai tử thế nào ạ"
    decision = decide("ask_procedure", [(16, 23, "khai_tu")], text, life_events)
    assert decision.intent is None


def test_unsure_classifier_defers_to_the_situation(life_events):
    text = "tôi bị mất căn cước thì phải làm sao"
    decision = decide("out_of_scope", [(11, 19, "can_cuoc")], text, life_events, 0.3)
    assert decision.intent == LIFE_EVENT_INTENT and decision.life_event[2] == "lost_card"


def test_a_terse_question_naming_one_procedure_is_answered_not_clarified(life_events):
    text = "Thông báo lưu trú khi có khách đến nhà?"
    decision = decide("ask_processing_time", [(0, 17, "thong_bao_luu_tru")], text, life_events, 0.3)
    assert decision.intent == "ask_processing_time"
    decision = decide("deny", [(16, 24, "can_cuoc")], "Độ tuổi đổi thẻ Căn cước?", life_events, 0.4)
    assert decision.intent == "ask_procedure"
    decision = decide("inform", [(0, 11, "khai_tu")], "khai tu cho ong noi", life_events, 0.4)
    assert decision.intent == "inform"


def test_an_unsure_request_in_a_terse_question_naming_one_procedure_is_answered(life_events):
    text = "Thông báo lưu trú khi có khách đến nhà?"
    decision = decide("subscribe_dossier", [(0, 17, "thong_bao_luu_tru")], text, life_events, 0.35)
    assert decision.intent == "ask_procedure"
    # A confident request stays what it is.
    text = "thông báo cho tôi khi hồ sơ thông báo lưu trú xong"
    assert decide("subscribe_dossier", [(28, 45, "thong_bao_luu_tru")], text, life_events, 0.9).intent is None


def test_a_situation_the_data_does_not_know_with_a_named_procedure_answers_it(life_events):
    text = "bằng lái xe của tôi sắp hết hạn thì phải làm sao"
    decision = decide(LIFE_EVENT_INTENT, [(0, 11, "doi_gplx")], text, life_events, 0.64)
    assert decision.intent == "ask_procedure"


def test_an_uncovered_procedure_drops_the_procedure_it_contains(life_events):
    text = "Khai báo tạm trú cho người nước ngoài?"
    decision = decide("ask_procedure", [(0, 16, "tam_tru")], text, life_events)
    assert decision.intent == UNCOVERED_INTENT and decision.drop_procedures == [0]


def test_confident_out_of_scope_stays(life_events):
    assert decide("out_of_scope", [], "vay mua nhà lãi suất bao nhiêu", life_events, 0.95).intent is None


def test_dossier_lookup_is_never_taken_over(life_events):
    assert decide("check_dossier_status", [], "hồ sơ khai sinh cho con mới sinh", life_events).intent is None


def _event(value):
    return [{"entity": "life_event", "value": value, "start": 0, "end": 1}]


async def test_without_a_journey_the_event_answers_its_procedure(dispatcher, domain):
    tracker = make_tracker("em mới thuê trọ", LIFE_EVENT_INTENT, _event("renting"))
    events = await ActionLifeEvent().run(dispatcher, tracker, domain)
    assert SlotSet("procedure", "tam_tru") in events and SlotSet("life_event", "renting") in events
    [message] = dispatcher.messages
    assert "Đăng ký tạm trú" in message["answer"]


async def test_without_a_journey_several_procedures_are_offered_as_buttons(dispatcher, domain, monkeypatch):
    import actions.life_events as module

    monkeypatch.setattr(module, "compose_journey", lambda journey, today=None: None)
    tracker = make_tracker("bọn em sắp cưới", LIFE_EVENT_INTENT, _event("marriage"))
    await ActionLifeEvent().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert {b["payload"] for b in message["buttons"]} == {
        '/ask_procedure{"procedure":"ket_hon"}', '/ask_procedure{"procedure":"xac_nhan_hon_nhan"}'
    }


async def test_an_undecided_mat_asks_with_buttons(dispatcher, domain):
    tracker = make_tracker("mất rồi thì làm sao", LIFE_EVENT_INTENT, _event(ASK))
    await ActionLifeEvent().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert "qua đời" in message["answer"] and len(message["buttons"]) == 2
    life_events = default_life_events()
    assert [life_events.match(b["payload"]).best for b in message["buttons"]] == ["death", "lost_card"]


async def test_uncovered_answer_is_honest_and_names_where_to_ask(dispatcher, domain):
    entities = [{"entity": "uncovered_procedure", "value": "tam_tru_nguoi_nuoc_ngoai", "start": 0, "end": 1}]
    tracker = make_tracker("Khai báo tạm trú cho người nước ngoài?", UNCOVERED_INTENT, entities)
    events = await ActionAnswerUncovered().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert "không nằm trong các thủ tục tôi hướng dẫn" in message["answer"]
    assert "Công an" in message["answer"]
    assert events == [SlotSet("procedure", None)]


def _history(*events):
    tracker = make_tracker("x", "repeat")
    tracker.events = list(events) + [{"event": "user", "text": "x", "parse_data": {"intent": {"name": "repeat"}}}]
    return tracker


async def test_repeat_sends_the_last_answer_again(dispatcher, domain):
    tracker = _history(
        {"event": "user", "text": "lệ phí khai sinh", "parse_data": {"intent": {"name": "ask_fee"}}},
        {"event": "bot", "text": "Lệ phí – Đăng ký khai sinh", "data": {"buttons": [{"title": "a", "payload": "/b"}]}},
    )
    await ActionRepeatLast().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert message["text"] == "Lệ phí – Đăng ký khai sinh" and message["buttons"][0]["payload"] == "/b"


async def test_correction_keeps_the_topic_asked_before(dispatcher, domain):
    tracker = _history(
        {"event": "user", "text": "lệ phí thường trú", "parse_data": {"intent": {"name": "ask_fee"}}},
        {"event": "bot", "text": "Lệ phí – Đăng ký thường trú"},
    )
    events = await ActionPrepareCorrection().run(dispatcher, tracker, domain)
    assert SlotSet("pending_topic", "fee") in events


async def test_cancel_drops_the_pending_question(dispatcher, domain):
    events = await ActionCancel().run(dispatcher, make_tracker("hủy", "cancel"), domain)
    assert SlotSet("pending_topic", None) in events
    assert dispatcher.messages[0]["response"] == "utter_cancelled"


def test_journeys_named_in_the_data_exist(life_events):
    from dichvucong.knowledge.journeys import JOURNEY_IDS

    assert {e.journey for e in life_events.events.values() if e.journey} <= set(JOURNEY_IDS)


async def test_a_journey_is_answered_when_the_composer_has_one(dispatcher, domain, monkeypatch):
    import actions.life_events as module
    from dichvucong.knowledge.answers import Answer

    monkeypatch.setattr(module, "compose_journey", lambda journey, today=None: Answer(f"journey {journey}", []))
    tracker = make_tracker("ông nội em vừa mất", LIFE_EVENT_INTENT, _event("death"))
    events = await ActionLifeEvent().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["answer"] == "journey death"
    assert SlotSet("procedure", "khai_tu") in events


@pytest.mark.parametrize("text", ["kiem tra ho so ABC-123", "tra cứu hồ sơ số HS-2024-15 giúp tôi"])
def test_a_lookup_with_a_malformed_code_is_a_lookup(life_events, text):
    assert decide("out_of_scope", [], text, life_events, 0.66).intent == "check_dossier_status"


def test_a_code_like_word_without_a_lookup_is_not_one(life_events):
    assert decide("out_of_scope", [], "xe máy SH-150 giá bao nhiêu", life_events, 0.9).intent is None
