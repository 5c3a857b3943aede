"""The console's audit log: logins, conversations viewed, export, promote/rollback; trainers read it."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.console import audit
from bot.console.db import Database, ModelVersion
from bot.console.web.app import create_app
from tests.support.console import (
    REVIEWER,
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


@pytest.fixture
def parts(tmp_path):
    workspace = make_workspace(tmp_path / "workspace")
    tracker_db = write_tracker(tmp_path / "tracker.db", sample_conversations(today_vn()))
    database_url = f"sqlite:///{tmp_path / 'console.db'}"
    add_users(database_url)
    return workspace, tracker_db, database_url


async def _client(settings):
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


def _log(database_url):
    db = Database(database_url)
    try:
        return [(e.username, e.action, e.target) for e in reversed(audit.entries(db))]
    finally:
        db.dispose()


def _candidate(settings, version: str) -> None:
    settings.candidates_dir.mkdir(parents=True, exist_ok=True)
    path = settings.candidates_dir / f"{version}.tar.gz"
    path.write_bytes(b"candidate")
    db = Database(settings.database_url)
    with db.session() as session:
        session.add(ModelVersion(id=version, created_by=TRAINER, status="candidate",
                                 path=str(path), metrics={"intent_accuracy": 0.9}))
    db.dispose()


async def test_staff_actions_are_recorded_and_trainers_read_them(parts):
    workspace, tracker_db, database_url = parts
    fake = FakeRasa()
    settings = settings_for(workspace, tracker_db, database_url, RASA_URL=fake.url)
    settings.current_model.write_bytes(b"model made by make train")
    _candidate(settings, "20261126-100000")
    client = await _client(settings)
    try:
        await login(client, REVIEWER, "wrong password", expect=401)
        await login(client, REVIEWER)
        listing = await (await client.get("/api/conversations")).json()
        key = listing["conversations"][0]["key"]
        assert (await client.get(f"/api/conversations/{key}")).status == 200
        # A reviewer may not read the audit log.
        assert (await client.get("/api/audit")).status == 403
        await client.post("/logout", data={"csrf_token": (await (await client.get("/api/me")).json())["csrf_token"]})

        csrf = await login(client, TRAINER)
        headers = {"X-CSRF-Token": csrf}
        assert (await client.post("/api/export", json={}, headers=headers)).status in (200, 422)
        promoted = await client.post("/api/models/20261126-100000/promote", json={}, headers=headers)
        assert promoted.status == 200
        training = await (await client.get("/api/training")).json()
        initial = next(v["id"] for v in training["versions"] if v["id"].startswith("ngoai-"))
        back = await client.post(f"/api/models/{initial}/rollback", json={}, headers=headers)
        assert back.status == 200

        log = _log(database_url)
        assert log[:3] == [
            (REVIEWER, audit.LOGIN_FAILED, None), (REVIEWER, audit.LOGIN, None),
            (REVIEWER, audit.VIEW_CONVERSATION, str(key)),
        ]
        actions = [action for _, action, _ in log[3:]]
        assert actions[0] == audit.LOGIN
        assert (TRAINER, audit.PROMOTE, "20261126-100000") in log
        assert (TRAINER, audit.ROLLBACK, initial) in log
        assert audit.EXPORT in actions or (await client.post(
            "/api/export", json={}, headers=headers)).status == 422

        api = await (await client.get("/api/audit")).json()
        assert api["entries"][0]["action"] == audit.ROLLBACK  # newest first
        assert {e["address"] for e in api["entries"]} == {"127.0.0.1"}
        assert api["retention"]["dry_run"] is True and api["retention_error"] is None
        only = await (await client.get(f"/api/audit?user={REVIEWER}")).json()
        assert {e["username"] for e in only["entries"]} == {REVIEWER}
        page = await (await client.get("/audit")).text()
        assert "Nhật ký thao tác" in page and "Đăng nhập thất bại" in page
        assert "Sẽ xóa" in page  # the retention dry run
        assert 'href="/audit"' in await (await client.get("/training")).text()
    finally:
        await client.close()
        fake.close()


async def test_audit_page_needs_a_login(parts):
    workspace, tracker_db, database_url = parts
    client = await _client(settings_for(workspace, tracker_db, database_url))
    try:
        assert (await client.get("/api/audit")).status == 401
        assert (await client.get("/audit", allow_redirects=False)).status == 303
    finally:
        await client.close()
