"""'xóa dữ liệu của tôi' and the retention run on the PostgreSQL tracker store.

The same round trip as test_privacy_http.py (SQLite), with Rasa's SQL tracker
store and the dossier database on a real PostgreSQL server, as a province
runs it: the conversation's events go, another conversation's stay, and no
identity or phone number is stored in clear.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.integration.test_assistant_http import texts
from tests.integration.test_privacy_http import SUPPLEMENT, _buttons
from tests.support.servers import MODEL, ROOT, Assistant

ENDPOINTS = """
action_endpoint:
  url: http://127.0.0.1:${{ACTION_PORT}}/webhook
  headers:
    X-Action-Token: ${{ACTION_SERVER_TOKEN}}
tracker_store:
  type: bot.tracker_store.RedactingSQLTrackerStore
  dialect: postgresql
  url: {host}
  port: {port}
  username: {username}
  db: {database}
"""


@pytest.fixture(scope="module")
def pg(tmp_path_factory, postgres_server):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train`")
    workdir = tmp_path_factory.mktemp("privacy-pg")
    tracker_url = postgres_server.create_database()
    url = make_url(tracker_url)
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(ENDPOINTS.format(host=url.host, port=url.port or 5432,
                                          username=url.username, database=url.database))
    assistant = Assistant(workdir, endpoints=endpoints)
    assistant.database_url = postgres_server.create_database()
    assistant.tracker_url = tracker_url
    engine = sa.create_engine(tracker_url, future=True)
    try:
        yield assistant.start(), engine
    finally:
        assistant.stop()
        engine.dispose()


def _events(engine, conversation: str) -> int:
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": conversation}
        ).scalar_one()


def _retention(assistant, *args: str) -> subprocess.CompletedProcess:
    env = dict(assistant.env(), TRACKER_URL=assistant.tracker_url)
    return subprocess.run([sys.executable, "-m", "bot.cli.retention", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_erase_my_data_on_postgresql(pg):
    assistant, engine = pg
    assistant.say("pg-1", f"tra cứu hồ sơ {SUPPLEMENT}")
    status = assistant.say("pg-1", "4567")
    subscribe = next(p for t, p in _buttons(status).items() if "thông báo" in t)
    assert "Đã đăng ký" in texts(assistant.say("pg-1", subscribe))
    assistant.say("pg-1", "số điện thoại của tôi là 0912345601, cccd 001090012345")
    assistant.say("pg-2", "xin chào")
    conversation, other = assistant.conversation("pg-1"), assistant.conversation("pg-2")

    asked = assistant.say("pg-1", "xóa dữ liệu của tôi")
    done = texts(assistant.say("pg-1", _buttons(asked)["Có, xóa dữ liệu"]))
    assert "Đã xóa 1 đăng ký nhận thông báo hồ sơ" in done

    with engine.connect() as connection:
        stored = "\n".join(r[0] for r in connection.execute(sa.text("SELECT data FROM events")))
    compact = re.sub(r"[\s.\-]", "", stored)
    assert "0912345601" not in compact and "001090012345" not in compact
    assert any(json.loads(line).get("event") for line in stored.splitlines()[:1])

    dry = _retention(assistant, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "1 hội thoại người dân yêu cầu xóa" in dry.stdout
    assert _events(engine, conversation) > 0
    run = _retention(assistant)
    assert run.returncode == 0, run.stderr
    assert _events(engine, conversation) == 0
    assert _events(engine, other) > 0
