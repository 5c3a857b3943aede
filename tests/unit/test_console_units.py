"""Pieces of the console without a server: masking rules, chart escaping, example
normalisation, settings, and reading the tracker through an SQLAlchemy URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.console import charts, listing, nludata, tracker_reader
from bot.console.conversation import build
from bot.console.settings import ROOT, Settings
from bot.console.web.responses import safe_next
from tests.support.console import (
    IDENTITY,
    PHONE,
    Conversation,
    sample_conversations,
    today_vn,
    write_tracker,
)


def _rows(conversation: Conversation, tmp_path: Path):
    path = write_tracker(tmp_path / "t.db", [conversation])
    reader = tracker_reader.TrackerReader(None, path)
    try:
        return [row for rows in reader.scan() for row in rows]
    finally:
        reader.dispose()


def test_digits_typed_after_the_bot_asked_for_them_are_masked_without_a_form(tmp_path):
    import datetime as dt

    start = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
    conversation = Conversation("other-channel", start, channel="telegram")
    (conversation.user("tra cứu hồ sơ", "check_dossier_status")
        .bot("Vui lòng nhập 4 chữ số cuối của số điện thoại người nộp hồ sơ.")
        .listen()
        .user("số cuối là 9876 nhé", "inform", 0.4)
        .bot("Cảm ơn.").listen()
        .user(f"gọi {PHONE} hoặc số cccd {IDENTITY}", "request_human", 0.9))
    built = build(_rows(conversation, tmp_path), 0.7)
    texts = [m.text for m in built.messages if m.kind == "user"]
    assert texts[1] == "số cuối là •••• nhé"
    assert built.user_messages[1].second_factor and not built.user_messages[1].reviewable
    # Only the answer to that question: later numbers are redacted, not blanked.
    assert texts[2] == "gọi •••••••678 hoặc số cccd •••••••••345"


def test_every_stored_event_is_read_through_a_tracker_url(tmp_path):
    path = write_tracker(tmp_path / "tracker.db", sample_conversations(today_vn()))
    reader = tracker_reader.TrackerReader(f"sqlite:///{path}", None)
    found, channels = listing.conversations(reader, listing.Filters(), 0.7)
    reader.dispose()
    assert len(found) == 6 and channels == ["telegram", "webchat"]


def test_chart_labels_are_escaped_and_empty_charts_say_so():
    svg = charts.hbar_chart([("<script>alert(1)</script>", 3)], "Ý định")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "Chưa có dữ liệu" in charts.bar_chart([("01/11", 0)], "Số hội thoại")
    line = charts.line_chart([("01/11", 0.5), ("02/11", None), ("03/11", 0.25)], "Tỉ lệ")
    assert "50,0 %" in line and line.count("<circle") == 2


def test_examples_are_cleaned_and_held_out_sentences_recognised():
    assert nludata.clean_example("  - xin [chào](greet)\n  bạn {x} ") == "xin (chào)(greet) bạn (x)"
    assert nludata.same_key("Xin  Chào") == nludata.same_key("xin chào")
    assert nludata.heldout_key("Tạm biệt nhé!") == nludata.heldout_key("tam biet nhe")
    settings = Settings.from_env({"CONSOLE_HELDOUT_DIR": "/nonexistent"})
    # tests/nlu is excluded from exports whatever folder the settings name.
    assert nludata.heldout_key("tạm biệt nhé") in nludata.heldout_keys(settings)


def test_settings_from_environment():
    settings = Settings.from_env({
        "CONSOLE_PORT": "6000", "CONSOLE_NLU_DIR": "tmp/nlu", "TRACKER_DB": "/srv/t.db",
        "RASA_URL": "http://rasa:5005/", "RASA_API_TOKEN": "t",
    })
    assert settings.port == 6000 and settings.url == "http://127.0.0.1:6000/"
    assert settings.nlu_dir == ROOT / "tmp" / "nlu"
    assert settings.reviewed_file == ROOT / "tmp" / "nlu" / "reviewed.yml"
    assert settings.tracker_db == Path("/srv/t.db")
    assert settings.rasa_url == "http://rasa:5005" and settings.rasa_token == "t"
    assert Settings.from_env({}).current_model == ROOT / "models" / "current.tar.gz"


OPEN_REDIRECTS = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/ /evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "/\u3000/evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "/review\\x",
    "/%09/evil.example",
    "/%0A/evil.example",
    "/%20/evil.example",
    "/%5Cevil.example",
    "/%2F%2Fevil.example",
    "/%2F/evil.example",
    "%2F%2Fevil.example",
    "/%252F%252Fevil.example",
    "/%25252F%25252Fevil.example",
    "/%2509/evil.example",
    "https://evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "review",
    "",
    None,
]


@pytest.mark.parametrize("value", OPEN_REDIRECTS)
def test_login_redirect_never_leaves_the_console(value):
    assert safe_next(value) == "/"
    assert safe_next(value, "/review") == "/review"


@pytest.mark.parametrize("value", [
    "/", "/review?x=1", "/review?show=done&from=2026-11-01", "/conversations/12",
    "/review?next=%2Freview", "/conversations?procedure=c%E1%BA%A5p",
])
def test_login_redirect_keeps_the_consoles_own_paths(value):
    assert safe_next(value) == value


def test_parallel_wrong_logins_get_no_more_password_checks_than_the_limit(tmp_path, monkeypatch):
    # 24 wrong logins sent 8 at a time used to get 14 password checks instead of 5.
    import concurrent.futures

    from bot.console import auth
    from bot.console.auth import Accounts, AuthError
    from bot.console.db import Database

    db = Database(f"sqlite:///{tmp_path / 'console.db'}", auto_migrate=True)
    accounts = Accounts(db, max_failures=5)
    accounts.add_user("lan", "mat-khau-dung-dai-1", "reviewer")
    checks = []
    real = auth._hasher

    class Counting:
        def verify(self, hashed, password):
            checks.append(password)
            return real.verify(hashed, password)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(auth, "_hasher", Counting())

    def wrong(_):
        try:
            accounts.login("lan", "sai-mat-khau", "10.0.0.1")
        except AuthError as error:
            return type(error).__name__
        return "logged in"

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(wrong, range(24)))
    assert "logged in" not in outcomes
    assert len(checks) <= 5
    # The right password is refused while the lock lasts...
    with pytest.raises(auth.LoginThrottled):
        accounts.login("lan", "mat-khau-dung-dai-1", "10.0.0.1")
    db.dispose()


def test_a_right_password_does_not_count_as_a_failure(tmp_path):
    from bot.console.auth import Accounts, AuthError
    from bot.console.db import Database

    db = Database(f"sqlite:///{tmp_path / 'console.db'}", auto_migrate=True)
    accounts = Accounts(db, max_failures=3, max_failures_per_ip=3)
    accounts.add_user("lan", "mat-khau-dung-dai-1", "reviewer")
    for _ in range(5):
        accounts.login("lan", "mat-khau-dung-dai-1", "10.0.0.2")
    for _ in range(2):
        with pytest.raises(AuthError):
            accounts.login("lan", "sai", "10.0.0.2")
    assert accounts.login("lan", "mat-khau-dung-dai-1", "10.0.0.2")
    db.dispose()
