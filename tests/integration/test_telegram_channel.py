"""The Telegram channel: output formatting and errors against a fake Bot API, then the
real assistant end to end (webhook and polling), all on loopback."""
from __future__ import annotations

import html
import itertools
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List

import pytest
import yaml
from rasa.shared.exceptions import RasaException

from bot.channels import common
from bot.channels.telegram import (
    CONTACT_BUTTON,
    EXPIRED_BUTTON,
    NOT_OWN_CONTACT,
    SECRET_HEADER,
    TEXT_ONLY,
    CallbackTable,
    TelegramInput,
    TelegramOutput,
    escape,
    inline_keyboard,
    parse_update,
    split_message,
)
from bot.channels.telegram.constants import check_secret_token
from dichvucong import inbound
from tests.support.fake_telegram import FakeTelegram
from tests.support.servers import MODEL, ROOT, Assistant, free_port, http

TOKEN = "123:TEST"
SECRET = "s3cret"


@pytest.fixture
def fake():
    with FakeTelegram(TOKEN) as server:
        yield server


def send_calls(server: FakeTelegram, chat_id: str) -> List[Dict[str, Any]]:
    return [c for c in server.calls("sendMessage") if str(c["params"]["chat_id"]) == chat_id]


def output(server: FakeTelegram, **kwargs: Any) -> TelegramOutput:
    return TelegramOutput(TOKEN, base_url=server.base_url, backoff=0.05, **kwargs)


# --- splitting and escaping -------------------------------------------------


def test_short_text_is_one_message():
    assert split_message("Xin chào") == ["Xin chào"]


def test_long_text_splits_on_words_within_the_limit():
    words = [f"từ{i}" for i in range(3000)]
    text = " ".join(words)
    pieces = split_message(text)
    assert len(pieces) > 1
    assert all(len(p) <= 4096 for p in pieces)
    # No word is cut: the pieces hold exactly the original words in order.
    assert " ".join(pieces).split() == words


def test_many_paragraphs_split_between_paragraphs():
    paragraphs = [f"Đoạn {i}: " + "giấy tờ cần chuẩn bị " * 5 for i in range(300)]
    paragraphs = [p.strip() for p in paragraphs]
    pieces = split_message("\n\n".join(paragraphs))
    assert len(pieces) > 1 and all(len(p) <= 4096 for p in pieces)
    assert [q for p in pieces for q in p.split("\n\n")] == paragraphs
    # Pieces are filled, not one paragraph each.
    assert len(pieces) <= len("\n\n".join(paragraphs)) // 3000 + 1


def test_lines_are_preferred_to_words():
    lines = ["• " + "thủ tục " * 20 for _ in range(60)]
    pieces = split_message("\n".join(line.strip() for line in lines))
    assert all(len(p) <= 4096 for p in pieces)
    assert all(p.endswith("thủ tục") for p in pieces)


def test_a_single_word_longer_than_the_limit_is_cut_hard():
    word = "a" * 5000
    pieces = split_message(word)
    assert [len(p) for p in pieces] == [4096, 904]
    assert "".join(pieces) == word


def test_a_hard_cut_never_splits_an_html_entity():
    raw = "x" * 4094 + "&" + "y" * 2000
    escaped = escape(raw)
    pieces = split_message(escaped)
    assert "".join(pieces) == escaped
    for piece in pieces:
        assert len(piece) <= 4096
        assert not re.search(r"&[#A-Za-z0-9]*$", piece), piece[-10:]
    assert html.unescape("".join(pieces)) == raw


def test_emoji_count_double_toward_the_limit():
    pieces = split_message("😀" * 3000)
    assert [len(p) for p in pieces] == [2048, 952]


def test_escaping_keeps_less_than_and_ampersand_literal():
    assert escape("Phí < 50.000đ & miễn phí cho trẻ <6 tuổi") == (
        "Phí &lt; 50.000đ &amp; miễn phí cho trẻ &lt;6 tuổi"
    )
    assert escape('"trích" dẫn') == '"trích" dẫn'


# --- buttons and callback data ----------------------------------------------


def test_short_payloads_travel_as_is_and_long_ones_by_key():
    table = CallbackTable()
    short = '/ask_fee{"procedure":"khai_sinh"}'
    assert table.encode(short) == short
    long = '/ask_documents{"procedure":"xac_nhan_hon_nhan","variants":"cap_lai_mat_giay_to"}'
    key = table.encode(long)
    assert len(key.encode()) <= 64 and key != long
    assert table.encode(long) == key
    assert table.decode(key) == long
    assert table.decode(short) == short
    assert table.decode("~unknown") is None


