"""Retention of tracker-store conversations and erase requests, on real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from bot.cli.retention import writable_tracker_engine
from dichvucong import retention
from dichvucong.dossiers import DossierRepository
from dichvucong.dossiers.store import migrate
from dichvucong.settings import PROJECT_ROOT

DAY = 86400.0
NOW = time.time()  # the CLI runs at the real time
UTC = dt.timezone.utc
CODE = "000.00.15.H10-261120-0012"

metadata = sa.MetaData()
# The columns of Rasa 3.6's SQLTrackerStore.SQLEvent.
EVENTS = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request, tmp_path):
    """(tracker engine, dossier repository, dossier URL) of each kind, with the tables."""
    if request.param == "sqlite":
        tracker_path = tmp_path / "tracker.db"
        creator = sa.create_engine(f"sqlite:///{tracker_path}")
        metadata.create_all(creator)
        creator.dispose()
        tracker = writable_tracker_engine(None, tracker_path)
        dossier_url = f"sqlite:///{tmp_path / 'dossiers.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        tracker_url = server.create_database()
        creator = sa.create_engine(tracker_url)
        metadata.create_all(creator)
        creator.dispose()
        tracker = writable_tracker_engine(tracker_url, None)
        dossier_url = server.create_database()
    migrate(dossier_url)
    repo = DossierRepository.from_url(dossier_url, pepper="test-pepper")
    repo.add(
        CODE, procedure_id="khai_sinh", applicant_name="Nguyễn Văn An", id_number="001090012345",
        phone="0912345601", receiving_agency="UBND phường Ba Đình", received_at=dt.date(2026, 11, 20),
        due_at=dt.date(2026, 11, 24), actor="Phạm Thu Trang",
        at=dt.datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
    )
    yield tracker, repo, dossier_url
    repo.dispose()
    tracker.dispose()


def add_events(tracker, sender, *rows):
    """rows: (age in days, type_name, action_name)."""
    with tracker.begin() as connection:
        for age, type_name, action in rows:
            connection.execute(
                EVENTS.insert().values(
                    sender_id=sender, type_name=type_name, timestamp=NOW - age * DAY,
                    action_name=action, data=json.dumps({"event": type_name}),
                )
            )


def senders(tracker):
    with tracker.connect() as connection:
        return {
            row[0]: row[1]
            for row in connection.execute(
                sa.select(EVENTS.c.sender_id, sa.func.count()).group_by(EVENTS.c.sender_id)
            )
        }


def conversation(age, lookup=False):
    rows = [(age + 1, "action", "action_session_start"), (age + 1, "user", None)]
    if lookup:
        rows += [(age + 0.5, "active_loop", "dossier_status_form"),
                 (age + 0.5, "slot", "verified_dossier")]
    return rows + [(age, "bot", None)]


def fill(tracker):
    add_events(tracker, "webchat:old", *conversation(100))
    add_events(tracker, "webchat:recent", *conversation(10))
    add_events(tracker, "webchat:lookup-old", *conversation(40, lookup=True))
    add_events(tracker, "webchat:lookup-recent", *conversation(5, lookup=True))
    add_events(tracker, "telegram:42", *conversation(89))


def test_dry_run_counts_and_deletes_nothing(stores):
    tracker, repo, _ = stores
    fill(tracker)
    before = senders(tracker)
    report = retention.run(tracker, repo.engine, retention.RetentionSettings(), dry_run=True, now=NOW)
    assert (report.expired, report.expired_lookup, report.erase_requests) == (2, 1, 0)
    assert report.events == before["webchat:old"] + before["webchat:lookup-old"]
    assert senders(tracker) == before
    assert "Sẽ xóa 2 hội thoại" in report.summary()


def test_expired_conversations_and_their_subscriptions_go(stores):
    tracker, repo, _ = stores
    fill(tracker)
    repo.subscribe(CODE, "webchat", "webchat:lookup-old")
    repo.subscribe(CODE, "telegram", "telegram:42")
    report = retention.run(tracker, repo.engine, retention.RetentionSettings(), now=NOW)
    assert set(senders(tracker)) == {"webchat:recent", "webchat:lookup-recent", "telegram:42"}
    assert report.subscriptions == 1
    assert [s.recipient_id for s in repo.subscribers(CODE)] == ["telegram:42"]
    # Nothing left to do a second time.
    again = retention.run(tracker, repo.engine, retention.RetentionSettings(), now=NOW)
    assert (again.expired, again.events, again.subscriptions) == (0, 0, 0)


def test_periods_are_configurable(stores):
    tracker, repo, _ = stores
    fill(tracker)
    retention.run(tracker, repo.engine, retention.RetentionSettings(days=7, lookup_days=3), now=NOW)
    assert set(senders(tracker)) == set()


def test_erase_request_deletes_up_to_the_next_message(stores):
    tracker, repo, _ = stores
    erase = [(0.2, "user", None), (0.2, "action", retention.ERASE_ACTION), (0.2, "bot", None),
             (0.2, "restart", None)]
    add_events(tracker, "webchat:erase", *conversation(1, lookup=True), *erase)
    add_events(tracker, "webchat:erase-then-talk", *conversation(1), *erase,
               (0.1, "user", None), (0.1, "bot", None))
    add_events(tracker, "webchat:keep", *conversation(1))
    report = retention.run(tracker, repo.engine, retention.RetentionSettings(), now=NOW)
    assert report.erase_requests == 2 and report.expired == 0
    assert senders(tracker) == {"webchat:erase-then-talk": 2, "webchat:keep": 3}


def test_settings_from_env():
    assert retention.RetentionSettings.from_env({}) == retention.RetentionSettings(90, 30)
    assert retention.RetentionSettings.from_env(
        {"RETENTION_DAYS": "60", "RETENTION_LOOKUP_DAYS": "14"}
    ) == retention.RetentionSettings(60, 14)
    with pytest.raises(ValueError):
        retention.RetentionSettings(days=0)


def test_missing_events_table_is_one_vietnamese_error(tmp_path):
    path = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{path}").connect().close()
    engine = writable_tracker_engine(None, path)
    with pytest.raises(retention.RetentionError, match="chưa có bảng events"):
        retention.run(engine, None, retention.RetentionSettings())
    engine.dispose()


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.retention", *args], cwd=PROJECT_ROOT,
        capture_output=True, text=True, env=env, timeout=120,
    )


def test_cli_dry_run_then_run(stores):
    tracker, repo, dossier_url = stores
    fill(tracker)
    url = tracker.url.render_as_string(hide_password=False)
    # The SQLite engine's URL names no file (it connects through a creator): ask SQLite.
    where = ["--tracker-url", url] if url.startswith("postgresql") else [
        "--tracker-db", str(_sqlite_path(tracker))
    ]
    dry = _cli("--dry-run", "--days", "30", "--lookup-days", "7", *where,
               "--database-url", dossier_url)
    assert dry.returncode == 0, dry.stderr
    assert "Chạy thử" in dry.stdout and "Sẽ xóa 3 hội thoại" in dry.stdout
    assert len(senders(tracker)) == 5
    done = _cli("--days", "30", "--lookup-days", "7", *where, "--database-url", dossier_url)
    assert done.returncode == 0, done.stderr
    assert "Đã xóa 3 hội thoại" in done.stdout
    assert set(senders(tracker)) == {"webchat:recent", "webchat:lookup-recent"}


def _sqlite_path(engine):
    with engine.connect() as connection:
        return connection.exec_driver_sql("PRAGMA database_list").fetchone()[2]


def test_cli_refuses_bad_input(tmp_path):
    missing = _cli("--tracker-db", str(tmp_path / "none.db"))
    assert missing.returncode == 2 and "Chưa có kho hội thoại" in missing.stderr
    assert not (tmp_path / "none.db").exists()
    both = _cli("--tracker-db", "a.db", "--tracker-url", "sqlite://")
    assert both.returncode == 2 and "Lỗi cú pháp lệnh" in both.stderr


def test_reviewers_tags_go_with_their_conversations(stores):
    from bot.console.db import ConversationTag

    tracker, repo, _ = stores
    fill(tracker)
    with repo.engine.begin() as connection:
        for key, sender in enumerate(("webchat:old", "webchat:recent"), start=1):
            connection.execute(ConversationTag.__table__.insert().values(
                sender_digest=retention.sender_digest(sender), conversation_key=key,
                theme="Căn cước", quality="good", follow_up="none",
                created_at=dt.datetime.now(UTC), updated_at=dt.datetime.now(UTC)))
    dry = retention.run(tracker, repo.engine, retention.RetentionSettings(), dry_run=True, now=NOW)
    assert dry.tags == 1
    report = retention.run(tracker, repo.engine, retention.RetentionSettings(), now=NOW)
    assert report.tags == 1 and "1 nhận xét của cán bộ" in report.summary()
    with repo.engine.connect() as connection:
        left = connection.execute(sa.select(ConversationTag.__table__.c.sender_digest)).scalars()
        assert list(left) == [retention.sender_digest("webchat:recent")]
