"""Dossier lookup actions on a real SQLite store, with rasa-sdk trackers."""
import pytest
from rasa_sdk.events import SlotSet

import actions.dossier_lookup as lookup
from bot.cli.dossiers import DEMO_CSV
from dichvucong.dossiers import DossierRepository, migrate
from dichvucong.dossiers.csv_import import import_csv
from tests.support.trackers import make_tracker, rendered, response_text

SUPPLEMENT = "000.45.02.H58-261120-0012"  # id ...4567, phone 0356789103


@pytest.fixture
def repo(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'dossiers.db'}"
    migrate(url)
    repository = DossierRepository.from_url(url)
    import_csv(repository, DEMO_CSV)
    monkeypatch.setattr(lookup, "repository", lambda: repository)
    yield repository
    repository.dispose()


def form_tracker(text, requested, **slots):
    return make_tracker(text, "inform", slots={"requested_slot": requested, **slots})


def answers(dispatcher):
    return "\n".join(rendered(m) for m in dispatcher.messages)


async def test_sloppy_code_is_normalised(repo, dispatcher, domain):
    form = lookup.ValidateDossierStatusForm()
    result = await form.validate_dossier_code(
        "hồ sơ 000.45.02.h58 - 261120 - 0012 ạ", dispatcher, form_tracker("", "dossier_code"), domain
    )
    assert result == {"dossier_code": SUPPLEMENT}
    assert dispatcher.messages == []


async def test_malformed_code_is_rejected_with_an_example(repo, dispatcher, domain):
    form = lookup.ValidateDossierStatusForm()
    result = await form.validate_dossier_code("HS-2024-1", dispatcher, form_tracker("", "dossier_code"), domain)
    assert result == {"dossier_code": None}
    assert "000.00.15.H10-261120-0012" in answers(dispatcher)


async def test_right_digits_verify_without_keeping_them(repo, dispatcher, domain):
    form = lookup.ValidateDossierStatusForm()
    tracker = form_tracker("4567", "second_factor", dossier_code=SUPPLEMENT)
    result = await form.validate_second_factor("4567", dispatcher, tracker, domain)
    assert result == {"second_factor": "verified", "verified_dossier": SUPPLEMENT}


async def test_wrong_digits_get_a_neutral_reply_then_lock(repo, dispatcher, domain):
    form = lookup.ValidateDossierStatusForm()
    tracker = form_tracker("0000", "second_factor", dossier_code=SUPPLEMENT)
    for _ in range(2):
        result = await form.validate_second_factor("0000", dispatcher, tracker, domain)
        assert result == {"second_factor": None}  # the code stays: retype only the digits
    assert answers(dispatcher).count(response_text("utter_lookup_failed")) == 2
    result = await form.validate_second_factor("0000", dispatcher, tracker, domain)
    assert result["lookup_locked"] is True
    assert "tạm khóa" in rendered(dispatcher.messages[-1])


async def test_not_four_digits_is_not_counted_as_a_failure(repo, dispatcher, domain):
    form = lookup.ValidateDossierStatusForm()
    tracker = form_tracker("45", "second_factor", dossier_code=SUPPLEMENT)
    assert await form.validate_second_factor("45", dispatcher, tracker, domain) == {"second_factor": None}
    assert repo.check_locked([lookup.conversation_key("test-user")]) is None


async def test_a_verified_shared_phone_counts_as_the_second_factor(repo, dispatcher, domain):
    form = lookup.ValidateDossierStatusForm()
    tracker = form_tracker("", "second_factor", dossier_code=SUPPLEMENT)
    result = await form.validate_second_factor("phone:+84356789103", dispatcher, tracker, domain)
    assert result["verified_dossier"] == SUPPLEMENT


async def test_status_answer_is_masked_and_offers_notifications(repo, dispatcher, domain):
    tracker = make_tracker(
        "4567", "inform", slots={"verified_dossier": SUPPLEMENT, "second_factor": "verified"}
    )
    events = await lookup.ActionDossierStatus().run(dispatcher, tracker, domain)
    assert events == [
        SlotSet("dossier_code", None), SlotSet("second_factor", None), SlotSet("lookup_locked", None)
    ]
    [message] = dispatcher.messages
    assert message["response"] == "utter_dossier_status"
    assert "Trần T. B. N." in message["answer"] and "Trần Thị Bích Ngọc" not in message["answer"]
    assert "Chờ bổ sung" in message["answer"]
    assert message["buttons"][0]["payload"] == "/subscribe_dossier"


async def test_no_status_without_verification(repo, dispatcher, domain):
    tracker = make_tracker("x", "inform", slots={"verified_dossier": None})
    await lookup.ActionDossierStatus().run(dispatcher, tracker, domain)
    assert dispatcher.messages == []


async def test_subscribe_requires_a_verified_lookup(repo, dispatcher, domain):
    await lookup.ActionSubscribeDossier().run(dispatcher, make_tracker("theo dõi", "subscribe_dossier"), domain)
    assert "tra cứu hồ sơ" in answers(dispatcher)
    assert repo.subscribers(SUPPLEMENT) == []