def test_callback_table_is_bounded():
    table = CallbackTable(size=3)
    keys = [table.encode("/ask_fee" + "x" * 80 + str(i)) for i in range(5)]
    assert table.decode(keys[0]) is None and table.decode(keys[1]) is None
    assert table.decode(keys[4]) == "/ask_fee" + "x" * 80 + "4"


def test_buttons_become_one_inline_button_per_row():
    table = CallbackTable()
    markup = inline_keyboard(
        [
            {"title": "Lệ phí", "payload": '/ask_fee{"procedure":"can_cuoc"}'},
            {"title": "Tiêu đề rất dài " * 10, "payload": "/" + "p" * 100},
            {"title": "Cổng Dịch vụ công", "payload": "https://dichvucong.gov.vn"},
        ],
        table,
    ).to_dict()
    rows = markup["inline_keyboard"]
    assert [len(row) for row in rows] == [1, 1, 1]
    assert rows[0][0] == {"text": "Lệ phí", "callback_data": '/ask_fee{"procedure":"can_cuoc"}'}
    assert len(rows[1][0]["text"]) <= 64 and rows[1][0]["text"].endswith("…")
    assert len(rows[1][0]["callback_data"].encode()) <= 64
    assert table.decode(rows[1][0]["callback_data"]) == "/" + "p" * 100
    assert rows[2][0]["url"] == "https://dichvucong.gov.vn"


def test_credentials_need_a_token_and_a_secret():
    with pytest.raises(RasaException):
        TelegramInput.from_credentials({"access_token": TOKEN})
    with pytest.raises(ValueError):
        TelegramInput.from_credentials({"access_token": TOKEN, "secret_token": "có dấu"})
    channel = TelegramInput.from_credentials({"access_token": TOKEN, "secret_token": SECRET})
    assert channel.name() == "telegram" and channel.base_url == "https://api.telegram.org/bot"


# --- sending against the fake Bot API ---------------------------------------


async def test_text_is_sent_as_escaped_html(fake):
    out = output(fake)
    await out.send_text_message("42", "Lệ phí < 100.000đ & nộp tại UBND")
    [sent] = fake.sent("42")
    assert sent["text"] == "Lệ phí &lt; 100.000đ &amp; nộp tại UBND"
    assert sent["parse_mode"] == "HTML"


async def test_long_text_with_buttons_puts_the_keyboard_on_the_last_piece(fake):
    out = output(fake)
    text = "\n\n".join("Đoạn văn hướng dẫn " * 30 for _ in range(12))
    await out.send_text_with_buttons("43", text, [{"title": "Lệ phí", "payload": "/ask_fee"}])
    sent = fake.sent("43")
    assert len(sent) >= 2
    assert all("reply_markup" not in s for s in sent[:-1])
    assert sent[-1]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Lệ phí", "callback_data": "/ask_fee"}]]
    }


async def test_request_contact_custom_json_shows_a_share_keyboard_once(fake):
    out = output(fake)
    await out.send_response(
        "44", {"custom": {"request_contact": True, "text": "Bấm nút để chia sẻ số điện thoại."}}
    )
    [ask] = fake.sent("44")
    assert ask["text"] == "Bấm nút để chia sẻ số điện thoại."
    assert ask["reply_markup"]["keyboard"] == [[{"text": CONTACT_BUTTON, "request_contact": True}]]
    assert ask["reply_markup"]["one_time_keyboard"] is True
    # The next plain message takes the keyboard away again.
    await out.send_text_message("44", "Cảm ơn bạn.")
    await out.send_text_message("44", "Còn gì nữa không?")
    sent = fake.sent("44")
    assert sent[1]["reply_markup"] == {"remove_keyboard": True}
    assert "reply_markup" not in sent[2]


async def test_custom_json_without_text_is_not_shown_raw(fake):
    out = output(fake)
    await out.send_custom_json("45", {"blocks": [1, 2]})
    assert fake.sent("45") == []


async def test_flood_control_waits_and_delivers_once(fake):
    out = output(fake)
    fake.fail_next(1, 429)
    started = time.monotonic()
    await out.send_text_message("46", "Xin chào")
    calls = send_calls(fake, "46")
    assert [c["status"] for c in calls] == [429, 200]
    assert time.monotonic() - started >= 0.9
    assert len(fake.sent("46")) == 1


async def test_flood_control_wait_is_capped(fake):
    out = output(fake, retry_wait_cap=0.1)
    fake.fail_next(1, 429)
    started = time.monotonic()
    await out.send_text_message("47", "Xin chào")
    assert time.monotonic() - started < 0.9
    assert len(fake.sent("47")) == 1


