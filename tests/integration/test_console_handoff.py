"""The operators' side of the live handoff over HTTP (in-process console, real SQLite and
PostgreSQL queue, real Rasa tracker rows, a recording stand-in for Rasa's HTTP API):
the role and its permissions, take/reply/end with the relay's triggers, a double take,
callbacks with an audited number, the sweep, the overview's handoff figures, and
migration 0008."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer

from bot.console import audit
from bot.console import handoff as desk_module
from bot.console.db import Database
from bot.console.web.app import create_app
from dichvucong.handoff.queue import HandoffQueue
from tests.support.console import (
    OPERATOR,
    OPERATOR_2,
    PASSWORD,
    PHONE,
    REVIEWER,
    TRAINER,
    Conversation,
    FakeRasa,
    Workspace,
    add_operators,
    add_users,
    login,
    settings_for,
    write_tracker,
)

CITIZEN = "web-citizen-1"
QUESTION = f"cho tôi gặp cán bộ hỏi lệ phí khai sinh, số tôi {PHONE}"
CALLBACK_PHONE = "0987654321"
PAGES = ["/handoff", "/handoff/1"]
API_GETS = ["/api/handoff", "/api/handoff/1"]
POSTS = ["/handoff/1/take", "/handoff/1/reply", "/handoff/1/end",
         "/handoff/callbacks/1/phone", "/handoff/callbacks/1/done"]
API_POSTS = ["/api" + path for path in POSTS]


def _citizen(start: dt.datetime) -> Conversation:
    talk = Conversation(CITIZEN, start)
    (talk.user(QUESTION, "request_human", 0.95,
               entities=[talk.procedure("khai_sinh", QUESTION)])
        .slot("procedure", "khai_sinh").action("action_handoff")
        .bot("Cán bộ sẽ trả lời bạn tại đây. Bạn đang ở vị trí 1.", "utter_handoff").listen())
    return talk


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'console.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    add_users(url)
    add_operators(url)
    return url


@pytest.fixture
def rasa():
    fake = FakeRasa()
    yield fake
    fake.close()


@pytest.fixture
def parts(tmp_path, database_url, rasa):
    talk = _citizen(dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5))
    tracker = write_tracker(tmp_path / "tracker.db", [talk])
    settings = settings_for(Workspace(tmp_path / "workspace"), tracker, database_url,
                            RASA_URL=rasa.url, CONSOLE_HANDOFF_SWEEP_SECONDS="0")
    queue = HandoffQueue(database_url)
    ticket = queue.request(CITIZEN, "webchat", "asked", QUESTION, "khai_sinh", "Phường Ba Đình")
    yield settings, queue, ticket, talk, tracker
    queue.engine.dispose()


async def _client(settings) -> TestClient:
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


async def _as(settings, username):
    client = await _client(settings)
    csrf = await login(client, username)
    return client, csrf


async def _post(client, path, csrf, **body):
    return await client.post(path, json=body, headers={"X-CSRF-Token": csrf})


def _log(database_url, action=None):
    db = Database(database_url)
    try:
        return [(e.username, e.target) for e in reversed(audit.entries(db, action=action))]
    finally:
        db.dispose()


# --- who may ---------------------------------------------------------------------------


async def test_only_operators_reach_the_queue(parts):
    settings, queue, ticket, _, _ = parts
    queue.add_callback("web-late", "webchat", "phone", CALLBACK_PHONE, "gọi tôi nhé", None)
    anonymous = await _client(settings)
    try:
        for path in PAGES:
            response = await anonymous.get(path, allow_redirects=False)
            assert response.status == 303 and response.headers["Location"].startswith(
                "/login"), path
        for path in API_GETS + API_POSTS:
            method = anonymous.get if path in API_GETS else anonymous.post
            assert (await method(path)).status == 401, path
        for path in POSTS:
            response = await anonymous.post(path, data={"csrf_token": "x"},
                                            allow_redirects=False)
            assert response.status == 303, path
    finally:
        await anonymous.close()
    for role_user in (REVIEWER, TRAINER):
        client, csrf = await _as(settings, role_user)
        try:
            page = await client.get("/")
            assert "/handoff" not in await page.text()  # not in their navigation
            for path in PAGES + API_GETS:
                response = await client.get(path)
                assert response.status == 403, (role_user, path)
            for path in API_POSTS:
                response = await _post(client, path, csrf, text="xin chào")
                assert response.status == 403, (role_user, path)
                assert "vai trò operator" in (await response.json())["error"]
        finally:
            await client.close()
    assert queue.get(ticket.id).status == "queued"
    assert len(queue.callbacks()) == 1
    client, csrf = await _as(settings, OPERATOR)
    try:
        assert "Hàng chờ gặp cán bộ" in await (await client.get("/")).text()
        for path in API_POSTS:  # the session's CSRF token is required on every POST
            response = await client.post(path, json={"text": "x"})
            assert response.status == 403, path
            response = await client.post(path, json={"text": "x"},
                                         headers={"X-CSRF-Token": "wrong"})
            assert response.status == 403, path
        for path in POSTS:
            response = await client.post(path, data={"text": "x"}, allow_redirects=False)
            assert response.status == 403, path
    finally:
        await client.close()
    assert queue.get(ticket.id).status == "queued" and len(queue.callbacks()) == 1


# --- the round trip ---------------------------------------------------------------------


async def test_take_reply_suggest_and_end(parts, rasa):
    settings, queue, ticket, talk, tracker = parts
    client, csrf = await _as(settings, OPERATOR)
    other, other_csrf = await _as(settings, OPERATOR_2)
    try:
        listing = await (await client.get("/api/handoff")).json()
        [line] = listing["queued"]
        assert line["id"] == ticket.id and line["position"] == 1
        assert line["channel"] == "webchat" and line["procedure"] == "khai_sinh"
        assert line["locality"] == "Phường Ba Đình" and line["waiting_minutes"] >= 0
        page = await (await client.get("/handoff")).text()
        assert "Nhận" in page and "Phường Ba Đình" in page and "Đăng ký khai sinh" in page
        for shown in (str(listing), page):
            assert PHONE not in shown and PHONE.replace(" ", "") not in shown

        taken = await _post(client, f"/api/handoff/{ticket.id}/take", csrf)
        assert taken.status == 200, await taken.text()
        assert rasa.triggers[-1]["intent"] == "EXTERNAL_handoff_taken"
        assert rasa.triggers[-1]["conversation"] == CITIZEN
        assert rasa.triggers[-1]["output_channel"] == "webchat"
        assert rasa.triggers[-1]["entities"]["handoff_ticket"] == str(ticket.id)

        # A second operator, late or on a stale page, is told who has it.
        late = await _post(other, f"/api/handoff/{ticket.id}/take", other_csrf)
        assert late.status == 409
        assert f"đã được cán bộ {OPERATOR} nhận" in (await late.json())["error"]
        stale_page = await other.post(f"/handoff/{ticket.id}/take",
                                      data={"csrf_token": other_csrf})
        assert f"đã được cán bộ {OPERATOR} nhận" in await stale_page.text()
        assert queue.get(ticket.id).taken_by == OPERATOR

        view = await client.get(f"/handoff/{ticket.id}")
        html = await view.text()
        assert view.status == 200
        assert "cho tôi gặp cán bộ hỏi lệ phí khai sinh" in html
        assert PHONE not in html and PHONE.replace(" ", "") not in html
        assert 'id="reply"' in html and "Kết thúc" in html
        assert 'data-topic="fee"' in html  # the question's topic among the suggestions
        suggested = desk_module.suggestions("khai_sinh", "ask_fee")
        assert suggested[0].topic == "fee" and "Nguồn" in suggested[0].text

        polled = await (await client.get(f"/api/handoff/{ticket.id}")).json()
        assert polled["mine"] is True and polled["ticket"]["status"] == "active"
        last = polled["messages"][-1]["event_id"]
        # The citizen writes while the operator has the conversation: the poll sees it.
        talk.user('/EXTERNAL_handoff_taken{"handoff_ticket":"1"}', "EXTERNAL_handoff_taken")
        talk.bot("Cán bộ đã nhận câu hỏi của bạn.", "utter_handoff_taken")
        talk.user("vâng, con tôi sinh ngày 3/11, số 0912345678", "inform", 0.7).listen()
        await asyncio.get_running_loop().run_in_executor(None, write_tracker, tracker, [talk])
        newer = (await (await client.get(
            f"/api/handoff/{ticket.id}?after={last}")).json())["messages"]
        assert [m["who"] for m in newer] == ["notice", "user"]
        assert newer[1]["text"].startswith("vâng, con tôi sinh ngày") and "0912" not in str(newer)
        assert (await other.get(f"/api/handoff/{ticket.id}")).status == 200
        assert (await (await other.get(f"/api/handoff/{ticket.id}")).json())["mine"] is False

        sent = await _post(client, f"/api/handoff/{ticket.id}/reply", csrf,
                           text="Chào bạn, khai sinh đúng hạn được miễn lệ phí.")
        assert sent.status == 200, await sent.text()
        assert rasa.triggers[-1]["intent"] == "EXTERNAL_handoff_message"
        assert rasa.triggers[-1]["entities"]["handoff_text"].startswith("Chào bạn")
        form = await client.post(f"/handoff/{ticket.id}/reply", data={
            "csrf_token": csrf, "text": suggested[0].text, "suggested": "khai_sinh.fee"})
        assert form.status == 200 and "Đã gửi tới người dân." in await form.text()
        assert rasa.triggers[-1]["entities"]["handoff_text"] == suggested[0].text
        empty = await _post(client, f"/api/handoff/{ticket.id}/reply", csrf, text="  ")
        assert empty.status == 400 and (await empty.json())["error"] == "Tin nhắn trống."
        intruder = await _post(other, f"/api/handoff/{ticket.id}/reply", other_csrf, text="hi")
        assert intruder.status == 409
        assert f"do cán bộ {OPERATOR} phụ trách" in (await intruder.json())["error"]
        assert (await _post(other, f"/api/handoff/{ticket.id}/end", other_csrf)).status == 409

        ended = await _post(client, f"/api/handoff/{ticket.id}/end", csrf)
        assert ended.status == 200, await ended.text()
        assert rasa.triggers[-1]["intent"] == "EXTERNAL_handoff_ended"
        assert rasa.triggers[-1]["entities"]["handoff_ended_by"] == "operator"
        assert queue.get(ticket.id).status == "closed"
        again = await _post(client, f"/api/handoff/{ticket.id}/take", csrf)
        assert again.status == 409 and "đã kết thúc" in (await again.json())["error"]
        after = await (await client.get(f"/api/handoff/{ticket.id}")).json()
        assert after["mine"] is False and after["ticket"]["status"] == "closed"
        assert [t["intent"] for t in rasa.triggers].count("EXTERNAL_handoff_message") == 2
    finally:
        await client.close()
        await other.close()
    entries = _log(settings.database_url)
    assert (OPERATOR, f"#{ticket.id}") in entries
    assert _log(settings.database_url, desk_module.TAKE) == [(OPERATOR, f"#{ticket.id}")]
    replies = _log(settings.database_url, desk_module.REPLY)
    assert replies == [(OPERATOR, f"#{ticket.id}"),
                       (OPERATOR, f"#{ticket.id} (gợi ý: khai_sinh.fee)")]
    assert _log(settings.database_url, desk_module.END) == [(OPERATOR, f"#{ticket.id}")]
    assert "miễn lệ phí" not in str(entries)  # what was said is not in the audit log


async def test_rasa_down_keeps_the_take_and_says_so(parts, rasa):
    settings, queue, ticket, _, _ = parts
    down = settings.with_(rasa_url="http://127.0.0.1:9")
    client, csrf = await _as(down, OPERATOR)
    try:
        response = await _post(client, f"/api/handoff/{ticket.id}/take", csrf)
        assert response.status == 502
        error = (await response.json())["error"]
        assert "máy chủ trợ lý không trả lời" in error and "“Nhận” lần nữa" in error
        assert queue.get(ticket.id).taken_by == OPERATOR
    finally:
        await client.close()
    client, csrf = await _as(settings, OPERATOR)  # Rasa back: taking again tells the citizen
    try:
        assert (await _post(client, f"/api/handoff/{ticket.id}/take", csrf)).status == 200
        assert rasa.triggers[-1]["intent"] == "EXTERNAL_handoff_taken"
    finally:
        await client.close()


# --- callbacks ----------------------------------------------------------------------------


async def test_callback_number_only_on_demand_and_deleted_once_called(parts):
    settings, queue, _, _, _ = parts
    callback = queue.add_callback("web-late", "webchat", "phone", CALLBACK_PHONE,
                                  "hỏi về căn cước", "can_cuoc")
    client, csrf = await _as(settings, OPERATOR)
    try:
        listed = await (await client.get("/api/handoff")).json()
        [shown] = listed["callbacks"]
        assert shown["phone_masked"] and CALLBACK_PHONE not in str(listed)
        page = await (await client.get("/handoff")).text()
        assert "Xem số" in page and CALLBACK_PHONE not in page
        assert _log(settings.database_url, desk_module.CALLBACK_PHONE) == []

        revealed = await client.post(f"/handoff/callbacks/{callback.id}/phone",
                                     data={"csrf_token": csrf})
        assert CALLBACK_PHONE in await revealed.text()
        api = await _post(client, f"/api/handoff/callbacks/{callback.id}/phone", csrf)
        assert (await api.json())["phone"] == CALLBACK_PHONE
        assert _log(settings.database_url, desk_module.CALLBACK_PHONE) == [
            (OPERATOR, f"gọi lại #{callback.id}")] * 2
        # The page after the reveal is not kept anywhere: a reload shows it masked again.
        assert CALLBACK_PHONE not in await (await client.get("/handoff")).text()

        called = await client.post(f"/handoff/callbacks/{callback.id}/done",
                                   data={"csrf_token": csrf})
        assert "số điện thoại đã được xóa" in await called.text()
        assert queue.callbacks() == []
        gone = await _post(client, f"/api/handoff/callbacks/{callback.id}/done", csrf)
        assert gone.status == 404
        missing = await _post(client, f"/api/handoff/callbacks/{callback.id}/phone", csrf)
        assert missing.status == 404
    finally:
        await client.close()
    assert _log(settings.database_url, desk_module.CALLBACK_DONE) == [
        (OPERATOR, f"gọi lại #{callback.id}")]
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT count(*) FROM handoff_callbacks")).scalar()
        assert rows == 0
    finally:
        engine.dispose()


# --- the sweep and the figures ----------------------------------------------------------------


async def test_the_console_sweeps_idle_conversations(parts, rasa):
    settings, queue, ticket, _, _ = parts
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)
    queue.take(ticket.id, OPERATOR, now=past)
    client = await _client(settings.with_(handoff_sweep_seconds=0.2))
    try:
        # The ticket is closed first, the citizen told just after.
        for _ in range(100):
            if queue.get(ticket.id).status == "closed" and rasa.triggers:
                break
            await asyncio.sleep(0.1)
    finally:
        await client.close()
    assert queue.get(ticket.id).ended_by == "timeout"
    assert rasa.triggers[-1]["intent"] == "EXTERNAL_handoff_ended"
    assert rasa.triggers[-1]["entities"]["handoff_ended_by"] == "timeout"


async def test_overview_shows_handoffs_per_day_with_median_times(parts):
    settings, queue, ticket, _, _ = parts
    created = ticket.created_at
    queue.take(ticket.id, OPERATOR, now=created + dt.timedelta(minutes=4))
    queue.end(ticket.id, "operator", now=created + dt.timedelta(minutes=14))
    second = queue.request("web-other", "webchat", "failed_twice", "???", None, None,
                           now=created)
    queue.take(second.id, OPERATOR_2, now=created + dt.timedelta(minutes=2))
    queue.end(second.id, "citizen", now=created + dt.timedelta(minutes=8))
    client, _ = await _as(settings, REVIEWER)
    try:
        figures = await (await client.get("/api/analytics")).json()
        assert figures["handoff_times"] == {"median_wait_seconds": pytest.approx(180.0),
                                            "median_handling_seconds": pytest.approx(480.0),
                                            "available": True}
        day = created.astimezone(dt.timezone(dt.timedelta(hours=7))).date().isoformat()
        assert figures["handoff_queue"]["requested"] == 2
        assert figures["handoff_queue"]["per_day"] == [{
            "day": day, "requested": 2, "taken": 2,
            "median_wait_seconds": pytest.approx(180.0),
            "median_handling_seconds": pytest.approx(480.0)}]
        page = await (await client.get("/")).text()
        assert 'id="handoffs-by-day"' in page and "3.0 phút" in page and "8.0 phút" in page
        assert 'id="kpi-resolved"' in page  # beside "resolved without a human"
    finally:
        await client.close()


# --- accounts and schema -----------------------------------------------------------------------


def test_cli_creates_operators(tmp_path):
    import subprocess
    import sys

    from tests.support.console import ROOT

    env = {"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "PATH": "/usr/bin:/bin"}
    added = subprocess.run(
        [sys.executable, "-m", "bot.console", "users", "add", "Hoa.CB", "--role", "operator",
         "--password-stdin"], cwd=ROOT, env=env, input=PASSWORD + "\n", capture_output=True,
        text=True, timeout=300)
    assert added.returncode == 0, added.stderr
    assert "Đã tạo tài khoản hoa.cb (Cán bộ trả lời người dân)" in added.stdout


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return request.getfixturevalue("postgres_server").create_database()


def test_migration_0008_keeps_sessions_and_allows_operators(empty_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.console.auth import Accounts, AuthError
    from dichvucong.dossiers.models import Base
    from dichvucong.dossiers.store import downgrade, make_engine, migrate

    migrate(empty_url, "0007")
    db = Database(empty_url)
    accounts = Accounts(db)
    accounts.add_user(REVIEWER, PASSWORD, "reviewer")
    token, _ = accounts.login(REVIEWER, PASSWORD)
    with pytest.raises(sa.exc.IntegrityError):
        accounts.add_user(OPERATOR, PASSWORD, "operator")
    db.dispose()
    migrate(empty_url)
    db = Database(empty_url)
    accounts = Accounts(db)
    engine = make_engine(empty_url)
    try:
        assert accounts.authenticate(token) is not None  # no row was rebuilt or cascaded
        accounts.add_user(OPERATOR, PASSWORD, "operator")
        with pytest.raises(AuthError):
            accounts.add_user("x.boss", PASSWORD, "boss")
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO console_users (username, password_hash, role, active, created_at)"
                " VALUES ('x.boss', 'h', 'boss', true, '2026-12-01 00:00:00')"))
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        db.dispose()
        downgrade(empty_url, "0007")
        with engine.connect() as connection:
            roles = connection.execute(sa.text("SELECT username, role FROM console_users")).all()
        assert roles == [(REVIEWER, "reviewer")]
    finally:
        db.dispose()
        engine.dispose()