async def test_subscribe_and_unsubscribe(repo, dispatcher, domain):
    tracker = make_tracker("theo dõi", "subscribe_dossier", slots={"verified_dossier": SUPPLEMENT})
    await lookup.ActionSubscribeDossier().run(dispatcher, tracker, domain)
    [subscription] = repo.subscribers(SUPPLEMENT)
    assert (subscription.channel, subscription.recipient_id) == ("webchat", "test-user")
    await lookup.ActionUnsubscribeDossier().run(dispatcher, tracker, domain)
    assert repo.subscribers(SUPPLEMENT) == []


def notice_tracker(**kwargs):
    return make_tracker(
        "EXTERNAL: EXTERNAL_dossier_reminder", "EXTERNAL_dossier_reminder",
        [{"entity": "dossier_code", "value": SUPPLEMENT}, {"entity": "reminder", "value": "stalled"}],
        **kwargs,
    )


async def test_notice_is_composed_from_the_store(repo, dispatcher, domain):
    repo.subscribe(SUPPLEMENT, "webchat", "test-user")
    await lookup.ActionNotifyDossierUpdate().run(
        dispatcher, notice_tracker(metadata={"is_external": True}), domain
    )
    [message] = dispatcher.messages
    assert message["response"] == "utter_dossier_status"
    assert "chưa có bước xử lý mới" in message["answer"]
    assert "OTP" in message["answer"]


async def test_a_typed_system_payload_gets_no_notice(repo, dispatcher, domain):
    # Even for a subscriber: only the Rasa API marks an intent as external.
    repo.subscribe(SUPPLEMENT, "webchat", "test-user")
    await lookup.ActionNotifyDossierUpdate().run(dispatcher, notice_tracker(), domain)
    assert dispatcher.messages == []


async def test_a_notice_reaches_subscribers_only(repo, dispatcher, domain):
    await lookup.ActionNotifyDossierUpdate().run(
        dispatcher, notice_tracker(metadata={"is_external": True}), domain
    )
    assert dispatcher.messages == []


async def test_a_vouched_phone_counts_only_from_telegram(repo, dispatcher, domain):
    form = lookup.ValidateDossierStatusForm()
    forged = {"verified_phone": "+84356789103"}
    for channel, sender in (("rest", "rest:telegram:1"), ("webchat", "webchat:1"),
                            ("rest", "telegram:1")):
        tracker = make_tracker("xin chào", "inform", slots={"requested_slot": "second_factor"},
                               metadata=forged, sender_id=sender, input_channel=channel)
        assert await form.extract_second_factor(dispatcher, tracker, domain) == {
            "second_factor": "xin chào"
        }
    tracker = make_tracker("số điện thoại của tôi", "check_dossier_status",
                           slots={"requested_slot": "second_factor"}, metadata=forged,
                           sender_id="telegram:1", input_channel="telegram")
    assert await form.extract_second_factor(dispatcher, tracker, domain) == {
        "second_factor": "phone:+84356789103"
    }


async def test_after_a_wrong_factor_the_digits_alone_are_read_as_the_factor(repo, dispatcher, domain):
    form = lookup.ValidateDossierStatusForm()
    tracker = form_tracker("4567", "second_factor", dossier_code=SUPPLEMENT)
    assert await form.extract_dossier_code(dispatcher, tracker, domain) == {}
    assert await form.extract_second_factor(dispatcher, tracker, domain) == {"second_factor": "4567"}


async def test_after_a_wrong_factor_a_retyped_code_replaces_the_code(repo, dispatcher, domain):
    form = lookup.ValidateDossierStatusForm()
    other = "000.00.09.H17-261116-0018"
    tracker = form_tracker(f"mã đúng là {other}", "second_factor", dossier_code=SUPPLEMENT)
    assert await form.extract_dossier_code(dispatcher, tracker, domain) == {"dossier_code": other}
    assert await form.extract_second_factor(dispatcher, tracker, domain) == {}


async def test_unknown_code_and_wrong_digits_keep_the_same_reply_and_count(repo, dispatcher, domain):
    form = lookup.ValidateDossierStatusForm()
    unknown = "000.99.99.H99-261101-9999"
    replies = []
    for code, digits in ((SUPPLEMENT, "0000"), (unknown, "4567")):
        tracker = form_tracker(digits, "second_factor", dossier_code=code)
        result = await form.validate_second_factor(digits, dispatcher, tracker, domain)
        assert result == {"second_factor": None}
        replies.append(rendered(dispatcher.messages[-1]))
    assert replies[0] == replies[1]
    tracker = form_tracker("1111", "second_factor", dossier_code=SUPPLEMENT)
    result = await form.validate_second_factor("1111", dispatcher, tracker, domain)
    assert result["lookup_locked"] is True  # three failures in this conversation, as before


@pytest.mark.parametrize("text", ["kiem tra ho so ABC-123", "tra cứu hồ sơ số HS-2024-15 giúp tôi"])
async def test_a_malformed_code_in_the_request_gets_the_format_help(repo, dispatcher, domain, text):
    form = lookup.ValidateDossierStatusForm()
    tracker = make_tracker(text, "check_dossier_status", slots={"requested_slot": None})
    extracted = await form.extract_dossier_code(dispatcher, tracker, domain)
    assert extracted["dossier_code"] in text
    result = await form.validate_dossier_code(extracted["dossier_code"], dispatcher, tracker, domain)
    assert result == {"dossier_code": None}
    assert "chưa đúng định dạng" in answers(dispatcher)