async def test_blocked_bot_is_logged_not_raised(fake, caplog):
    caplog.set_level(logging.INFO, logger="bot.channels.telegram")
    out = output(fake)
    fake.fail_next(1, 403)
    long_text = "\n\n".join("Đoạn văn " * 100 for _ in range(10))
    await out.send_response("48", {"text": long_text})
    calls = send_calls(fake, "48")
    # Stops at the first refusal instead of trying every piece.
    assert [c["status"] for c in calls] == [403]
    assert "blocked" in caplog.text


async def test_bad_request_is_not_retried(fake):
    out = output(fake)
    fake.fail_next(1, 400)
    await out.send_text_message("49", "Xin chào")
    assert [c["status"] for c in fake.calls("sendMessage")] == [400]


async def test_unreachable_api_gives_up_without_raising():
    out = TelegramOutput(TOKEN, base_url=f"http://127.0.0.1:{free_port()}/bot", backoff=0.01)
    started = time.monotonic()
    await out.send_text_with_buttons("50", "Xin chào", [{"title": "A", "payload": "/greet"}])
    assert time.monotonic() - started < 30


async def test_a_namespaced_recipient_reaches_the_bare_chat(fake):
    # Notifications come through trigger_intent with the tracker's id as recipient.
    out = output(fake)
    await out.send_text_message("telegram:51", "Hồ sơ vừa được cập nhật")
    await out.send_custom_json("telegram:51", {"request_contact": True})
    assert [m["text"] for m in fake.sent("51")][0] == "Hồ sơ vừa được cập nhật"
    assert len(fake.sent("51")) == 2 and fake.sent("telegram:51") == []


def test_the_secret_rule_is_written_once():
    assert check_secret_token("abc_DEF-123") == "abc_DEF-123"
    for bad in ("", "có dấu", "a b", "x" * 257):
        with pytest.raises(ValueError):
            check_secret_token(bad)


@pytest.mark.parametrize(
    "raw",
    [
        b"", b"null", b"[1, 2]", b'"text"', b"{not json", b"\xff\xfe{}",
        b"[" * 50_000 + b"]" * 50_000,
        b'{"update_id": 1, "message": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"update_id": [1]}', b'{"update_id": true}', b'{"update_id": "7"}',
        b'{"update_id": 1, "message": "x"}', b'{"update_id": 1, "message": {"chat": 5}}',
        b'{"update_id": 1, "callback_query": []}',
    ],
    ids=lambda raw: raw[:24].decode("latin-1"),
)
def test_a_body_that_is_not_an_update_is_refused_without_raising(raw):
    assert parse_update(raw, None) is None


def test_a_real_update_is_parsed():
    update = parse_update(json.dumps(text_update(5, "xin chào")).encode(), None)
    assert update is not None and update.message.text == "xin chào"


class Recorder:
    def __init__(self):
        self.messages: List[Any] = []

    async def __call__(self, message):
        self.messages.append(message)


async def handled(fake: FakeTelegram, update: Dict[str, Any]) -> List[Any]:
    channel = TelegramInput(TOKEN, SECRET, base_url=fake.base_url)
    channel.output.backoff = 0.01
    recorder = Recorder()
    await channel.handle(parse_update(json.dumps(update).encode(), channel.output.bot), recorder)
    await channel.output.close()
    return recorder.messages


SYSTEM_PAYLOADS = [
    '/EXTERNAL_dossier_update{"dossier_code":"000.45.02.H58-261120-0012"}',
    '/EXTERNAL_dossier_reminder{"dossier_code":"000.45.02.H58-261120-0012","reminder":"overdue"}',
]


@pytest.mark.parametrize("payload", SYSTEM_PAYLOADS)
@pytest.mark.parametrize("kind", ["text", "callback"])
async def test_a_system_intent_payload_reaches_rasa_as_words(fake, payload, kind):
    chat = new_chat()
    update = text_update(chat, payload) if kind == "text" else callback_update(chat, payload)
    [message] = await handled(fake, update)
    assert not message.text.startswith("/") and "EXTERNAL_" in message.text
    assert message.sender_id == f"telegram:{chat}"
    assert "verified_phone" not in message.metadata


async def test_a_citizen_button_payload_passes_in_canonical_form(fake):
    chat = new_chat()
    update = callback_update(chat, '/ask_fee{"procedure":"khai_sinh","dossier_code":"x"}')
    [message] = await handled(fake, update)
    assert message.text == '/ask_fee{"procedure":"khai_sinh"}'


