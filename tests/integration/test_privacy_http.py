"""'xóa dữ liệu của tôi' through the web chat: confirm, subscriptions gone, events gone after retention."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from tests.integration.test_assistant_http import texts
from tests.support.servers import ROOT

SUPPLEMENT = "000.45.02.H58-261120-0012"  # ket_hon, needs_supplement; id ...4567


def _events(assistant, conversation: str) -> int:
    with sqlite3.connect(assistant.tracker_db) as connection:
        return connection.execute(
            "SELECT count(*) FROM events WHERE sender_id = ?", (conversation,)
        ).fetchone()[0]


def _subscriptions(assistant, conversation: str) -> int:
    path = assistant.database_url.replace("sqlite:///", "")
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT count(*) FROM subscriptions WHERE recipient_id = ?", (conversation,)
        ).fetchone()[0]


def _retention(assistant, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.retention", *args], cwd=ROOT, env=assistant.env(),
        capture_output=True, text=True, timeout=120,
    )


def _buttons(messages):
    return {b["title"]: b["payload"] for m in messages for b in m.get("buttons") or []}


def test_erase_my_data_after_confirmation(assistant):
    assistant.say("p-1", f"tra cứu hồ sơ {SUPPLEMENT}")
    status = assistant.say("p-1", "4567")
    subscribe = next(p for t, p in _buttons(status).items() if "thông báo" in t)
    assert "Đã đăng ký" in texts(assistant.say("p-1", subscribe))
    assistant.say("p-2", "xin chào")  # another conversation, to keep
    conversation, other = assistant.conversation("p-1"), assistant.conversation("p-2")

    asked = assistant.say("p-1", "xóa dữ liệu của tôi")
    assert "không khôi phục được" in texts(asked)
    buttons = _buttons(asked)
    assert set(buttons.values()) == {"/affirm", "/deny"}
    assert _subscriptions(assistant, conversation) == 1
    done = texts(assistant.say("p-1", buttons["Có, xóa dữ liệu"]))
    assert _subscriptions(assistant, conversation) == 0
    assert "Đã xóa 1 đăng ký nhận thông báo hồ sơ" in done and "chậm nhất lúc" in done
    assert _events(assistant, conversation) > 0  # written after the action: retention deletes

    dry = _retention(assistant, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "1 hội thoại người dân yêu cầu xóa" in dry.stdout
    assert _events(assistant, conversation) > 0
    run = _retention(assistant)
    assert run.returncode == 0, run.stderr
    assert _events(assistant, conversation) == 0
    assert _events(assistant, other) > 0
    # The dossier no longer has this conversation as a subscriber.
    assert _subscriptions(assistant, conversation) == 0


def test_erase_declined_keeps_everything(assistant):
    asked = assistant.say("p-3", "xoa du lieu cua toi")
    assert "/deny" in _buttons(asked).values()
    kept = texts(assistant.say("p-3", "/deny"))
    assert "giữ nguyên" in kept
    conversation = assistant.conversation("p-3")
    before = _events(assistant, conversation)
    assert _retention(assistant).returncode == 0
    assert _events(assistant, conversation) == before
