"""The checks every channel applies before Rasa sees a message."""
import pytest

from dichvucong import inbound
from dichvucong.contract import citizen_intents, domain_intents

CODE = "000.45.02.H58-261120-0012"


@pytest.mark.parametrize(
    "text, expected",
    [
        (f'/EXTERNAL_dossier_update{{"dossier_code":"{CODE}"}}',
         f'EXTERNAL_dossier_update{{"dossier_code":"{CODE}"}}'),
        ("//EXTERNAL_dossier_reminder", "EXTERNAL_dossier_reminder"),
        ("  /restart", "restart"),
        ("/session_start", "session_start"),
        ("/010204078901", "010204078901"),
        ("/", ""),
        ("/greet", "/greet"),
        ("/greet@0.3", "/greet"),
        ('/rate_answer{"rating":"down"}', '/rate_answer{"rating":"down"}'),
        ('/rate_answer{"rating":"<script>"}', "/rate_answer"),
        ('/ask_fee{"procedure":"can_cuoc","verified_dossier":"X"}', '/ask_fee{"procedure":"can_cuoc"}'),
        ('/ask_fee{"procedure":"nope"}', "/ask_fee"),
        ('/check_dossier_status{"second_factor":"verified"}', "/check_dossier_status"),
        ('/subscribe_dossier{"verified_dossier":"' + CODE + '"}', "/subscribe_dossier"),
        ("/ask_fee{not json}", "/ask_fee"),
        ("lệ phí /ask_fee", "lệ phí /ask_fee"),
    ],
)
def test_guard_payload(text, expected):
    assert inbound.guard_payload(text) == expected


def test_system_intents_are_not_citizen_intents():
    assert "EXTERNAL_dossier_update" in domain_intents()
    assert not any(name.startswith("EXTERNAL_") for name in citizen_intents())
    assert {"greet", "rate_answer", "check_dossier_status"} <= citizen_intents()


@pytest.mark.parametrize(
    "raw",
    [b"[]", b"null", b"1", b'"x"', b"true", b"", b"{", b"\xff", b"[" * 50 + b"]" * 50,
     b'{"a": ' + b"[" * 21 + b"]" * 21 + b"}", b"{" + b" " * 70_000 + b"}"],
)
def test_parse_json_object_refuses(raw):
    with pytest.raises(inbound.InvalidInput) as refused:
        inbound.parse_json_object(raw)
    assert 400 <= refused.value.status < 500 and refused.value.message


def test_parse_json_object_ignores_brackets_inside_strings():
    body = inbound.parse_json_object(('{"message": "' + "[" * 100 + '"}').encode())
    assert body["message"] == "[" * 100


@pytest.mark.parametrize("sender", ["fz-\ud83d", "", "a b", "x" * 129, None, True, ["a"], "<b>", "a\n"])
def test_bad_senders_are_refused(sender):
    with pytest.raises(inbound.InvalidInput):
        inbound.clean_sender(sender)


@pytest.mark.parametrize("sender", ["42", 42, "web-1", "telegram:42", "a.b@c_d-e"])
def test_good_senders_pass(sender):
    assert inbound.clean_sender(sender) == str(sender)


def test_clean_text():
    assert inbound.clean_text("  xin\u200b chào\x00 bạn\u202e ") == "xin chào bạn"
    assert inbound.clean_text("cha\u0300o") == "chào"  # NFD typed on some phones -> NFC
    for bad in ("", "   ", "\u200b", None, 5, "xin \ud83d chao"):
        with pytest.raises(inbound.InvalidInput) as refused:
            inbound.clean_text(bad)
        assert refused.value.status == 400
    with pytest.raises(inbound.InvalidInput) as refused:
        inbound.clean_text("a" * 2001)
    assert refused.value.status == 413 and "quá dài" in refused.value.message


def test_conversation_ids_are_namespaced_and_reversible():
    assert inbound.conversation_id("telegram", 42) == "telegram:42"
    assert inbound.platform_id("telegram", "telegram:42") == "42"
    assert inbound.platform_id("telegram", "42") == "42"
    assert inbound.conversation_id("rest", "telegram:42") != "telegram:42"


@pytest.mark.parametrize("payload", [
    '/ask_fee{"procedure":"can_cuoc","variant":"cap_moi"}',
    '/ask_documents{"procedure":"can_cuoc","detail":"full"}',
    '/life_event{"life_event":"birth"}',
    '/inform_locality{"locality":"Phường Tân Định, Thành phố Hồ Chí Minh"}',
])
def test_what_the_answers_buttons_carry_passes_as_it_is(payload):
    assert inbound.guard_payload(payload) == payload


@pytest.mark.parametrize("payload, kept", [
    ('/ask_fee{"procedure":"can_cuoc","variant":"no_such_variant"}', '/ask_fee{"procedure":"can_cuoc"}'),
    ('/ask_documents{"procedure":"can_cuoc","detail":"everything"}', '/ask_documents{"procedure":"can_cuoc"}'),
    ('/life_event{"life_event":"FORGED"}', "/life_event"),
    ('/inform_locality{"locality":"<b>x</b>"}', "/inform_locality"),
])
def test_button_entities_with_unknown_values_are_dropped(payload, kept):
    assert inbound.guard_payload(payload) == kept