@pytest.mark.parametrize(
    "text, reply",
    [("lệ phí \ud800 căn cước", inbound.BAD_TEXT), ("a" * 5000, inbound.TOO_LONG),
     ("\u200b\u200b", inbound.EMPTY)],
    ids=["lone surrogate", "too long", "invisible only"],
)
async def test_a_refused_text_gets_a_polite_reply_without_rasa(fake, text, reply):
    chat = new_chat()
    assert await handled(fake, text_update(chat, text)) == []
    assert [m["text"] for m in fake.sent(chat)] == [escape(reply)]


async def test_a_contact_counts_only_as_the_senders_own_in_a_private_chat(fake):
    chat = new_chat()
    own = {"phone_number": "+84356789103", "first_name": "Ngọc", "user_id": chat}
    [message] = await handled(fake, message_update(chat, contact=own))
    assert message.metadata["verified_phone"] == "+84356789103"
    assert message.parse_data["intent"]["name"] == "check_dossier_status"

    unknown = {"phone_number": "+84356789103", "first_name": "Ngọc"}  # typed, no user_id
    assert await handled(fake, message_update(chat, contact=unknown)) == []
    group = message_update(chat, contact=own)
    group["message"]["chat"] = {"id": -100123, "type": "group", "title": "Tổ dân phố"}
    assert await handled(fake, group) == []
    assert len(fake.sent("-100123")) == 1 and NOT_OWN_CONTACT in fake.sent("-100123")[0]["text"]


# --- the shared channel toolkit (bot/channels/common.py) --------------------


def test_units_and_fit_count_utf16():
    assert common.units("Việt") == 4 and common.units("😀a") == 3
    assert common.fit("😀😀a", 3) == 1 and common.fit("abc", 10) == 3


def test_split_text_avoids_stubs_and_keeps_every_word():
    text = "Mở đầu.\n\n" + " ".join(f"từ{i}" for i in range(400))
    pieces = common.split_text(text, 300)
    assert len(pieces[0]) > 100  # not cut at the early paragraph break
    assert [w for p in pieces for w in p.split()] == text.split()
    assert all(common.units(p) <= 300 for p in pieces)


def test_split_text_hard_cut_keeps_letters_with_their_marks():
    text = "a" * 9 + "e\u0301" + "b" * 10  # "é" decomposed straddling the limit
    pieces = common.split_text(text, 10)
    assert "".join(pieces) == text and pieces[0] == "a" * 9


def test_split_text_html_entities_only_when_asked():
    text = "x" * 8 + "&amp;" + "y" * 8
    assert common.split_text(text, 10)[0] == "x" * 8 + "&a"
    assert common.split_text(text, 10, html_entities=True)[0] == "x" * 8


def test_button_title_is_cut_with_an_ellipsis():
    assert common.button_title("  Lệ   phí ", 10) == "Lệ phí"
    assert common.button_title("x" * 20, 10) == "x" * 9 + "…"
    assert common.button_title("", 10) == "" and common.button_title(None, 10, empty="…") == "…"


def test_recent_keys_without_ttl_remember_the_last_size():
    keys = common.RecentKeys(size=2)
    assert not keys.seen(1) and keys.seen(1)
    assert not keys.seen(2) and not keys.seen(3)
    assert len(keys) == 2 and 1 not in keys and not keys.seen(1)


async def test_an_update_resent_after_a_restart_or_to_another_replica_is_ignored(tmp_path):
    from dichvucong.dossiers.store import migrate

    url = f"sqlite:///{tmp_path / 'dossiers.db'}"
    migrate(url)
    before = TelegramInput(TOKEN, SECRET, database_url=url)
    assert await before.first_delivery(7001)
    assert not await before.first_delivery(7001)  # the memory answers
    after = TelegramInput(TOKEN, SECRET, database_url=url)  # restarted, or a second replica
    assert not await after.first_delivery(7001)
    assert await after.first_delivery(7002)
    # Update ids count per bot: another bot's update 7001 is another update.
    other_bot = TelegramInput("456:OTHER", SECRET, database_url=url)
    assert await other_bot.first_delivery(7001)


