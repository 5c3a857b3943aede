from rasa_sdk.events import SlotSet

from actions.fallback import ActionClarify
from actions.handoff import ActionHandoff
from actions.procedures import ActionAnswerProcedure, ActionListServices
from tests.support.trackers import make_tracker, procedure_entity


async def test_answers_the_asked_topic_for_the_named_procedure(dispatcher, domain):
    tracker = make_tracker(
        "lệ phí đăng ký khai sinh", "ask_fee", [procedure_entity("khai_sinh")],
        slots={"procedure": "khai_sinh"},
    )
    events = await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    assert events == [
        SlotSet("procedure", "khai_sinh"),
        SlotSet("variants", []),
        SlotSet("pending_topic", None),
    ]
    [message] = dispatcher.messages
    assert message["response"] == "utter_procedure_answer"
    assert message["answer"].startswith("Lệ phí – ")
    assert "Nguồn:" in message["answer"]
    assert "kiểm tra lần cuối" in message["answer"]
    assert any(b["payload"].startswith("/ask_online_steps") for b in message["buttons"])


async def test_follow_up_without_a_procedure_uses_the_context(dispatcher, domain):
    tracker = make_tracker("còn lệ phí thì sao?", "ask_fee", slots={"procedure": "khai_sinh"})
    events = await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    assert SlotSet("procedure", "khai_sinh") in events
    assert dispatcher.messages[0]["answer"].startswith("Lệ phí – ")


async def test_without_any_procedure_the_bot_asks_which_with_buttons(dispatcher, domain):
    tracker = make_tracker("mất bao lâu", "ask_processing_time")
    events = await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    assert events == [
        SlotSet("procedure", None),
        SlotSet("variants", []),
        SlotSet("pending_topic", "processing_time"),
    ]
    [message] = dispatcher.messages
    assert message["response"] == "utter_which_procedure"
    assert len(message["buttons"]) == 12
    assert message["buttons"][0]["payload"] == '/inform{"procedure":"khai_sinh"}'


async def test_naming_the_procedure_answers_the_pending_question(dispatcher, domain):
    tracker = make_tracker(
        "khai sinh", "inform", [procedure_entity("khai_sinh")],
        slots={"procedure": "khai_sinh", "pending_topic": "processing_time"},
    )
    events = await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    assert SlotSet("pending_topic", None) in events
    assert dispatcher.messages[0]["answer"].startswith("Thời gian giải quyết – ")


async def test_two_procedures_in_one_question_are_clarified(dispatcher, domain):
    tracker = make_tracker(
        "đăng ký xe hay đổi bằng lái", "ask_where",
        [procedure_entity("dang_ky_xe"), procedure_entity("doi_gplx")],
        slots={"procedure": "doi_gplx"},
    )
    events = await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    assert SlotSet("pending_topic", "where") in events
    [message] = dispatcher.messages
    assert message["response"] == "utter_which_procedure"
    assert [b["payload"] for b in message["buttons"]] == [
        '/inform{"procedure":"doi_gplx"}',
        '/inform{"procedure":"dang_ky_xe"}',
    ]


async def test_variant_is_detected_and_kept_for_follow_ups(dispatcher, domain, kb):
    variant_ids = {v.id for v in kb.get("can_cuoc").variants}
    tracker = make_tracker(
        "làm căn cước cho con 10 tuổi cần gì", "ask_documents",
        [procedure_entity("can_cuoc")], slots={"procedure": "can_cuoc"},
    )
    events = await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    [variants] = [e["value"] for e in events if e["name"] == "variants"]
    assert variants and all(v.split(".")[1] in variant_ids for v in variants)

    follow_up = make_tracker(
        "còn làm online thế nào?", "ask_online_steps",
        slots={"procedure": "can_cuoc", "variants": variants},
    )
    events = await ActionAnswerProcedure().run(dispatcher, follow_up, domain)
    assert SlotSet("variants", variants) in events


async def test_variants_of_another_procedure_are_ignored(dispatcher, domain):
    tracker = make_tracker(
        "lệ phí", "ask_fee", slots={"procedure": "ket_hon", "variants": ["can_cuoc.cap_lai"]},
    )
    events = await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    assert SlotSet("variants", []) in events


async def test_list_services_offers_every_procedure(dispatcher, domain):
    await ActionListServices().run(dispatcher, make_tracker("menu", "list_services"), domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_procedure_answer"
    assert len(message["buttons"]) == 13


async def test_clarify_offers_the_likeliest_intents(dispatcher, domain):
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "ask_fee", "confidence": 0.4},
        {"name": "ask_processing_time", "confidence": 0.35},
        {"name": "greet", "confidence": 0.1},
    ]
    tracker = make_tracker(
        "cccd mất bao nhiêu lâu", "nlu_fallback", [procedure_entity("can_cuoc")], ranking=ranking
    )
    assert await ActionClarify().run(dispatcher, tracker, domain) == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_clarify"
    assert [b["payload"] for b in message["buttons"]] == [
        '/ask_fee{"procedure":"can_cuoc"}',
        '/ask_processing_time{"procedure":"can_cuoc"}',
        "/request_human",
    ]


