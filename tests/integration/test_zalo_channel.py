"""Zalo OA channel: webhook authentication, events, outgoing messages, tokens, and the
whole assistant answering through a local fake of Zalo's APIs (tests/support/fake_zalo.py)."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import stat
import time
import unicodedata
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa.shared.core.events import BotUttered, UserUttered

from bot.channels import zalo
from bot.channels.common import RecentKeys
from bot.channels.zalo import (
    MORE_CHOICES_TEXT,
    TEXT_ONLY_REPLY,
    ZaloInput,
    ZaloOutput,
    ZaloTokenManager,
    authenticate,
    choice_from_events,
    compose_messages,
    compute_mac,
    split_text,
)
from dichvucong import inbound
from dichvucong.dossiers.store import migrate
from tests.support.fake_zalo import FakeZalo

APP_ID = "1234567890123456789"
OA_SECRET = "oa-secret-key-from-webhook-page"
APP_SECRET = "fake-app-secret"


def now_ms() -> int:
    return int(time.time() * 1000)


def event_text(user: str, text: str, msg_id: Optional[str] = None, **extra: Any) -> Dict[str, Any]:
    event = {
        "app_id": APP_ID,
        "user_id_by_app": "552177279717587730",
        "event_name": "user_send_text",
        "timestamp": str(now_ms()),
        "sender": {"id": user},
        "recipient": {"id": "388613280878808645"},
        "message": {"msg_id": msg_id or f"msg-{os.urandom(6).hex()}", "text": text},
    }
    event.update(extra)
    return event


def event_of(name: str, user: str, **extra: Any) -> Dict[str, Any]:
    event = {
        "app_id": APP_ID,
        "event_name": name,
        "timestamp": str(now_ms()),
        "sender": {"id": user},
        "recipient": {"id": "388613280878808645"},
        "message": {"msg_id": f"msg-{os.urandom(6).hex()}"},
    }
    event.update(extra)
    return event


def event_follow(user: str) -> Dict[str, Any]:
    return {
        "app_id": APP_ID,
        "event_name": "follow",
        "timestamp": str(now_ms()),
        "oa_id": "388613280878808645",
        "follower": {"id": user},
        "source": "oa_profile",
    }


def signed(event: Dict[str, Any], secret: str = OA_SECRET) -> tuple:
    # ensure_ascii=False: Zalo sends UTF-8, and the MAC covers those exact bytes.
    raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
    return raw, "mac=" + compute_mac(APP_ID, raw, str(event["timestamp"]), secret)


# ---------------------------------------------------------------- signature


def test_a_correctly_signed_event_is_accepted():
    raw, header = signed(event_text("u1", "xin chào"))
    status, event, _ = authenticate(raw, header, APP_ID, OA_SECRET)
    assert status == 200 and event["message"]["text"] == "xin chào"


def test_mac_is_plain_sha256_of_app_id_body_timestamp_secret():
    raw = b'{"timestamp":"1718000000000"}'
    expected = hashlib.sha256(APP_ID.encode() + raw + b"1718000000000" + OA_SECRET.encode())
    assert compute_mac(APP_ID, raw, "1718000000000", OA_SECRET) == expected.hexdigest()


@pytest.mark.parametrize(
    "secret", ["another-oa-secret", APP_SECRET], ids=["wrong key", "app secret instead of OA secret"]
)
def test_a_signature_with_another_key_is_refused(secret):
    raw, header = signed(event_text("u1", "xin chào"), secret=secret)
    assert authenticate(raw, header, APP_ID, OA_SECRET)[0] == 401


def test_an_hmac_signature_is_refused():
    event = event_text("u1", "xin chào")
    raw = json.dumps(event).encode()
    digest = hmac.new(OA_SECRET.encode(), APP_ID.encode() + raw + event["timestamp"].encode(),
                      hashlib.sha256).hexdigest()
    assert authenticate(raw, "mac=" + digest, APP_ID, OA_SECRET)[0] == 401


@pytest.mark.parametrize("header", [None, "", "mac=", "sha256=abc", "deadbeef"])
def test_a_missing_or_malformed_signature_is_refused(header):
    raw, _ = signed(event_text("u1", "xin chào"))
    assert authenticate(raw, header, APP_ID, OA_SECRET)[0] == 401


@pytest.mark.parametrize("offset_ms", [-301_000, 301_000, -3_600_000])
def test_a_stale_or_future_timestamp_is_refused_even_when_signed(offset_ms):
    event = event_text("u1", "xin chào")
    event["timestamp"] = str(now_ms() + offset_ms)
    raw, header = signed(event)
    assert authenticate(raw, header, APP_ID, OA_SECRET, max_skew_seconds=300)[0] == 401


@pytest.mark.parametrize("minutes", [0.5, 5.5, 20.5, 40, 50.5, 110.5])
def test_zalos_retries_with_the_original_timestamp_fit_the_default_window(minutes):
    # Zalo retries after 30 s, 5, 15, 30 and 60 minutes, keeping the first timestamp.
    event = event_text("u1", "xin chào")
    event["timestamp"] = str(now_ms() - int(minutes * 60_000))
    raw, header = signed(event)
    assert zalo.DEFAULT_MAX_SKEW_SECONDS == 7200
    assert authenticate(raw, header, APP_ID, OA_SECRET)[0] == 200


@pytest.mark.parametrize("offset_ms", [-7_260_000, 7_260_000, -86_400_000])
def test_beyond_two_hours_a_signed_event_is_refused_by_default(offset_ms):
    event = event_text("u1", "xin chào")
    event["timestamp"] = str(now_ms() + offset_ms)
    raw, header = signed(event)
    assert authenticate(raw, header, APP_ID, OA_SECRET)[0] == 401


def test_a_missing_or_non_numeric_timestamp_is_refused():
    for timestamp in (None, "hôm qua", True):
        event = event_text("u1", "xin chào")
        event["timestamp"] = timestamp
        raw = json.dumps(event).encode()
        header = "mac=" + compute_mac(APP_ID, raw, str(timestamp), OA_SECRET)
        assert authenticate(raw, header, APP_ID, OA_SECRET)[0] == 401


def test_a_re_serialised_body_no_longer_matches_its_signature():
    raw, header = signed(event_text("u1", "lệ phí làm căn cước"))
    reserialised = json.dumps(json.loads(raw)).encode()  # ASCII escapes instead of UTF-8
    assert reserialised != raw
    assert authenticate(reserialised, header, APP_ID, OA_SECRET)[0] == 401
    spaced = json.dumps(json.loads(raw), ensure_ascii=False, indent=1).encode()
    assert authenticate(spaced, header, APP_ID, OA_SECRET)[0] == 401


def test_malformed_json_is_a_bad_request():
    assert authenticate(b"{not json", "mac=00", APP_ID, OA_SECRET)[0] == 400
    assert authenticate(b"[1, 2]", "mac=00", APP_ID, OA_SECRET)[0] == 400


@pytest.mark.parametrize(
    "raw",
    [b"[" * 20_000 + b"]" * 20_000, b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
     b"\xff\xfe\x00{}", b"", b"null", '{"text": "\ud800"}'.encode("utf-8", "surrogatepass")],
    ids=["nested list", "nested in object", "not utf-8", "empty", "null", "raw surrogate"],
)
def test_a_deeply_nested_or_undecodable_body_is_a_client_error_not_a_crash(raw):
    status, event, _ = authenticate(raw, "mac=00", APP_ID, OA_SECRET)
    assert status == 400 and event is None


def test_an_oversized_body_is_refused():
    raw = json.dumps({"timestamp": str(now_ms()), "pad": "x" * 100_000}).encode()
    assert authenticate(raw, "mac=00", APP_ID, OA_SECRET)[0] == 413


def test_an_upper_case_mac_is_accepted():
    raw, header = signed(event_text("u1", "xin chào"))
    assert authenticate(raw, "mac=" + header[4:].upper(), APP_ID, OA_SECRET)[0] == 200


# ---------------------------------------------------------------- duplicates


async def test_a_repeated_msg_id_is_a_duplicate(tmp_path):
    channel = make_channel(tmp_path)
    event = event_text("u1", "xin chào", msg_id="m-1")
    assert not await channel.is_duplicate(event)
    assert await channel.is_duplicate(dict(event, timestamp=str(now_ms() + 5)))
    assert not await channel.is_duplicate(event_text("u1", "xin chào", msg_id="m-2"))
    follow = event_follow("u1")
    assert not await channel.is_duplicate(follow) and await channel.is_duplicate(follow)
    assert not await channel.is_duplicate(event_of("oa_send_text", "oa"))


def test_the_duplicate_cache_forgets_after_its_ttl_and_stays_bounded():
    cache = RecentKeys(size=3, ttl=10)
    assert not cache.seen("a", now=0) and cache.seen("a", now=5)
    assert not cache.seen("a", now=11)
    for key in "bcde":
        cache.seen(key, now=12)
    assert len(cache) <= 3


# ---------------------------------------------------------------- the webhook: URL check,
# verify-only mode, replays across instances


async def webhook(channel: ZaloInput, raw: bytes, signature: Optional[str], received: list):
    """One webhook request through the channel, its background turn finished."""
    async def on_new_message(message):
        received.append(message)

    answer = await channel.webhook(raw, signature, on_new_message)
    await channel._turns.drain()
    return answer


def quiet_channel(tmp_path: Path, **kwargs: Any) -> ZaloInput:
    channel = make_channel(tmp_path, **kwargs)
    channel.output = RecordingOutput()
    return channel


def migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'shared-dossiers.db'}"
    migrate(url)
    return url


@pytest.mark.parametrize("raw", [b"{}", b" { }\n"])
async def test_zalos_unsigned_url_check_gets_200_and_nothing_else(tmp_path, raw):
    channel, received = quiet_channel(tmp_path), []
    assert await webhook(channel, raw, None, received) == (200, {"status": "ok"})
    assert await webhook(channel, raw, "", received) == (200, {"status": "ok"})
    assert received == [] and channel.output.sent == [] and len(channel.seen.recent) == 0


@pytest.mark.parametrize(
    "raw, signature",
    [(b"{}", "mac=00"), (b'{"timestamp": "1"}', None), (b'{"a": {}}', None), (b"[]", None),
     (b"", None), (b"null", None)],
    ids=["signed {}", "timestamp only", "nested", "list", "empty", "null"],
)
async def test_every_other_unsigned_or_wrongly_signed_request_is_still_refused(
    tmp_path, raw, signature
):
    channel, received = quiet_channel(tmp_path), []
    assert (await webhook(channel, raw, signature, received))[0] == 401
    assert received == []


async def test_without_the_oa_secret_key_only_the_url_check_is_answered(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    channel, received = quiet_channel(tmp_path, oa_secret_key=None), []
    assert channel.verify_only
    assert "verify-only mode: add ZALO_OA_SECRET_KEY and restart" in caplog.text  # at start
    caplog.clear()
    assert await webhook(channel, b"{}", None, received) == (200, {"status": "ok"})
    # Signed with the real key, with an empty key (which anyone could do), or not at all.
    for secret in (OA_SECRET, ""):
        raw, header = signed(event_text("u1", "xin chào"), secret=secret)
        assert (await webhook(channel, raw, header, received))[0] == 401
    assert (await webhook(channel, b'{"timestamp": "1"}', None, received))[0] == 401
    assert "verify-only mode: add ZALO_OA_SECRET_KEY and restart" in caplog.text
    assert received == [] and channel.output.sent == []


@pytest.mark.parametrize("key", [None, "", "  "])
def test_credentials_without_the_oa_secret_key_start_in_verify_only_mode(tmp_path, key, caplog):
    credentials = {"app_id": APP_ID, "access_token": "a", "token_file": str(tmp_path / "t.json"),
                   "database_url": f"sqlite:///{tmp_path / 'd.db'}"}
    if key is not None:
        credentials["oa_secret_key"] = key
    assert ZaloInput.from_credentials(credentials).verify_only
    assert "verify-only mode" in caplog.text
    credentials["oa_secret_key"] = OA_SECRET
    assert not ZaloInput.from_credentials(credentials).verify_only


async def test_a_40_minute_old_retry_with_a_valid_mac_is_accepted(tmp_path):
    channel, received = quiet_channel(tmp_path, database_url=migrated(tmp_path)), []
    event = event_text("u1", "lệ phí làm căn cước")
    event["timestamp"] = str(now_ms() - 40 * 60_000)
    assert await webhook(channel, *signed(event), received) == (200, {"status": "accepted"})
    assert [m.text for m in received] == ["lệ phí làm căn cước"]


async def test_an_event_replayed_after_the_channel_is_recreated_is_ignored(tmp_path):
    url, received = migrated(tmp_path), []
    raw, header = signed(event_text("u1", "lệ phí làm căn cước", msg_id="restart-1"))
    before = quiet_channel(tmp_path, database_url=url)
    assert await webhook(before, raw, header, received) == (200, {"status": "accepted"})
    after = quiet_channel(tmp_path, database_url=url)  # a restart: nothing in memory
    assert await webhook(after, raw, header, received) == (200, {"status": "duplicate"})
    assert len(received) == 1


async def test_two_replicas_receiving_one_event_at_once_accept_it_once(tmp_path):
    url, received = migrated(tmp_path), []
    raw, header = signed(event_text("u1", "lệ phí làm căn cước", msg_id="race-1"))
    replicas = [quiet_channel(tmp_path, database_url=url) for _ in range(2)]
    answers = await asyncio.gather(*(webhook(r, raw, header, received) for r in replicas))
    assert sorted(a[1]["status"] for a in answers) == ["accepted", "duplicate"]
    assert len(received) == 1


async def test_an_event_without_msg_id_sent_twice_is_handled_once(tmp_path):
    url, received = migrated(tmp_path), []
    event = event_text("u1", "lệ phí làm căn cước")
    del event["message"]["msg_id"]
    raw, header = signed(event)
    assert await webhook(quiet_channel(tmp_path, database_url=url), raw, header, received) == \
        (200, {"status": "accepted"})
    assert await webhook(quiet_channel(tmp_path, database_url=url), raw, header, received) == \
        (200, {"status": "duplicate"})
    # The same words at another time are another message.
    later = json.loads(raw)
    later["timestamp"] = str(int(later["timestamp"]) + 1000)
    assert (await webhook(quiet_channel(tmp_path, database_url=url), *signed(later), received))[1] \
        == {"status": "accepted"}
    assert len(received) == 2


def test_events_without_msg_id_are_keyed_on_name_sender_text_and_timestamp():
    event = event_text("u1", "xin chào")
    del event["message"]["msg_id"]
    key = zalo.input.delivery_key(event)
    content = "\x1f".join(["user_send_text", "u1", "xin chào", event["timestamp"]])
    assert key == "event:" + hashlib.sha256(content.encode()).hexdigest()
    assert zalo.input.delivery_key(dict(event, sender={"id": "u2"})) != key
    assert zalo.input.delivery_key(event_text("u1", "x", msg_id="m-7")) == "msg:m-7"


async def test_without_the_delivery_table_the_event_is_still_handled_and_repeats_caught(
    tmp_path, caplog
):
    channel, received = quiet_channel(tmp_path), []  # its database was never migrated
    raw, header = signed(event_text("u1", "xin chào", msg_id="no-table-1"))
    assert await webhook(channel, raw, header, received) == (200, {"status": "accepted"})
    assert await webhook(channel, raw, header, received) == (200, {"status": "duplicate"})
    other = signed(event_text("u1", "lệ phí", msg_id="no-table-2"))
    assert (await webhook(channel, *other, received))[1] == {"status": "accepted"}
    assert len(received) == 2
    warnings = [r for r in caplog.records if "delivery store unavailable" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


async def test_an_unreachable_database_never_delays_the_answer_past_zalos_deadline(tmp_path):
    class Hanging:
        def first_time(self, *args):
            time.sleep(1)

    channel, received = quiet_channel(tmp_path, deliveries=Hanging()), []
    channel.seen.timeout = 0.2
    raw, header = signed(event_text("u1", "xin chào", msg_id="slow-1"))
    started = time.monotonic()
    assert await webhook(channel, raw, header, received) == (200, {"status": "accepted"})
    assert time.monotonic() - started < 2 and len(received) == 1


# ---------------------------------------------------------------- event routing


class RecordingOutput(ZaloOutput):
    def __init__(self):
        self.sent: List[tuple] = []

    async def send_text_message(self, recipient_id, text, **kwargs):
        self.sent.append((recipient_id, text))


def make_channel(tmp_path: Path, **kwargs: Any) -> ZaloInput:
    # The delivery store is the test's own file (not migrated unless a test
    # migrates it: the channel then falls back to its memory), never var/.
    options = dict(
        app_id=APP_ID, oa_secret_key=OA_SECRET, access_token="access-0",
        refresh_token="refresh-0", app_secret=APP_SECRET, token_file=str(tmp_path / "token.json"),
        database_url=f"sqlite:///{tmp_path / 'deliveries.db'}",
    )
    options.update(kwargs)
    return ZaloInput(**options)


async def route(tmp_path, event, agent=None):
    channel = make_channel(tmp_path)
    channel.output = RecordingOutput()
    received = []

    async def on_new_message(message):
        received.append(message)

    await channel.process(event, on_new_message, agent)
    return received, channel.output.sent


async def test_text_goes_to_rasa_normalised_with_the_zalo_id_as_a_string(tmp_path):
    decomposed = unicodedata.normalize("NFD", "  lệ phí   làm căn cước ")
    # The id is a bare JSON number larger than 2**53: it must come out digit for digit.
    raw = (f'{{"app_id":"{APP_ID}","event_name":"user_send_text","timestamp":"{now_ms()}",'
           f'"sender":{{"id":2468458835296117922}},"message":{{"msg_id":"m9","text":"{decomposed}"}}}}')
    received, sent = await route(tmp_path, json.loads(raw))
    assert [m.text for m in received] == ["lệ phí làm căn cước"]
    message = received[0]
    assert message.sender_id == "zalo:2468458835296117922"
    assert message.input_channel == "zalo" and message.output_channel.name() == "zalo"
    assert message.message_id == "m9"
    assert not sent


async def test_follow_greets_the_new_follower(tmp_path):
    received, _ = await route(tmp_path, event_follow("f-1"))
    assert [(m.text, m.sender_id) for m in received] == [("/greet", "zalo:f-1")]


async def test_unfollow_is_only_logged(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="bot.channels.zalo"):
        received, sent = await route(tmp_path, dict(event_follow("f-1"), event_name="unfollow"))
    assert not received and not sent and "unfollowed" in caplog.text


@pytest.mark.parametrize("name", sorted(zalo.NON_TEXT_EVENTS))
async def test_non_text_messages_get_a_polite_text_only_reply_without_rasa(tmp_path, name):
    received, sent = await route(tmp_path, event_of(name, "u-img"))
    assert not received
    assert sent == [("u-img", TEXT_ONLY_REPLY)]


@pytest.mark.parametrize(
    "name", ["oa_send_text", "oa_send_image", "user_received_message", "user_seen_message"]
)
async def test_echoes_and_receipts_are_ignored(tmp_path, name):
    assert await route(tmp_path, event_of(name, "u1")) == ([], [])


async def test_unknown_events_are_ignored_with_a_log_line(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="bot.channels.zalo"):
        assert await route(tmp_path, event_of("user_submit_info", "u1")) == ([], [])
    assert "user_submit_info" in caplog.text


async def test_an_over_long_message_is_answered_without_rasa(tmp_path):
    received, sent = await route(tmp_path, event_text("u1", "a" * 5000))
    assert not received and "quá dài" in sent[0][1]


SYSTEM_PAYLOADS = [
    '/EXTERNAL_dossier_update{"dossier_code":"000.45.02.H58-261120-0012"}',
    '/EXTERNAL_dossier_reminder{"dossier_code":"000.45.02.H58-261120-0012","reminder":"overdue"}',
]


@pytest.mark.parametrize("payload", SYSTEM_PAYLOADS)
async def test_a_typed_system_intent_payload_reaches_rasa_as_words(tmp_path, payload):
    received, sent = await route(tmp_path, event_text("u1", payload))
    [message] = received
    assert not message.text.startswith("/") and "EXTERNAL_" in message.text
    assert message.sender_id == "zalo:u1" and not sent


async def test_a_citizen_payload_passes_in_canonical_form(tmp_path):
    received, _ = await route(
        tmp_path, event_text("u1", '/ask_fee{"procedure":"khai_sinh","dossier_code":"x"}')
    )
    assert [m.text for m in received] == ['/ask_fee{"procedure":"khai_sinh"}']


@pytest.mark.parametrize(
    "text, reply",
    [("lệ phí \ud800", inbound.BAD_TEXT), ("\u200b\ufeff", inbound.EMPTY)],
    ids=["lone surrogate", "invisible only"],
)
async def test_a_refused_text_gets_its_polite_reply(tmp_path, text, reply):
    received, sent = await route(tmp_path, event_text("u1", text))
    assert not received and sent == [("u1", reply)]


@pytest.mark.parametrize(
    "changes",
    [{"sender": "u1"}, {"sender": {"id": ["u1"]}}, {"message": ["text"]},
     {"message": {"text": 5}}, {"event_name": {"x": 1}}, {"sender": {"id": "u 1\n"}},
     {"event_name": "follow", "follower": 7.5}],
    ids=["sender string", "id list", "message list", "text number", "name object",
         "id with spaces", "follower number"],
)
async def test_a_malformed_event_is_ignored_without_raising(tmp_path, changes, caplog):
    channel = make_channel(tmp_path)
    event = dict(event_text("u1", "xin chào"), **changes)
    assert await channel.is_duplicate(event) in (True, False)
    assert await route(tmp_path, event) == ([], [])
    assert "failed to handle" not in caplog.text


async def test_a_failing_turn_does_not_escape_the_background_task(tmp_path, caplog):
    channel = make_channel(tmp_path)
    channel.output = RecordingOutput()

    async def broken(message):
        raise RuntimeError("boom")

    await channel.process(event_text("u1", "xin chào"), broken)
    assert "failed to handle" in caplog.text
    assert channel.output.sent == [("u1", zalo.FAILURE_REPLY)]


# ---------------------------------------------------------------- splitting and buttons


def paragraph(n: int) -> str:
    return " ".join(f"từ{n}-{i}" for i in range(60))


def test_a_short_text_is_one_message():
    assert split_text("Lệ phí – Đăng ký khai sinh") == ["Lệ phí – Đăng ký khai sinh"]


def test_long_text_is_split_on_boundaries_without_losing_or_cutting_words():
    text = "\n\n".join(paragraph(n) for n in range(12))  # about 9000 characters
    chunks = split_text(text, limit=2000)
    assert len(chunks) > 1
    assert all(len(c) <= 2000 for c in chunks)
    assert [w for c in chunks for w in c.split()] == text.split()
    assert all(c.endswith("-59") for c in chunks[:-1])  # each cut falls between paragraphs


def test_a_single_paragraph_is_split_between_words():
    text = " ".join(f"chữ{i}" for i in range(1500))
    chunks = split_text(text, limit=500)
    assert all(len(c) <= 500 for c in chunks)
    assert [w for c in chunks for w in c.split()] == text.split()


def test_a_word_longer_than_the_limit_is_cut_rather_than_refused():
    chunks = split_text("https://dichvucong.gov.vn/" + "x" * 4500, limit=2000)
    assert [len(c) for c in chunks] == [2000, 2000, 526]


def test_emoji_outside_the_bmp_count_double():
    chunks = split_text("📌 " * 1000, limit=2000)
    assert all(len(c.encode("utf-16-le")) // 2 <= 2000 for c in chunks)


RASA_BUTTONS = [
    {"title": "Giấy tờ cần chuẩn bị", "payload": '/ask_documents{"procedure":"ket_hon"}'},
    {"title": "Lệ phí", "payload": '/ask_fee{"procedure":"ket_hon"}'},
    {"title": "Thời gian giải quyết", "payload": '/ask_processing_time{"procedure":"ket_hon"}'},
    {"title": "Nộp ở đâu", "payload": '/ask_where{"procedure":"ket_hon"}'},
    {"title": "Cách làm online", "payload": '/ask_online{"procedure":"ket_hon"}'},
    {"title": "Tra cứu hồ sơ", "payload": "/check_dossier_status"},
    {"title": "Gặp nhân viên", "payload": "/request_human"},
]


def test_buttons_become_query_buttons_whose_payload_is_the_title():
    messages = compose_messages("Bạn muốn hỏi gì thêm?", RASA_BUTTONS[:2])
    assert messages == [{
        "text": "Bạn muốn hỏi gì thêm?",
        "attachment": {"type": "template", "payload": {"buttons": [
            {"title": "Giấy tờ cần chuẩn bị", "type": "oa.query.show",
             "payload": "Giấy tờ cần chuẩn bị"},
            {"title": "Lệ phí", "type": "oa.query.show", "payload": "Lệ phí"},
        ]}},
    }]


def test_more_than_five_buttons_continue_in_a_second_message():
    messages = compose_messages("Chọn thủ tục:", RASA_BUTTONS)
    assert [len(m["attachment"]["payload"]["buttons"]) for m in messages] == [5, 2]
    assert messages[1]["text"] == MORE_CHOICES_TEXT


def test_buttons_ride_on_the_last_chunk_of_a_long_text():
    text = "\n\n".join(paragraph(n) for n in range(6))
    messages = compose_messages(text, RASA_BUTTONS[:3])
    assert len(messages) > 1
    assert all("attachment" not in m for m in messages[:-1])
    assert messages[-1]["attachment"]["payload"]["buttons"][0]["title"] == "Giấy tờ cần chuẩn bị"


def test_a_link_button_opens_the_link():
    [message] = compose_messages("Xem thêm", [{"title": "Cổng DVC", "url": "https://dichvucong.gov.vn"}])
    assert message["attachment"]["payload"]["buttons"] == [
        {"title": "Cổng DVC", "type": "oa.open.url", "payload": {"url": "https://dichvucong.gov.vn"}}
    ]


def offered(buttons, text="…"):
    return BotUttered(text, data={"buttons": buttons})


def test_a_tapped_title_maps_back_to_the_latest_offered_rasa_payload():
    events = [
        offered([{"title": "Lệ phí", "payload": '/ask_fee{"procedure":"khai_sinh"}'}]),
        UserUttered("hỏi tiếp"),
        offered(RASA_BUTTONS[:3]),
    ]
    assert choice_from_events("Lệ phí", events) == '/ask_fee{"procedure":"ket_hon"}'
    assert choice_from_events("lệ phí", events) == '/ask_fee{"procedure":"ket_hon"}'
    nfd = unicodedata.normalize("NFD", "Thời gian giải quyết")
    assert choice_from_events(nfd, events) == '/ask_processing_time{"procedure":"ket_hon"}'
    assert choice_from_events("lệ phí kết hôn bao nhiêu", events) is None
    assert choice_from_events("Lệ phí", [UserUttered("Lệ phí")]) is None


class FakeTrackerStore:
    def __init__(self, events):
        self.events = events

    async def retrieve(self, sender_id):
        return type("Tracker", (), {"events": self.events})()


class FakeAgent:
    def __init__(self, events):
        self.tracker_store = FakeTrackerStore(events)


async def test_a_button_tap_reaches_rasa_as_its_payload(tmp_path):
    agent = FakeAgent([offered(RASA_BUTTONS)])
    received, _ = await route(tmp_path, event_text("u1", "Lệ phí"), agent)
    assert [m.text for m in received] == ['/ask_fee{"procedure":"ket_hon"}']
    received, _ = await route(tmp_path, event_text("u1", "lệ phí kết hôn"), agent)
    assert [m.text for m in received] == ["lệ phí kết hôn"]


# ---------------------------------------------------------------- sending


@pytest.fixture
def fake():
    with FakeZalo(app_id=APP_ID, app_secret=APP_SECRET) as server:
        yield server


def make_output(fake: FakeZalo, token_file: Path, **kwargs: Any) -> ZaloOutput:
    tokens = ZaloTokenManager(
        APP_ID, APP_SECRET, "access-0", "refresh-0", fake.url, str(token_file)
    )
    options = dict(backoff_seconds=0.01)
    options.update(kwargs)
    return ZaloOutput(tokens, fake.url, **options)


async def test_a_text_is_posted_with_the_access_token_header(fake, tmp_path):
    output = make_output(fake, tmp_path / "token.json")
    await output.send_response("2468458835296117922", {"text": "Xin chào!"})
    assert fake.calls[0]["access_token"] == "access-0"
    assert fake.calls[0]["body"] == {
        "recipient": {"user_id": "2468458835296117922"}, "message": {"text": "Xin chào!"}
    }


async def test_a_namespaced_recipient_reaches_the_bare_zalo_user(fake, tmp_path):
    # Notifications come through trigger_intent with the tracker's id as recipient.
    output = make_output(fake, tmp_path / "token.json")
    await output.send_response("zalo:2468458835296117922", {"text": "Hồ sơ đã cập nhật"})
    assert fake.calls[0]["body"]["recipient"] == {"user_id": "2468458835296117922"}


async def test_a_long_answer_with_buttons_is_accepted_by_the_api(fake, tmp_path):
    output = make_output(fake, tmp_path / "token.json")
    text = "\n\n".join(paragraph(n) for n in range(8))
    await output.send_response("u1", {"text": text, "buttons": list(RASA_BUTTONS)})
    assert all(c["error"] == 0 for c in fake.calls) and len(fake.calls) >= 3


async def test_an_expired_token_is_refreshed_once_and_the_message_delivered(fake, tmp_path):
    output = make_output(fake, tmp_path / "token.json")
    fake.expire_access_tokens()
    await output.send_text_message("u1", "Lệ phí – Đăng ký khai sinh")
    assert fake.refresh_count == 1
    assert [c["error"] for c in fake.calls] == [-216, 0]
    assert fake.calls[1]["access_token"] == fake.current_access_token
    assert json.loads((tmp_path / "token.json").read_text())["access_token"] == \
        fake.current_access_token


async def test_a_token_still_refused_after_the_refresh_is_not_refreshed_again(fake, tmp_path):
    output = make_output(fake, tmp_path / "token.json")
    fake.fail_next(-216, times=3)
    await output.send_text_message("u1", "Xin chào")
    assert fake.refresh_count == 1 and len(fake.calls) == 2


@pytest.mark.parametrize("failure", [{"error": -32}, {"error": -100}, {"http_status": 503},
                                     {"http_status": 429}])
async def test_rate_limits_and_transient_failures_are_retried(fake, tmp_path, failure):
    output = make_output(fake, tmp_path / "token.json")
    fake.fail_next(times=2, **failure)
    await output.send_text_message("u1", "Xin chào")
    assert len(fake.calls) == 3 and fake.texts("u1") == ["Xin chào"]


async def test_retries_are_bounded(fake, tmp_path):
    output = make_output(fake, tmp_path / "token.json", max_attempts=3)
    fake.fail_next(-32, times=10)
    await output.send_text_message("u1", "Xin chào")
    assert len(fake.calls) == 3 and not fake.texts()


@pytest.mark.parametrize("code", sorted(zalo.WINDOW_ERRORS))
async def test_errors_outside_the_interaction_window_are_not_retried(fake, tmp_path, code, caplog):
    output = make_output(fake, tmp_path / "token.json")
    fake.fail_next(code)
    await output.send_text_message("u1", "\n\n".join(paragraph(n) for n in range(6)))
    assert len(fake.calls) == 1  # nor are the following chunks sent
    assert "not retried" in caplog.text


@pytest.mark.parametrize("code", [-201, -210, -240, -1])
async def test_refused_buttons_are_sent_again_as_the_text_alone(fake, tmp_path, code, caplog):
    output = make_output(fake, tmp_path / "token.json")
    fake.refuse_buttons(code)
    await output.send_response("u1", {"text": "Bạn muốn hỏi gì về kết hôn?",
                                       "buttons": list(RASA_BUTTONS)})
    # The second group of buttons ("Các lựa chọn khác:") is not sent as a bare text.
    assert fake.sent("u1") == [{"text": "Bạn muốn hỏi gì về kết hôn?"}]
    assert [c["error"] for c in fake.calls] == [code, 0]
    assert "the text is sent alone" in caplog.text


async def test_refused_buttons_under_a_long_answer_lose_no_text(fake, tmp_path):
    output = make_output(fake, tmp_path / "token.json")
    fake.refuse_buttons()
    text = "\n\n".join(paragraph(n) for n in range(8))
    await output.send_response("u1", {"text": text, "buttons": list(RASA_BUTTONS)[:3]})
    assert all("attachment" not in m for m in fake.sent("u1"))
    assert "\n\n".join(fake.texts("u1")).split() == text.split()


@pytest.mark.parametrize("code", [-230, -32])
async def test_window_and_rate_errors_do_not_strip_the_buttons(fake, tmp_path, code):
    output = make_output(fake, tmp_path / "token.json")
    fake.fail_next(code, times=1)
    await output.send_response("u1", {"text": "Mời bạn chọn", "buttons": list(RASA_BUTTONS)[:2]})
    sent = fake.sent("u1")
    if code in zalo.WINDOW_ERRORS:
        assert sent == [] and len(fake.calls) == 1  # not retried, not resent
    else:
        assert len(sent) == 1 and sent[0]["attachment"]["payload"]["buttons"]


async def test_an_unreachable_api_does_not_raise(tmp_path):
    tokens = ZaloTokenManager(APP_ID, APP_SECRET, "a", "r", "http://127.0.0.1:9",
                              str(tmp_path / "t.json"))
    output = ZaloOutput(tokens, "http://127.0.0.1:9", backoff_seconds=0.01)
    assert await output.deliver("u1", {"text": "Xin chào"}) is False


# ---------------------------------------------------------------- tokens


def manager(fake: FakeZalo, token_file: Path, refresh_token: str = "refresh-0", **kwargs: Any):
    return ZaloTokenManager(APP_ID, kwargs.pop("app_secret", APP_SECRET), "access-0",
                            refresh_token, fake.url, str(token_file), **kwargs)


async def test_concurrent_refreshes_spend_the_refresh_token_once(fake, tmp_path):
    fake.refresh_delay = 0.3
    tokens = manager(fake, tmp_path / "token.json")
    results = await asyncio.gather(*(tokens.refresh(rejected="access-0") for _ in range(10)))
    assert fake.refresh_count == 1 and len(fake.refreshes) == 1
    assert set(results) == {fake.current_access_token}


async def test_concurrent_sends_with_an_expired_token_refresh_once(fake, tmp_path):
    fake.refresh_delay = 0.2
    output = make_output(fake, tmp_path / "token.json")
    fake.expire_access_tokens()
    await asyncio.gather(*(output.send_text_message(f"u{i}", "Xin chào") for i in range(8)))
    assert fake.refresh_count == 1 and len(fake.texts()) == 8


async def test_two_processes_share_one_refresh_through_the_token_file(fake, tmp_path):
    fake.refresh_delay = 0.3
    token_file = tmp_path / "token.json"
    first, second = manager(fake, token_file), manager(fake, token_file)
    results = await asyncio.gather(first.refresh("access-0"), second.refresh("access-0"))
    assert fake.refresh_count == 1 and len(fake.refreshes) == 1
    assert results[0] == results[1] == fake.current_access_token


async def test_refreshed_tokens_are_persisted_atomically_and_privately(fake, tmp_path):
    token_file = tmp_path / "var" / "zalo_token.json"
    tokens = manager(fake, token_file)
    new = await tokens.refresh(rejected="access-0")
    stored = json.loads(token_file.read_text())
    assert stored["access_token"] == new and stored["refresh_token"] == "refresh-1"
    assert stored["expires_at"] == pytest.approx(time.time() + 90000, abs=60)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in token_file.parent.iterdir()) == [
        "zalo_token.json", "zalo_token.json.lock"
    ]  # no temporary file left behind
    assert "refresh-0" not in token_file.read_text()


async def test_a_restart_uses_the_saved_tokens_not_the_spent_ones_in_credentials(fake, tmp_path):
    token_file = tmp_path / "token.json"
    await manager(fake, token_file).refresh(rejected="access-0")
    restarted = manager(fake, token_file)
    assert await restarted.access_token() == fake.current_access_token
    assert await restarted.refresh(rejected=fake.current_access_token) == "access-2"
    assert [r["refresh_token"] for r in fake.refreshes] == ["refresh-0", "refresh-1"]


async def test_new_tokens_in_credentials_supersede_the_token_file(fake, tmp_path):
    token_file = tmp_path / "token.json"
    await manager(fake, token_file).refresh(rejected="access-0")
    reauthorised = ZaloTokenManager(APP_ID, APP_SECRET, "access-new", "refresh-new", fake.url,
                                    str(token_file))
    assert await reauthorised.access_token() == "access-new"


async def test_a_reused_refresh_token_is_rejected_and_reported(fake, tmp_path, caplog):
    await manager(fake, tmp_path / "a.json").refresh(rejected="access-0")
    # A second deployment with its own token file still holds the spent token.
    stale = manager(fake, tmp_path / "b.json")
    assert await stale.refresh(rejected="access-0") is None
    assert fake.refresh_count == 1
    assert "invalid_refresh_token" in caplog.text and "refresh-0" not in caplog.text


async def test_a_wrong_app_secret_is_reported_without_raising(fake, tmp_path, caplog):
    tokens = manager(fake, tmp_path / "token.json", app_secret=OA_SECRET)
    assert await tokens.refresh(rejected="access-0") is None
    assert "refused" in caplog.text and OA_SECRET not in caplog.text


async def test_a_token_about_to_expire_is_refreshed_before_use(fake, tmp_path):
    token_file = tmp_path / "token.json"
    tokens = manager(fake, token_file, refresh_margin_seconds=600)
    await tokens.refresh(rejected="access-0")
    stored = json.loads(token_file.read_text())
    stored["expires_at"] = time.time() + 60  # inside the 10-minute margin
    token_file.write_text(json.dumps(stored))
    soon = manager(fake, token_file, refresh_margin_seconds=600)
    assert await soon.access_token() == "access-2"
    assert await soon.access_token() == "access-2"  # and only once
    assert fake.refresh_count == 2


async def test_without_refresh_credentials_the_token_is_used_as_is(fake, tmp_path):
    tokens = ZaloTokenManager(APP_ID, None, "access-0", None, fake.url, str(tmp_path / "t.json"))
    assert await tokens.access_token() == "access-0"
    assert await tokens.refresh(rejected="access-0") is None and not fake.refreshes


def test_missing_credentials_are_named():
    # oa_secret_key may be missing: that is verify-only mode (below).
    with pytest.raises(ValueError, match="app_id"):
        ZaloInput.from_credentials({"oa_secret_key": OA_SECRET, "access_token": "a"})
    with pytest.raises(ValueError, match="access_token"):
        ZaloInput.from_credentials({"app_id": APP_ID, "oa_secret_key": OA_SECRET})


# ---------------------------------------------------------------- end to end


def zalo_credentials(workdir: Path, server: FakeZalo) -> Path:
    """credentials.yml plus a Zalo channel pointed at ``server``."""
    from tests.support.servers import ROOT

    settings = {
        "app_id": APP_ID, "oa_secret_key": OA_SECRET, "access_token": "access-0",
        "refresh_token": "refresh-0", "app_secret": APP_SECRET, "api_base_url": server.url,
        "oauth_base_url": server.url, "token_file": str(workdir / "zalo_token.json"),
    }
    # Appended as text so whatever credentials.yml holds (${VAR} included) stays as it is.
    credentials = workdir / "credentials.yml"
    credentials.write_text(
        (ROOT / "credentials.yml").read_text(encoding="utf-8")
        + "\nbot.channels.zalo.ZaloInput:\n"
        + "".join(f"  {key}: {json.dumps(value)}\n" for key, value in settings.items()),
        encoding="utf-8",
    )
    return credentials


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The real assistant with the Zalo channel pointed at a local fake of Zalo's APIs."""
    from tests.support.servers import MODEL, Assistant

    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train`")
    workdir = tmp_path_factory.mktemp("zalo")
    server = FakeZalo(app_id=APP_ID, app_secret=APP_SECRET).start()
    credentials = zalo_credentials(workdir, server)
    assistant = Assistant(workdir, credentials=credentials)
    try:
        assistant.start()
    except Exception:
        assistant.stop()
        server.stop()
        raise
    yield assistant, server, workdir
    assistant.stop()
    server.stop()


def post(assistant, body: bytes, signature: Optional[str]) -> tuple:
    request = urllib.request.Request(
        f"{assistant.url}/webhooks/zalo/webhook", data=body, method="POST",
        headers={"Content-Type": "application/json"},
    )
    if signature is not None:
        request.add_header("X-ZEvent-Signature", signature)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, time.monotonic() - started


def deliver(assistant, event: Dict[str, Any]) -> float:
    status, elapsed = post(assistant, *signed(event))
    assert status == 200
    return elapsed


def wait_texts(server: FakeZalo, user: str, predicate, timeout: float = 120) -> List[str]:
    server.wait_for(lambda: predicate(server.texts(user)), timeout=timeout)
    return server.texts(user)


def settle(assistant, server: FakeZalo) -> None:
    """Let every turn already accepted finish, by waiting for a fresh one to be answered."""
    user = f"control-{os.urandom(4).hex()}"
    deliver(assistant, event_text(user, "xin chào"))
    assert wait_texts(server, user, bool), "the assistant stopped answering"


def test_health_check(live):
    assistant, _, _ = live
    with urllib.request.urlopen(f"{assistant.url}/webhooks/zalo/", timeout=30) as answer:
        assert answer.status == 200 and json.loads(answer.read()) == {"status": "ok"}


def test_a_question_is_acknowledged_at_once_and_answered_through_the_oa_api(live):
    assistant, server, _ = live
    elapsed = deliver(assistant, event_text("zalo-e2e-1", "lệ phí đăng ký tạm trú bao nhiêu"))
    assert elapsed < 2.0  # Zalo's limit before it retries
    texts = wait_texts(server, "zalo-e2e-1", lambda t: any("Lệ phí" in x for x in t))
    assert any(t.startswith("Lệ phí – ") for t in texts), texts


def test_wrongly_signed_or_unsigned_events_are_refused_and_not_answered(live):
    assistant, server, _ = live
    event = event_text("zalo-e2e-forged", "lệ phí đăng ký tạm trú bao nhiêu")
    raw, _ = signed(event)
    assert post(assistant, raw, signed(event, secret=APP_SECRET)[1])[0] == 401
    assert post(assistant, raw, None)[0] == 401
    assert post(assistant, b"{oops", "mac=00")[0] == 400
    settle(assistant, server)
    assert server.texts("zalo-e2e-forged") == []


def test_a_redelivered_message_is_answered_once(live):
    assistant, server, _ = live
    event = event_text("zalo-e2e-dup", "lệ phí đăng ký tạm trú bao nhiêu", msg_id="dup-1")
    deliver(assistant, event)
    deliver(assistant, event)
    wait_texts(server, "zalo-e2e-dup", lambda t: any(x.startswith("Lệ phí – ") for x in t))
    settle(assistant, server)
    answers = [t for t in server.texts("zalo-e2e-dup") if t.startswith("Lệ phí – ")]
    assert len(answers) == 1


def test_a_new_follower_is_greeted(live):
    assistant, server, _ = live
    deliver(assistant, event_follow("zalo-e2e-follow"))
    texts = wait_texts(server, "zalo-e2e-follow", bool)
    assert texts[0].startswith("Xin chào!")
    buttons = server.sent("zalo-e2e-follow")[0]["attachment"]["payload"]["buttons"]
    assert [b["title"] for b in buttons] == ["Xem các thủ tục", "Tra cứu hồ sơ"]


def test_an_image_gets_a_polite_text_reply(live):
    assistant, server, _ = live
    deliver(assistant, event_of("user_send_image", "zalo-e2e-image", message={
        "msg_id": "img-1", "attachments": [{"type": "image", "payload": {"url": "https://x/y.jpg"}}]
    }))
    assert wait_texts(server, "zalo-e2e-image", bool) == [TEXT_ONLY_REPLY]


def test_a_button_tap_continues_the_conversation(live):
    assistant, server, _ = live
    user = "zalo-e2e-button"
    deliver(assistant, event_text(user, "thủ tục đăng ký kết hôn"))
    server.wait_for(lambda: any("attachment" in m for m in server.sent(user)), timeout=120)
    buttons = [b for m in server.sent(user) if "attachment" in m
               for b in m["attachment"]["payload"]["buttons"]]
    fee = next(b for b in buttons if b["title"] == "Lệ phí")
    # The turn is saved right after its messages go out; a person takes longer than that.
    wait_for_saved_buttons(assistant, user)
    before = len(server.texts(user))
    deliver(assistant, event_text(user, fee["payload"]))
    texts = wait_texts(server, user, lambda t: len(t) > before)
    assert texts[before].startswith("Lệ phí – Đăng ký kết hôn"), texts[before:]


def wait_for_saved_buttons(assistant, user: str, timeout: float = 30) -> None:
    url = f"{assistant.url}/conversations/zalo:{user}/tracker?token={assistant.token}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url, timeout=30) as answer:
            events = json.loads(answer.read())["events"]
        if any(e.get("event") == "bot" and (e.get("data") or {}).get("buttons") for e in events):
            return
        time.sleep(0.2)
    raise AssertionError("the offered buttons never reached the tracker")


def test_a_notification_through_trigger_intent_goes_out_on_zalo(live):
    assistant, server, _ = live
    user = "zalo-e2e-notify"
    url = (f"{assistant.url}/conversations/{user}/trigger_intent"
           f"?output_channel=zalo&token={assistant.token}")
    request = urllib.request.Request(url, data=json.dumps({"name": "greet"}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 200
    assert wait_texts(server, user, bool)[0].startswith("Xin chào!")


def test_an_expired_token_is_refreshed_once_and_the_answer_still_delivered(live):
    assistant, server, workdir = live
    refreshes = server.refresh_count
    server.expire_access_tokens()
    deliver(assistant, event_text("zalo-e2e-token", "lệ phí đăng ký tạm trú bao nhiêu"))
    texts = wait_texts(server, "zalo-e2e-token", lambda t: any("Lệ phí" in x for x in t))
    assert any(t.startswith("Lệ phí – ") for t in texts)
    assert server.refresh_count == refreshes + 1
    stored = json.loads((workdir / "zalo_token.json").read_text())
    assert stored["access_token"] == server.current_access_token


def tracker_events(assistant, conversation: str) -> List[Dict[str, Any]]:
    url = f"{assistant.url}/conversations/{conversation}/tracker?token={assistant.token}"
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())["events"]


APPLICANT = "Trần T. B. N."  # the masked name of dossier 000.45.02.H58-261120-0012
STATUS_LINES = ("Chờ bổ sung", "Bích Ngọc", "Bản án/quyết định ly hôn", "chụp lại rõ nét")


@pytest.mark.parametrize("payload", SYSTEM_PAYLOADS, ids=["update", "reminder"])
def test_a_typed_system_intent_never_reveals_a_dossier(live, payload):
    assistant, server, _ = live
    user = f"zalo-e2e-forge-{os.urandom(3).hex()}"
    deliver(assistant, event_text(user, payload))
    wait_texts(server, user, bool)
    settle(assistant, server)
    for text in server.texts(user):
        assert APPLICANT not in text and not any(line in text for line in STATUS_LINES), text
    events = tracker_events(assistant, f"zalo:{user}")
    [said] = [e for e in events if e["event"] == "user"]
    assert not said["parse_data"]["intent"].get("name", "").startswith("EXTERNAL_")
    assert not said["text"].startswith("/")


def test_the_conversation_is_namespaced_by_the_channel(live):
    assistant, server, _ = live
    user = "zalo-e2e-namespace"
    deliver(assistant, event_text(user, "xin chào"))
    wait_texts(server, user, bool)
    assert [e["text"] for e in tracker_events(assistant, f"zalo:{user}")
            if e["event"] == "user"] == ["xin chào"]
    assert not [e for e in tracker_events(assistant, user) if e["event"] == "user"]


@pytest.mark.parametrize(
    "text, reply",
    [("lệ phí \ud800 tạm trú", inbound.BAD_TEXT), ("lệ phí " * 715, inbound.TOO_LONG)],
    ids=["lone surrogate", "5000 characters"],
)
def test_a_refused_text_is_answered_politely_and_the_next_one_normally(live, text, reply):
    assistant, server, _ = live
    user = f"zalo-e2e-refused-{os.urandom(3).hex()}"
    event = event_text(user, text)
    # ASCII escapes: a lone surrogate cannot be written as UTF-8, only as \\ud800.
    raw = json.dumps(event).encode("ascii")
    status, _ = post(assistant, raw, "mac=" + compute_mac(APP_ID, raw, event["timestamp"], OA_SECRET))
    assert status == 200
    assert wait_texts(server, user, bool) == [reply]
    deliver(assistant, event_text(user, "lệ phí đăng ký tạm trú bao nhiêu"))
    texts = wait_texts(server, user, lambda t: len(t) > 1)
    assert texts[1].startswith("Lệ phí – "), texts


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe\xfd", b"[1, 2]", b"x" * 200_000,
     b'{"timestamp": ' + b"[" * 3000 + b"]" * 3000 + b"}"],
    ids=["nested", "not utf-8", "not an object", "huge", "nested timestamp"],
)
def test_a_garbage_body_is_a_client_error_and_the_server_keeps_answering(live, body):
    assistant, server, _ = live
    status, _ = post(assistant, body, "mac=00")
    assert 400 <= status < 500
    settle(assistant, server)


def test_a_signed_but_malformed_event_is_accepted_and_ignored(live):
    assistant, server, _ = live
    for changes in ({"sender": "zalo-e2e-odd"}, {"message": ["x"]}, {"sender": {"id": [1]}}):
        deliver(assistant, dict(event_text("zalo-e2e-odd", "xin chào"), **changes))
    settle(assistant, server)
    assert server.texts("zalo-e2e-odd") == []


def test_zalos_url_check_is_answered_over_http_and_starts_no_turn(live):
    assistant, server, _ = live
    before = len(server.calls)
    assert post(assistant, b"{}", None)[0] == 200
    assert post(assistant, b'{"event_name": "user_send_text"}', None)[0] == 401
    settle(assistant, server)
    assert all(str(c["user_id"]).startswith("control-") for c in server.calls[before:])


def test_a_40_minute_old_retry_is_answered(live):
    assistant, server, _ = live
    event = event_text("zalo-e2e-late", "lệ phí đăng ký tạm trú bao nhiêu")
    event["timestamp"] = str(now_ms() - 40 * 60_000)
    deliver(assistant, event)
    wait_texts(server, "zalo-e2e-late", lambda t: any(x.startswith("Lệ phí – ") for x in t))


def test_an_event_without_msg_id_delivered_twice_is_answered_once(live):
    assistant, server, _ = live
    event = event_text("zalo-e2e-nomsgid", "lệ phí đăng ký tạm trú bao nhiêu")
    del event["message"]["msg_id"]
    deliver(assistant, event)
    deliver(assistant, event)
    wait_texts(server, "zalo-e2e-nomsgid", lambda t: any(x.startswith("Lệ phí – ") for x in t))
    settle(assistant, server)
    answers = [t for t in server.texts("zalo-e2e-nomsgid") if t.startswith("Lệ phí – ")]
    assert len(answers) == 1


def test_when_zalo_refuses_buttons_the_greeting_arrives_as_text(live):
    assistant, server, _ = live
    server.refuse_buttons(-201)
    try:
        deliver(assistant, event_follow("zalo-e2e-nobuttons"))
        texts = wait_texts(server, "zalo-e2e-nobuttons", bool)
    finally:
        server.refuse_buttons(None)
    assert texts[0].startswith("Xin chào!")
    assert all("attachment" not in m for m in server.sent("zalo-e2e-nobuttons"))
    refused = [c for c in server.calls if c["user_id"] == "zalo-e2e-nobuttons" and c["error"] == -201]
    assert refused and "attachment" in refused[0]["body"]["message"]