async def test_without_the_delivery_table_updates_are_still_handled_once(tmp_path, caplog):
    channel = TelegramInput(TOKEN, SECRET, database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert await channel.first_delivery(1) and not await channel.first_delivery(1)
    assert "delivery store unavailable" in caplog.text


async def test_retry_backs_off_honours_the_platforms_wait_and_caps_it():
    waits: List[float] = []
    outcomes = [common.Retryable("down"), common.Retryable("down"),
                common.Retryable("flood", after=99), "done"]

    async def attempt():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def sleep(seconds):
        waits.append(seconds)

    assert await common.retry(attempt, 5, 0.5, cap=10, sleep=sleep) == "done"
    assert waits == [0.5, 1.0, 10]


async def test_retry_gives_up_with_the_last_error_and_does_not_retry_others():
    calls = []

    async def failing():
        calls.append(1)
        raise common.Retryable("still down")

    async def sleep(seconds):
        pass

    with pytest.raises(common.Retryable) as error:
        await common.retry(failing, 3, 0.1, sleep=sleep)
    assert error.value.attempts == 3 and len(calls) == 3

    async def broken():
        calls.append(2)
        raise KeyError("no")

    with pytest.raises(KeyError):
        await common.retry(broken, 3, 0.1, sleep=sleep)
    assert calls.count(2) == 1


async def test_background_turns_are_kept_drained_and_contained(caplog):
    import asyncio

    turns = common.BackgroundTurns("test")
    finished = []

    async def turn():
        await asyncio.sleep(0.05)
        finished.append(True)

    async def broken():
        raise RuntimeError("boom")

    turns.start(turn())
    turns.start(broken())
    assert len(turns) == 2
    await turns.drain(timeout=5)
    await asyncio.sleep(0)
    assert finished == [True] and len(turns) == 0
    assert "background turn failed" in caplog.text


# --- end to end with the real assistant -------------------------------------

_update_ids = itertools.count(int(time.time()) % 100000 * 1000)
_chat_ids = itertools.count(7_000_001)


def new_chat() -> int:
    return next(_chat_ids)


def user(chat_id: int) -> Dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "Ngọc", "language_code": "vi"}


def message_update(chat_id: int, **content: Any) -> Dict[str, Any]:
    update_id = next(_update_ids)
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Ngọc"},
            "from": user(chat_id),
            **content,
        },
    }


def text_update(chat_id: int, text: str) -> Dict[str, Any]:
    content: Dict[str, Any] = {"text": text}
    if text.startswith("/"):
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return message_update(chat_id, **content)


def callback_update(chat_id: int, data: str) -> Dict[str, Any]:
    update_id = next(_update_ids)
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb-{update_id}",
            "from": user(chat_id),
            "chat_instance": "ci-1",
            "data": data,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": "…",
            },
        },
    }


def post_update(assistant: Assistant, update: Dict[str, Any], secret: str | None = SECRET) -> int:
    request = urllib.request.Request(
        f"{assistant.url}/webhooks/telegram/webhook",
        data=json.dumps(update).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    if secret is not None:
        request.add_header(SECRET_HEADER, secret)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def user_texts(assistant: Assistant, chat_id: int) -> List[str]:
    return [e.get("text") for e in tracker_events(assistant, f"telegram:{chat_id}")
            if e["event"] == "user"]


def tracker_events(assistant: Assistant, conversation: str) -> List[Dict[str, Any]]:
    status, body = http(
        "GET", f"{assistant.url}/conversations/{conversation}/tracker?token={assistant.token}"
    )
    assert status == 200, body
    return json.loads(body)["events"]


def wait_text(server: FakeTelegram, chat_id: int, needle: str, after: int = 0) -> Dict[str, Any]:
    """The first message to ``chat_id`` (from the ``after``-th on) containing ``needle``."""
    found = server.wait_for(
        lambda: [m for m in server.sent(chat_id)[after:] if needle in m["text"]]
    )
    return found[0]


def callbacks(message: Dict[str, Any]) -> Dict[str, str]:
    rows = message["reply_markup"]["inline_keyboard"]
    return {button["text"]: button["callback_data"] for row in rows for button in row}


@pytest.fixture(scope="module")
def telegram_api():
    with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def telegram_assistant(tmp_path_factory, telegram_api):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test trains it first)")
    workdir = tmp_path_factory.mktemp("telegram")
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8")) or {}
    credentials["bot.channels.telegram.TelegramInput"] = {
        "access_token": TOKEN,
        "secret_token": SECRET,
        "base_url": telegram_api.base_url,
    }
    path = workdir / "credentials.yml"
    path.write_text(yaml.safe_dump(credentials, allow_unicode=True), encoding="utf-8")
    running = Assistant(workdir, credentials=path).start()
    yield running
    running.stop()


def test_text_message_gets_an_answer_with_an_inline_keyboard(telegram_assistant, telegram_api):
    chat = new_chat()
    assert post_update(telegram_assistant, text_update(chat, "lệ phí làm căn cước")) == 200
    answer = wait_text(telegram_api, chat, "Lệ phí")
    assert answer["parse_mode"] == "HTML"
    assert callbacks(answer)
    assert user_texts(telegram_assistant, chat) == ["lệ phí làm căn cước"]