async def test_clarify_without_candidates_falls_back_to_the_default(dispatcher, domain):
    tracker = make_tracker("asdfgh", "nlu_fallback", ranking=[{"name": "greet", "confidence": 0.2}])
    await ActionClarify().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_default"


async def test_handoff_gives_hotline_and_office(dispatcher, domain, tmp_path, monkeypatch):
    # The queue and the office hours are covered in tests/unit/test_actions_handoff.py.
    from actions import handoff
    from dichvucong.dossiers.store import migrate
    from dichvucong.handoff.queue import HandoffQueue

    url = f"sqlite:///{tmp_path / 'dossiers.db'}"
    migrate(url)
    monkeypatch.setattr(handoff, "queue", lambda: HandoffQueue(url))
    tracker = make_tracker("gặp nhân viên", "request_human", slots={"procedure": "can_cuoc"})
    await ActionHandoff().run(dispatcher, tracker, domain)
    text = dispatcher.messages[0]["answer"]
    assert "18001096" in text and "dichvucong@chinhphu.vn" in text
    assert "Thẻ căn cước" in text or "căn cước" in text.lower()
    assert "OTP" in text


async def test_answers_offer_a_rating(dispatcher, domain):
    tracker = make_tracker("lệ phí khai sinh", "ask_fee", [procedure_entity("khai_sinh")])
    await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads[-2:] == ['/rate_answer{"rating":"up"}', '/rate_answer{"rating":"down"}']


async def test_negative_rating_is_acknowledged_with_a_way_to_a_person(dispatcher, domain):
    from actions.feedback import ActionRateAnswer

    tracker = make_tracker("/rate_answer", "rate_answer", [{"entity": "rating", "value": "down"}])
    await ActionRateAnswer().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_thanks_negative_rating"


async def test_a_variant_button_answers_that_variant(dispatcher, domain):
    tracker = make_tracker(
        '/ask_fee{"procedure":"can_cuoc","variant":"cap_lai"}', "ask_fee",
        [procedure_entity("can_cuoc"), {"entity": "variant", "value": "cap_lai"}],
    )
    events = await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    assert SlotSet("variants", ["can_cuoc.cap_lai"]) in events
    assert dispatcher.messages[0]["answer"].startswith("Lệ phí – Thẻ căn cước: cấp lại")


async def test_full_details_come_as_several_short_messages_buttons_last(dispatcher, domain):
    tracker = make_tracker(
        '/ask_documents{"procedure":"can_cuoc","detail":"full"}', "ask_documents",
        [procedure_entity("can_cuoc"), {"entity": "detail", "value": "full"}],
    )
    await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    assert len(dispatcher.messages) >= 2
    assert all(len(m["answer"]) <= 1500 for m in dispatcher.messages)
    assert all(not m.get("buttons") for m in dispatcher.messages[:-1])
    assert dispatcher.messages[-1]["buttons"]


async def test_the_citizens_locality_names_their_office_first(dispatcher, domain):
    tracker = make_tracker(
        "làm căn cước ở đâu", "ask_where", [procedure_entity("can_cuoc")],
        slots={"locality": "Phường Ba Đình, Hà Nội"},
    )
    await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    second = dispatcher.messages[0]["answer"].splitlines()[1]
    assert "Công an phường Ba Đình" in second


async def test_without_a_locality_the_general_office_is_given(dispatcher, domain):
    tracker = make_tracker("làm căn cước ở đâu", "ask_where", [procedure_entity("can_cuoc")])
    await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    assert "Công an cấp xã" in dispatcher.messages[0]["answer"]


async def test_a_divided_old_ward_gets_a_button_per_new_ward(dispatcher, domain):
    tracker = make_tracker(
        "làm căn cước ở đâu", "ask_where", [procedure_entity("can_cuoc")],
        slots={"locality": "Phường Đa Kao, Quận 1, Thành phố Hồ Chí Minh"},
    )
    await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    titles = [b["title"] for b in dispatcher.messages[-1]["buttons"]]
    assert any("Tân Định" in t for t in titles) and any("Sài Gòn" in t for t in titles)
    assert "Bạn cho biết mình thuộc phường, xã mới nào" in dispatcher.messages[0]["answer"]


async def test_two_procedures_joined_by_and_get_both_answers(dispatcher, domain):
    tracker = make_tracker(
        "Lệ phí đăng ký thường trú và tạm trú?", "ask_fee",
        [procedure_entity("thuong_tru"), procedure_entity("tam_tru")],
    )
    events = await ActionAnswerProcedure().run(dispatcher, tracker, domain)
    answers = [m["answer"] for m in dispatcher.messages]
    assert len(answers) == 2
    assert "thường trú" in answers[0].splitlines()[0].lower()
    assert "tạm trú" in answers[1].splitlines()[0].lower()
    assert not dispatcher.messages[0].get("buttons") and dispatcher.messages[1]["buttons"]
    assert SlotSet("procedure", None) in events
