"""Staff console over HTTP (in-process aiohttp server): login, sessions, CSRF, roles,
transcripts with masking, review inbox, export, custom intents, promote/rollback, analytics."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update

from bot.console.db import ConsoleSession, Database, ModelVersion
from bot.console.settings import Settings
from bot.console.web.app import create_app
from tests.support.console import (
    DISABLED,
    IDENTITY,
    PASSWORD,
    PHONE,
    REVIEWER,
    SECOND_FACTOR,
    TRAINER,
    FakeRasa,
    add_users,
    login,
    make_workspace,
    sample_conversations,
    settings_for,
    today_vn,
    write_tracker,
)

PAGES = ["/", "/conversations", "/conversations/1", "/review", "/intents", "/training",
         "/training/jobs/1", "/nowhere"]
API_GETS = ["/api/me", "/api/conversations", "/api/conversations/1", "/api/review",
            "/api/analytics", "/api/intents", "/api/training", "/api/jobs/1"]
POSTS = ["/review/1", "/intents", "/training/export", "/training/train", "/models/v1/promote",
         "/models/v1/rollback", "/models/v1/discard", "/logout", "/api/review/1",
         "/api/intents", "/api/export", "/api/train", "/api/models/v1/promote",
         "/api/models/v1/rollback", "/api/models/v1/discard"]
TRAINER_ONLY = ["/api/train", "/api/export", "/api/intents", "/api/models/v1/promote",
                "/api/models/v1/rollback", "/api/models/v1/discard"]
PERSONAL = [PHONE, PHONE.replace(" ", ""), "0912", IDENTITY, "099012"]


@pytest.fixture
def workspace(tmp_path):
    return make_workspace(tmp_path / "workspace")


@pytest.fixture
def tracker_db(tmp_path):
    return write_tracker(tmp_path / "tracker.db", sample_conversations(today_vn()))


@pytest.fixture
def database_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'console.db'}"
    add_users(url)
    return url


@pytest.fixture
def settings(workspace, tracker_db, database_url) -> Settings:
    return settings_for(workspace, tracker_db, database_url)


async def _client(settings: Settings):
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


@pytest.fixture
async def client(settings):
    client = await _client(settings)
    yield client
    await client.close()


async def _json_post(client, path, csrf, body=None, **headers):
    return await client.post(path, json=body or {}, headers={"X-CSRF-Token": csrf, **headers})


async def _inbox(client):
    response = await client.get("/api/review?show=all")
    assert response.status == 200
    return (await response.json())["items"]


def _event(items, text_start):
    return next(i for i in items if i["text"].startswith(text_start))["event_id"]


# --- authentication ---------------------------------------------------------------------


async def test_nothing_is_reachable_without_logging_in(client):
    for path in PAGES:
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303, path
        assert response.headers["Location"].startswith("/login"), path
    for path in API_GETS:
        response = await client.get(path)
        assert response.status == 401, path
        assert (await response.json())["error"] == "Cần đăng nhập."
    for path in POSTS:
        response = await client.post(path, data={"csrf_token": "x"}, allow_redirects=False)
        expected = 401 if path.startswith("/api/") else 303
        assert response.status == expected, path
    login_page = await client.get("/login")
    assert login_page.status == 200
    assert "Đăng nhập bảng điều khiển" in await login_page.text()
    assert (await client.get("/static/console.css")).status == 200


async def test_login_redirects_back_to_the_page_asked_for(client):
    response = await client.get("/review?show=done", allow_redirects=False)
    location = urllib.parse.urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert urllib.parse.parse_qs(location.query) == {"next": ["/review?show=done"]}
    page = await client.get(response.headers["Location"])
    html = await page.text()
    assert 'name="next" value="/review?show=done"' in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    done = await client.post(
        "/login",
        data={"username": REVIEWER, "password": PASSWORD, "csrf_token": token,
              "next": "//evil.example/phish"},
        allow_redirects=False,
    )
    assert done.status == 303
    assert done.headers["Location"] == "/"  # never to another site


@pytest.mark.parametrize("next_url,expected", [
    ("/\t/evil.example", "/"),
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),
    ("/%09/evil.example", "/"),
    ("https://evil.example", "/"),
    ("/%2F%2Fevil.example", "/"),
    ("/review?x=1", "/review?x=1"),
])
async def test_login_redirect_stays_on_the_console(client, next_url, expected):
    page = await client.get("/login?next=" + urllib.parse.quote(next_url, safe=""))
    html = await page.text()
    assert f'name="next" value="{expected}"' in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    done = await client.post(
        "/login",
        data={"username": REVIEWER, "password": PASSWORD, "csrf_token": token,
              "next": next_url},
        allow_redirects=False,
    )
    assert done.status == 303
    location = done.headers["Location"]
    assert location == expected
    parts = urllib.parse.urlsplit(location)
    assert not parts.scheme and not parts.netloc and not location.startswith("//")


async def test_wrong_password_unknown_user_and_disabled_account(client):
    for name, password, message in [
        (TRAINER, "sai-mat-khau-roi", "Sai tên đăng nhập hoặc mật khẩu."),
        ("khong.ton.tai", PASSWORD, "Sai tên đăng nhập hoặc mật khẩu."),
        (DISABLED, PASSWORD, "Tài khoản này đã bị vô hiệu hóa"),
    ]:
        response = await login(client, name, password, expect=401)
        assert message in await response.text()
        assert "console_session" not in response.cookies
    assert (await client.get("/api/me")).status == 401


async def test_login_is_throttled_after_five_failures(client):
    for _ in range(5):
        await login(client, REVIEWER, "sai-mat-khau-roi", expect=401)
    response = await login(client, REVIEWER, PASSWORD, expect=429)
    assert "Đăng nhập sai quá nhiều lần" in await response.text()
    assert "15 phút" in await response.text()
    # Another account is not locked by someone else's failures.
    assert await login(client, TRAINER)


async def test_login_form_needs_its_csrf_token(client):
    response = await client.post(
        "/login", data={"username": TRAINER, "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403
    assert "console_session" not in response.cookies


async def test_session_cookie_is_httponly_strict_and_server_side(client, settings):
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    response = await client.post(
        "/login", data={"username": TRAINER, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    cookie = response.headers["Set-Cookie"]
    set_cookies = response.headers.getall("Set-Cookie")
    session_cookie = next(c for c in set_cookies if c.startswith("console_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie
    assert "Path=/" in session_cookie and "Max-Age=28800" in session_cookie
    value = response.cookies["console_session"].value
    assert len(value) >= 40 and cookie
    db = Database(settings.database_url)
    with db.session() as session:
        hashes = list(session.scalars(select(ConsoleSession.token_hash)))
    assert hashes and value not in hashes  # only a digest is stored
    me = await client.get("/api/me")
    assert (await me.json())["role"] == "trainer"
    csrf = (await me.json())["csrf_token"]
    # Idle or expired sessions end: age this one past its absolute expiry.
    with db.session() as session:
        session.execute(update(ConsoleSession).values(
            expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    assert (await client.get("/api/me")).status == 401
    db.dispose()
    assert csrf


async def test_logout_ends_the_session(client):
    csrf = await login(client, REVIEWER)
    response = await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert (await client.get("/api/me")).status == 401


async def test_disabling_an_account_signs_it_out(client, settings):
    from bot.console.auth import Accounts

    await login(client, REVIEWER)
    assert (await client.get("/api/me")).status == 200
    db = Database(settings.database_url)
    Accounts(db).set_active(REVIEWER, False)
    db.dispose()
    assert (await client.get("/api/me")).status == 401


async def test_every_post_needs_the_session_csrf_token(client):
    csrf = await login(client, REVIEWER)
    event = _event(await _inbox(client), "lệ phí đổi bằng lái")
    body = {"decision": "confirm", "procedure": "doi_gplx"}
    path = f"/api/review/{event}"
    assert (await client.post(path, json=body)).status == 403
    assert (await _json_post(client, path, "sai-token", body)).status == 403
    other_site = await _json_post(client, path, csrf, body, Origin="https://evil.example")
    assert other_site.status == 403
    form = await client.post(f"/review/{event}", data=body, allow_redirects=False)
    assert form.status == 403
    assert "CSRF" in await form.text()
    assert (await _json_post(client, path, csrf, body)).status == 200
    form_ok = await client.post(
        f"/review/{event}", data={**body, "csrf_token": csrf}, allow_redirects=False
    )
    assert form_ok.status == 303


async def test_reviewer_cannot_train_promote_roll_back_export_or_create_intents(client):
    csrf = await login(client, REVIEWER)
    for path in TRAINER_ONLY:
        response = await _json_post(client, path, csrf, {"name": "abc_def"})
        assert response.status == 403, path
        assert "người huấn luyện" in (await response.json())["error"]
    for path in ["/training/train", "/training/export", "/intents", "/models/v1/promote",
                 "/models/v1/rollback"]:
        response = await client.post(path, data={"csrf_token": csrf}, allow_redirects=False)
        assert response.status == 403, path
    training = await (await client.get("/training")).text()
    assert 'id="train-button"' not in training and "vai trò người duyệt" in training
    # ...but a reviewer reads and annotates.
    event = _event(await _inbox(client), "lệ phí đổi bằng lái")
    done = await _json_post(client, f"/api/review/{event}", csrf, {"decision": "noise"})
    assert done.status == 200


async def test_security_headers(client):
    await login(client, REVIEWER)
    response = await client.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


# --- transcripts --------------------------------------------------------------------------


async def test_conversation_list_and_filters(client):
    await login(client, REVIEWER)

    async def keys(query=""):
        response = await client.get("/api/conversations" + query)
        assert response.status == 200
        body = await response.json()
        return {c["sender"]: c for c in body["conversations"]}, body

    every, body = await keys()
    assert set(every) == {"web-answered", "web-handoff", "web-lookup", "8123456789",
                          "web-unsure", "web-known"}
    assert body["channels"] == ["telegram", "webchat"]
    assert set((await keys("?channel=telegram"))[0]) == {"8123456789"}
    assert set((await keys("?procedure=doi_gplx"))[0]) == {"8123456789"}
    assert set((await keys("?procedure=can_cuoc"))[0]) == {"web-answered"}
    assert set((await keys("?fallback=1"))[0]) == {"web-handoff", "web-unsure", "web-known"}
    assert set((await keys("?handoff=1"))[0]) == {"web-handoff"}
    assert set((await keys("?negative=1"))[0]) == {"8123456789"}
    assert set((await keys("?low_confidence=1"))[0]) == {
        "web-handoff", "8123456789", "web-unsure", "web-known"}
    today = today_vn()
    yesterday = today - dt.timedelta(days=1)
    recent, _ = await keys(f"?from={yesterday}&to={today}")
    assert set(recent) == {"web-answered", "web-handoff", "web-lookup"}
    assert set((await keys(f"?from={today}&to={today}&fallback=1"))[0]) == {"web-handoff"}
    page = await (await client.get("/conversations?negative=1")).text()
    assert "lệ phí đổi bằng lái xe bao nhiêu" in page and "1 hội thoại" in page


async def test_conversation_view_shows_nlu_beside_replies_and_masks_personal_data(client):
    await login(client, REVIEWER)
    listing = (await (await client.get("/api/conversations")).json())["conversations"]
    key = {c["sender"]: c["key"] for c in listing}
    detail = await (await client.get(f"/api/conversations/{key['8123456789']}")).json()
    user = [m for m in detail["messages"] if m["kind"] == "user"]
    assert user[0]["intent"] == "ask_fee" and user[0]["confidence"] == pytest.approx(0.62)
    assert {"entity": "procedure", "value": "doi_gplx"} in user[0]["entities"]
    assert set(user[0]["reasons"]) == {"low_confidence", "negative_rating"}
    assert user[1]["rating"] == "down"
    html = await (await client.get(f"/conversations/{key['8123456789']}")).text()
    assert "ask_fee" in html and "0,62" in html and "Lệ phí – Đổi giấy phép lái xe" in html
    assert "Bị đánh giá 👎" in html

    pages = [f"/conversations/{k}" for k in key.values()] + [
        "/conversations", "/review?show=all", "/", "/api/conversations", "/api/review?show=all"]
    pages += [f"/api/conversations/{k}" for k in key.values()]
    for path in pages:
        text = await (await client.get(path)).text()
        for secret in PERSONAL:
            assert secret not in text, (path, secret)
    lookup = await (await client.get(f"/api/conversations/{key['web-lookup']}")).json()
    digits = next(m for m in lookup["messages"] if m.get("second_factor"))
    assert digits["text"] == "••••"
    assert all(SECOND_FACTOR not in m["text"] for m in lookup["messages"])
    handoff = await (await client.get(f"/api/conversations/{key['web-handoff']}")).json()
    assert any(m["text"] == "số điện thoại của tôi là •••••••678, gọi lại giúp"
               for m in handoff["messages"])


async def test_missing_tracker_store_is_reported_and_never_created(tmp_path, workspace,
                                                                   database_url):
    missing = tmp_path / "nothing" / "tracker.db"
    client = await _client(settings_for(workspace, missing, database_url))
    try:
        await login(client, REVIEWER)
        page = await client.get("/conversations")
        assert page.status == 200 and "Chưa có kho hội thoại" in await page.text()
        assert (await client.get("/api/conversations")).status == 503
        assert (await client.get("/")).status == 200
    finally:
        await client.close()
    assert not missing.exists()


# --- review and training data -----------------------------------------------------------------


async def test_inbox_lists_unsure_and_badly_rated_messages_only(client):
    await login(client, REVIEWER)
    items = await _inbox(client)
    texts = {i["text"]: set(i["reasons"]) for i in items}
    assert texts == {
        "cho hỏi thủ tục gì đó ở xã": {"fallback"},
        "lệ phí đổi bằng lái xe bao nhiêu": {"low_confidence", "negative_rating"},
        "giờ làm việc của bộ phận một cửa thế nào": {"fallback"},
        "cccd của tôi •••••••••345 bị sai tên thì sửa sao": {"low_confidence"},
        "tạm biệt nhé": {"fallback"},
        "hello bot": {"low_confidence"},
    }
    html = await (await client.get("/review")).text()
    assert "6 tin nhắn" in html and "Xác nhận dự đoán" in html


async def test_annotations_refuse_digits_buttons_and_bad_values(client, tracker_db):
    import sqlite3

    csrf = await login(client, REVIEWER)
    with sqlite3.connect(tracker_db) as connection:
        ids = dict(connection.execute(
            "SELECT json_extract(data, '$.text'), id FROM events WHERE type_name = 'user'"))
    digits = ids[SECOND_FACTOR]
    button = ids['/rate_answer{"rating":"down"}']
    for event in (digits, button):
        response = await _json_post(client, f"/api/review/{event}", csrf, {"decision": "confirm"})
        assert response.status == 400
    event = ids["lệ phí đổi bằng lái xe bao nhiêu"]
    for body in ({"decision": "correct", "intent": "ask_fee", "procedure": "ha_noi"},
                 {"decision": "correct", "intent": "Tên Có Dấu"},
                 {"decision": "maybe"}):
        assert (await _json_post(client, f"/api/review/{event}", csrf, body)).status == 400
    assert (await _json_post(client, "/api/review/999999", csrf, {"decision": "noise"})).status \
        == 400


async def test_review_export_and_new_intent(client, settings):
    csrf = await login(client, REVIEWER)
    items = await _inbox(client)

    async def annotate(text, **body):
        response = await _json_post(client, f"/api/review/{_event(items, text)}", csrf, body)
        assert response.status == 200, await response.text()
        return (await response.json())["annotation"]

    fee = await annotate("lệ phí đổi bằng lái", decision="confirm", procedure="doi_gplx")
    assert (fee["decision"], fee["intent"], fee["procedure"]) == ("confirmed", "ask_fee",
                                                                   "doi_gplx")
    where = await annotate("cho hỏi thủ tục", decision="correct", intent="ask_where")
    assert where["decision"] == "corrected" and where["reviewer"] == REVIEWER
    await annotate("giờ làm việc", decision="correct", intent="ask_where",
                   new_intent="hoi_gio_lam_viec")
    await annotate("cccd của tôi", decision="correct", intent="ask_procedure")
    await annotate("tạm biệt nhé", decision="confirm")  # a held-out sentence
    await annotate("hello bot", decision="confirm")  # already in data/nlu
    assert len([i for i in await _inbox(client) if not i["annotation"]]) == 0
    open_page = await (await client.get("/review")).text()
    assert "0 tin nhắn" in open_page

    # The reviewer hands over; a trainer exports.
    await client.post("/logout", data={"csrf_token": csrf})
    csrf = await login(client, TRAINER)
    response = await _json_post(client, "/api/export", csrf)
    assert response.status == 200, await response.text()
    report = (await response.json())["export"]
    assert report["exported"] == 2
    assert report["by_intent"] == {"ask_fee": 1, "ask_where": 1}
    assert report["skipped"] == {"heldout": 1, "duplicate": 1, "personal": 1,
                                 "unknown_intent": 1}
    reviewed = settings.reviewed_file.read_text(encoding="utf-8")
    assert reviewed.startswith("# Generated by the staff console")
    assert "- lệ phí đổi bằng lái xe bao nhiêu" in reviewed
    assert "tạm biệt nhé" not in reviewed and "hello bot" not in reviewed and "•" not in reviewed
    assert "doi_gplx" not in reviewed  # the procedure extractor finds procedures itself
    from rasa.shared.nlu.training_data.loading import load_data

    examples = {(e.get("intent"), e.get("text")) for e in
                load_data(str(settings.reviewed_file)).intent_examples}
    assert examples == {("ask_fee", "lệ phí đổi bằng lái xe bao nhiêu"),
                        ("ask_where", "cho hỏi thủ tục gì đó ở xã")}

    intents = await (await client.get("/api/intents")).json()
    assert intents["pending"] == [{"intent": "hoi_gio_lam_viec", "messages": 1}]
    response = await _json_post(client, "/api/intents", csrf, {
        "name": "hoi_gio_lam_viec",
        "examples": ["bộ phận một cửa làm việc mấy giờ", "thứ bảy có làm việc không",
                     "mấy giờ thì ủy ban mở cửa"],
        "response": "Bộ phận Một cửa làm việc giờ hành chính, thứ Hai đến thứ Sáu.",
    })
    assert response.status == 201, await response.text()
    again = await (await _json_post(client, "/api/export", csrf)).json()
    assert again["export"]["by_intent"] == {"ask_fee": 1, "ask_where": 1, "hoi_gio_lam_viec": 1}
    assert "giờ làm việc của bộ phận một cửa thế nào" in settings.reviewed_file.read_text(
        encoding="utf-8")
    page = await (await client.get("/training")).text()
    assert "0 câu chưa xuất" in page


async def test_create_intent_writes_separate_validated_files(client, settings, workspace):
    csrf = await login(client, TRAINER)
    hand_written = {p: p.read_bytes() for d in (workspace.domain, workspace.nlu, workspace.rules)
                    for p in d.glob("*.yml")}
    bad = [
        ({"name": "Hỏi Giờ", "examples": "a\nb", "response": "x"}, "Tên ý định"),
        ({"name": "hoi_gio", "examples": "chỉ một câu", "response": "x"}, "ít nhất 2"),
        ({"name": "greet", "examples": "câu một\ncâu hai", "response": "x"}, "đã có"),
        ({"name": "hoi_gio", "examples": "tạm biệt nhé\ncâu hai", "response": "x"},
         "tập kiểm tra"),
        ({"name": "hoi_gio", "examples": "hello bot\ncâu hai", "response": "x"},
         "đã có trong dữ liệu"),
        ({"name": "hoi_gio", "examples": "câu một\ncâu hai", "response": ""}, "câu trả lời"),
    ]
    for body, message in bad:
        response = await _json_post(client, "/api/intents", csrf, body)
        assert response.status == 422, body
        assert message in (await response.json())["error"], body
    assert not settings.custom_domain_file.exists()

    form = await client.post("/intents", data={
        "csrf_token": csrf, "name": "hoi_phi_ban_sao",
        "examples": "bản sao giấy khai sinh mất phí bao nhiêu\n"
                    "xin bản sao trích lục có tốn tiền không\n\n",
        "response": "Phí cấp bản sao trích lục hộ tịch là 8.000 đồng/bản.",
    }, allow_redirects=False)
    assert form.status == 303
    domain = yaml.safe_load(settings.custom_domain_file.read_text(encoding="utf-8"))
    assert domain["intents"] == ["hoi_phi_ban_sao"]
    assert domain["responses"]["utter_hoi_phi_ban_sao"][0]["text"].startswith("Phí cấp bản sao")
    rules = yaml.safe_load(settings.custom_rules_file.read_text(encoding="utf-8"))
    assert rules["rules"][0]["steps"] == [{"intent": "hoi_phi_ban_sao"},
                                          {"action": "utter_hoi_phi_ban_sao"}]
    assert "- xin bản sao trích lục có tốn tiền không" in settings.custom_nlu_file.read_text(
        encoding="utf-8")
    for path, content in hand_written.items():
        assert path.read_bytes() == content, path
    page = await (await client.get("/intents")).text()
    assert "hoi_phi_ban_sao" in page and "Đã tạo ý định hoi_phi_ban_sao" in page
    review_page = await (await client.get("/review?show=all")).text()
    assert '<option value="hoi_phi_ban_sao"' in review_page


# --- models -------------------------------------------------------------------------------------


def _candidate(settings: Settings, version: str, content: bytes) -> None:
    settings.candidates_dir.mkdir(parents=True, exist_ok=True)
    path = settings.candidates_dir / f"{version}.tar.gz"
    path.write_bytes(content)
    db = Database(settings.database_url)
    with db.session() as session:
        session.add(ModelVersion(id=version, created_by=TRAINER, status="candidate",
                                 path=str(path), metrics={"intent_accuracy": 0.9}))
    db.dispose()


async def test_promote_and_roll_back_keep_every_version_and_reload_rasa(
    workspace, tracker_db, database_url
):
    fake = FakeRasa()
    settings = settings_for(workspace, tracker_db, database_url, RASA_URL=fake.url)
    settings.current_model.write_bytes(b"model made by make train")
    _candidate(settings, "20261126-100000", b"candidate one")
    _candidate(settings, "20261126-110000", b"candidate two")
    client = await _client(settings)
    try:
        csrf = await login(client, TRAINER)
        response = await _json_post(client, "/api/models/20261126-100000/promote", csrf)
        body = await response.json()
        assert response.status == 200 and body["rasa_reloaded"] is True, body
        assert settings.current_model.read_bytes() == b"candidate one"
        assert fake.calls[-1]["body"] == {"model_file": str(settings.current_model.resolve())}
        assert "token=test-token" in fake.calls[-1]["path"]
        await _json_post(client, "/api/models/20261126-110000/promote", csrf)
        assert settings.current_model.read_bytes() == b"candidate two"
        training = await (await client.get("/api/training")).json()
        status = {v["id"]: v["status"] for v in training["versions"]}
        initial = next(v for v in status if v.startswith("ngoai-"))
        assert status == {"20261126-110000": "active", "20261126-100000": "retired",
                          initial: "retired"}
        assert training["current"]["version"] == "20261126-110000"
        kept = sorted(p.name for p in settings.versions_dir.iterdir())
        assert kept == sorted([f"{initial}.tar.gz", "20261126-100000.tar.gz",
                               "20261126-110000.tar.gz"])
        assert not list(settings.candidates_dir.glob("*.tar.gz"))
        # A promoted version cannot be promoted again, only rolled back to later.
        again = await _json_post(client, "/api/models/20261126-110000/promote", csrf)
        assert again.status == 409
        back = await _json_post(client, f"/api/models/{initial}/rollback", csrf)
        assert back.status == 200
        assert settings.current_model.read_bytes() == b"model made by make train"
        assert len(fake.calls) == 3
        page = await (await client.get("/training")).text()
        assert "Quay lại phiên bản này" in page and initial in page
    finally:
        await client.close()
        fake.close()


async def test_promotion_is_kept_when_rasa_is_not_running(client, settings):
    _candidate(settings, "20261126-120000", b"candidate")
    csrf = await login(client, TRAINER)
    response = await client.post("/models/20261126-120000/promote",
                                 data={"csrf_token": csrf}, allow_redirects=False)
    assert response.status == 303
    page = await (await client.get("/training")).text()
    assert "không chạy" in page
    assert settings.current_model.read_bytes() == b"candidate"
    _candidate(settings, "20261126-130000", b"unwanted")
    assert (await _json_post(client, "/api/models/20261126-130000/discard", csrf)).status == 200
    assert not (settings.candidates_dir / "20261126-130000.tar.gz").exists()


async def test_second_training_job_is_refused_while_one_runs(client, settings):
    from bot.console.training import Trainer

    trainer = Trainer(settings, Database(settings.database_url))
    job = trainer.create_job("someone")  # this process is alive: the job counts as running
    csrf = await login(client, TRAINER)
    response = await _json_post(client, "/api/train", csrf)
    assert response.status == 409
    assert f"#{job.id}" in (await response.json())["error"]
    trainer.db.dispose()


# --- analytics ------------------------------------------------------------------------------------


async def test_analytics_figures_and_server_side_charts(client):
    await login(client, REVIEWER)
    today = today_vn()
    start = today - dt.timedelta(days=6)
    figures = await (await client.get(f"/api/analytics?from={start}&to={today}")).json()
    assert figures["conversations"] == 6
    assert figures["ratings"] == {"up": 1, "down": 1}
    assert figures["satisfaction"] == pytest.approx(0.5)
    assert figures["handoff_rate"] == pytest.approx(1 / 6)
    assert figures["messages"] == 11
    assert figures["fallback_rate"] == pytest.approx(3 / 11)
    assert figures["conversations_per_day"][today.isoformat()] == 2
    assert dict(figures["top_procedures"]) == {"can_cuoc": 1, "doi_gplx": 1}
    assert dict(figures["top_intents"])["ask_fee"] == 1
    assert "out_of_scope" not in dict(figures["top_intents"])  # the lookup digits
    html = await (await client.get(f"/?from={start}&to={today}")).text()
    assert html.count("<svg") == 6  # five charts, and handoffs per day
    assert "Số hội thoại mỗi ngày" in html and "Thủ tục được hỏi nhiều nhất" in html
    assert re.search(r'<script src="/static/console.js"', html)
    assert "<script>" not in html
    assert ">6<" in html.replace(" ", "")


async def test_static_files_are_local(client):
    from bot.console.web.app import CONSOLE_DIR as HERE

    for path in ("/static/console.css", "/static/console.js"):
        response = await client.get(path)
        assert response.status == 200
        assert "http://" not in await response.text() and "https://" not in await response.text()
    for template in (HERE / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text, template


async def test_operator_probes_need_no_session_and_disclose_nothing(client):
    alive = await client.get("/health")
    assert alive.status == 200 and await alive.json() == {"status": "ok"}
    ready = await client.get("/ready")
    body = await ready.json()
    assert ready.status == 200, body
    assert body == {"status": "ok", "checks": {"console_database": "ok", "tracker_store": "ok"}}
    scraped = await client.get("/metrics")
    text = await scraped.text()
    assert scraped.status == 200 and "process_resident_memory_bytes" in text
    # Everything else still needs a session.
    assert (await client.get("/api/conversations")).status == 401