def test_pressing_a_button_continues_the_conversation(telegram_assistant, telegram_api):
    chat = new_chat()
    post_update(telegram_assistant, text_update(chat, "lệ phí làm căn cước"))
    answer = wait_text(telegram_api, chat, "Lệ phí")
    before = len(telegram_api.sent(chat))
    title, data = next(iter(callbacks(answer).items()))
    update = callback_update(chat, data)
    assert post_update(telegram_assistant, update) == 200
    telegram_api.wait_for(
        lambda: [
            c for c in telegram_api.calls("answerCallbackQuery")
            if c["params"].get("callback_query_id") == update["callback_query"]["id"]
        ]
    )
    following = telegram_api.wait_for(lambda: telegram_api.sent(chat)[before:])
    assert following[0]["text"].strip()
    assert user_texts(telegram_assistant, chat)[-1] == data


def test_an_expired_button_asks_to_type_again(telegram_assistant, telegram_api):
    chat = new_chat()
    post_update(telegram_assistant, callback_update(chat, "~" + "0" * 32))
    wait_text(telegram_api, chat, EXPIRED_BUTTON[:30])
    assert user_texts(telegram_assistant, chat) == []


def test_wrong_or_missing_secret_is_refused(telegram_assistant, telegram_api):
    chat = new_chat()
    assert post_update(telegram_assistant, text_update(chat, "xin chào"), secret="sai") == 401
    assert post_update(telegram_assistant, text_update(chat, "xin chào"), secret=None) == 401
    assert post_update(telegram_assistant, text_update(chat, "xin chào"), secret="") == 401
    time.sleep(3)
    assert telegram_api.sent(chat) == []
    assert user_texts(telegram_assistant, chat) == []


def test_a_resent_update_is_processed_once(telegram_assistant, telegram_api):
    chat = new_chat()
    update = text_update(chat, "xin chào")
    assert post_update(telegram_assistant, update) == 200
    assert post_update(telegram_assistant, update) == 200
    wait_text(telegram_api, chat, "Xin chào")
    time.sleep(3)
    assert user_texts(telegram_assistant, chat) == ["xin chào"]
    assert len([m for m in telegram_api.sent(chat) if "Xin chào" in m["text"]]) == 1


def test_a_sticker_gets_a_polite_text_only_reply(telegram_assistant, telegram_api):
    chat = new_chat()
    sticker = {
        "file_id": "CAACAgIAAxkBAAIB", "file_unique_id": "AgADBAAD", "width": 512,
        "height": 512, "is_animated": False, "is_video": False, "type": "regular",
    }
    assert post_update(telegram_assistant, message_update(chat, sticker=sticker)) == 200
    reply = wait_text(telegram_api, chat, "chỉ đọc được tin nhắn chữ")
    assert reply["text"] == escape(TEXT_ONLY)
    assert user_texts(telegram_assistant, chat) == []


def test_edited_messages_are_ignored(telegram_assistant, telegram_api):
    chat = new_chat()
    edited = text_update(chat, "xin chào")
    edited["edited_message"] = dict(edited.pop("message"), edit_date=int(time.time()))
    assert post_update(telegram_assistant, edited) == 200
    time.sleep(3)
    assert telegram_api.sent(chat) == [] and user_texts(telegram_assistant, chat) == []


def test_start_greets_and_help_lists_the_services(telegram_assistant, telegram_api):
    chat = new_chat()
    assert post_update(telegram_assistant, text_update(chat, "/start")) == 200
    greeting = wait_text(telegram_api, chat, "Xin chào! Tôi là trợ lý ảo")
    assert "Xem các thủ tục" in callbacks(greeting)
    before = len(telegram_api.sent(chat))
    assert post_update(telegram_assistant, text_update(chat, "/help@dich_vu_cong_test_bot")) == 200
    services = wait_text(telegram_api, chat, "Tôi có thể hướng dẫn các thủ tục sau", before)
    assert "Tra cứu hồ sơ" in callbacks(services)


def test_dossier_lookup_with_the_citizens_own_shared_contact(telegram_assistant, telegram_api):
    chat = new_chat()
    own = {"phone_number": "+84356789103", "first_name": "Ngọc", "user_id": chat}
    # Shared before any lookup: the lookup starts and asks for the code.
    post_update(telegram_assistant, message_update(chat, contact=own))
    wait_text(telegram_api, chat, "mã hồ sơ")
    post_update(telegram_assistant, text_update(chat, "000.45.02.H58-261120-0012"))
    wait_text(telegram_api, chat, "4 chữ số cuối")

    # Somebody else's number does not count, and does not reach the assistant.
    someone_else = {"phone_number": "+84356789103", "first_name": "Ngọc", "user_id": 999}
    post_update(telegram_assistant, message_update(chat, contact=someone_else))
    wait_text(telegram_api, chat, NOT_OWN_CONTACT[:40])
    assert len(user_texts(telegram_assistant, chat)) == 2

    before = len(telegram_api.sent(chat))
    post_update(telegram_assistant, message_update(chat, contact=own))
    status = wait_text(telegram_api, chat, "Chờ bổ sung", before)
    assert "Trần T. B. N." in status["text"] and "9103" not in status["text"]
    assert user_texts(telegram_assistant, chat)[-1] == "số điện thoại của tôi"


def test_lookup_with_typed_code_then_contact(telegram_assistant, telegram_api):
    chat = new_chat()
    post_update(telegram_assistant, text_update(chat, "tra cứu hồ sơ 000.45.02.H58-261120-0012"))
    wait_text(telegram_api, chat, "4 chữ số cuối")
    own = {"phone_number": "84356789103", "first_name": "Ngọc", "user_id": chat}
    post_update(telegram_assistant, message_update(chat, contact=own))
    wait_text(telegram_api, chat, "Chờ bổ sung")


def test_subscribed_chat_receives_the_status_notice(telegram_assistant, telegram_api):
    chat = new_chat()
    code = "000.31.24.H26-261125-0007"
    post_update(telegram_assistant, text_update(chat, f"tra cứu hồ sơ {code}"))
    wait_text(telegram_api, chat, "4 chữ số cuối")
    post_update(telegram_assistant, text_update(chat, "2345"))
    status = wait_text(telegram_api, chat, "Đã tiếp nhận")
    subscribe = next(d for t, d in callbacks(status).items() if "thông báo" in t)
    post_update(telegram_assistant, callback_update(chat, subscribe))
    wait_text(telegram_api, chat, "Đã đăng ký")

    before = len(telegram_api.sent(chat))
    result = telegram_assistant.cli(
        "update-status", code, "processing", "--office", "UBND phường Ba Đình"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    notice = wait_text(telegram_api, chat, "vừa được cập nhật", before)
    assert "Đang xử lý" in notice["text"]


APPLICANT = "Trần T. B. N."  # the masked name of dossier 000.45.02.H58-261120-0012
STATUS_LINES = ("Chờ bổ sung", "Bích Ngọc", "Bản án/quyết định ly hôn", "chụp lại rõ nét")


def post_raw(assistant: Assistant, body: bytes) -> int:
    request = urllib.request.Request(
        f"{assistant.url}/webhooks/telegram/webhook", data=body, method="POST",
        headers={"Content-Type": "application/json", SECRET_HEADER: SECRET},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def still_answering(assistant: Assistant, server: FakeTelegram) -> None:
    chat = new_chat()
    assert post_update(assistant, text_update(chat, "xin chào")) == 200
    wait_text(server, chat, "Xin chào")


@pytest.mark.parametrize("payload", SYSTEM_PAYLOADS, ids=["update", "reminder"])
@pytest.mark.parametrize("kind", ["text", "callback"])
def test_a_forged_system_intent_never_reveals_a_dossier(
    telegram_assistant, telegram_api, payload, kind
):
    chat = new_chat()
    update = text_update(chat, payload) if kind == "text" else callback_update(chat, payload)
    assert post_update(telegram_assistant, update) == 200
    telegram_api.wait_for(lambda: telegram_api.sent(chat))
    still_answering(telegram_assistant, telegram_api)  # the forged turn is over by now
    for message in telegram_api.sent(chat):
        text = html.unescape(message["text"])
        assert APPLICANT not in text and not any(line in text for line in STATUS_LINES), text
    [said] = [e for e in tracker_events(telegram_assistant, f"telegram:{chat}")
              if e["event"] == "user"]
    assert not said["parse_data"]["intent"].get("name", "").startswith("EXTERNAL_")
    assert not said["text"].startswith("/")


def test_the_conversation_is_namespaced_by_the_channel(telegram_assistant, telegram_api):
    chat = new_chat()
    post_update(telegram_assistant, text_update(chat, "xin chào"))
    wait_text(telegram_api, chat, "Xin chào")
    assert user_texts(telegram_assistant, chat) == ["xin chào"]
    bare = tracker_events(telegram_assistant, str(chat))
    assert not [e for e in bare if e["event"] == "user"]


@pytest.mark.parametrize(
    "text, reply",
    [("lệ phí \ud800 căn cước", inbound.BAD_TEXT), ("lệ phí " * 715, inbound.TOO_LONG)],
    ids=["lone surrogate", "5000 characters"],
)
def test_a_refused_text_is_answered_politely_and_the_next_one_normally(
    telegram_assistant, telegram_api, text, reply
):
    chat = new_chat()
    assert post_update(telegram_assistant, text_update(chat, text)) == 200
    refused = telegram_api.wait_for(lambda: telegram_api.sent(chat))
    assert [m["text"] for m in refused] == [escape(reply)]
    post_update(telegram_assistant, text_update(chat, "lệ phí làm căn cước"))
    wait_text(telegram_api, chat, "Lệ phí", after=1)
    assert user_texts(telegram_assistant, chat) == ["lệ phí làm căn cước"]


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b'"update"', b"{oops", b"\xff\xfe\xfd", b"[" * 100_000 + b"]" * 100_000,
     b'{"update_id": 5, "message": ' + b"[" * 5000 + b"]" * 5000 + b"}",
     b'{"update_id": [5]}', b'{"update_id": 5, "message": {"chat": "x"}}', b"x" * 200_000],
    ids=["list", "string", "broken", "not utf-8", "nested", "nested message", "id list",
         "bad message", "huge"],
)
def test_a_garbage_body_is_a_client_error_and_the_server_keeps_answering(
    telegram_assistant, telegram_api, body
):
    assert 400 <= post_raw(telegram_assistant, body) < 500
    still_answering(telegram_assistant, telegram_api)


# --- polling and the admin commands -----------------------------------------


def tool_env(server: FakeTelegram, **extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_SECRET_TOKEN=SECRET,
        TELEGRAM_API_BASE_URL=server.base_url,
    )
    env.update(extra)
    return env


def test_polling_mode_feeds_the_same_webhook(telegram_assistant, telegram_api):
    chat = new_chat()
    update = text_update(chat, "xin chào")
    telegram_api.queue_update(update)
    poller = subprocess.Popen(
        [sys.executable, "-m", "bot.channels.telegram.polling"],
        cwd=ROOT,
        env=tool_env(telegram_api, RASA_URL=telegram_assistant.url, TELEGRAM_POLL_TIMEOUT="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_text(telegram_api, chat, "Xin chào")
        # The update is confirmed (a later getUpdates carries a higher offset).
        telegram_api.wait_for(
            lambda: [
                c for c in telegram_api.calls("getUpdates")
                if int(c["params"].get("offset") or 0) > update["update_id"]
            ],
            timeout=30,
        )
    finally:
        poller.send_signal(signal.SIGINT)
        out, _ = poller.communicate(timeout=30)
    assert poller.returncode == 0, out
    assert "Đã dừng" in out
    assert telegram_api.calls("deleteWebhook")
    assert user_texts(telegram_assistant, chat) == ["xin chào"]
    assert TOKEN not in out


def run_tool(module: str, *args: str, env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_polling_without_a_token_says_so(fake):
    env = tool_env(fake)
    del env["TELEGRAM_BOT_TOKEN"]
    result = run_tool("bot.channels.telegram.polling", env=env)
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "BotFather" in result.stderr


def test_admin_sets_shows_and_deletes_the_webhook(fake):
    url = "https://tro-ly.example.vn/webhooks/telegram/webhook"
    result = run_tool("bot.channels.telegram.admin", "set-webhook", "--url", url, env=tool_env(fake))
    assert result.returncode == 0, result.stderr
    [call] = fake.calls("setWebhook")
    assert call["params"]["url"] == url and call["params"]["secret_token"] == SECRET
    assert call["params"]["allowed_updates"] == ["message", "callback_query"]

    info = run_tool("bot.channels.telegram.admin", "info", env=tool_env(fake))
    assert info.returncode == 0, info.stderr
    assert "@dich_vu_cong_test_bot" in info.stdout and url in info.stdout

    deleted = run_tool("bot.channels.telegram.admin", "delete-webhook", env=tool_env(fake))
    assert deleted.returncode == 0 and fake.calls("deleteWebhook")


def test_admin_errors_are_clear_and_exit_2(fake):
    env = tool_env(fake)
    del env["TELEGRAM_SECRET_TOKEN"]
    result = run_tool("bot.channels.telegram.admin", "set-webhook", "--url", "https://x.vn/w", env=env)
    assert result.returncode == 2 and "TELEGRAM_SECRET_TOKEN" in result.stderr

    plain = run_tool("bot.channels.telegram.admin", "set-webhook", "--url", "http://x.vn/w",
                     env=tool_env(fake))
    assert plain.returncode == 2 and "HTTPS" in plain.stderr

    wrong = run_tool("bot.channels.telegram.admin", "info", env=tool_env(fake, TELEGRAM_BOT_TOKEN="9:WRONG"))
    assert wrong.returncode == 2 and "token" in wrong.stderr.lower()
    assert "9:WRONG" not in wrong.stderr

    offline = run_tool("bot.channels.telegram.admin", "info", env=tool_env(
        fake, TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{free_port()}/bot"))
    assert offline.returncode == 2 and "Không kết nối được" in offline.stderr
