"""Quality review of whole conversations and their export, over HTTP (in-process aiohttp):
tags (roles, CSRF, audit, editing, knowledge-base file), tag filters, CSV and XLSX
exports read back (masked as the console shows them)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.console import audit
from bot.console.db import Database
from bot.console.web.app import create_app
from tests.support.console import (
    IDENTITY,
    PHONE,
    REVIEWER,
    SECOND_FACTOR,
    TRAINER,
    add_users,
    login,
    make_workspace,
    sample_conversations,
    settings_for,
    today_vn,
    write_tracker,
)

PERSONAL = [PHONE, PHONE.replace(" ", ""), "0912", IDENTITY, "099012"]


@pytest.fixture
def settings(tmp_path):
    workspace = make_workspace(tmp_path / "workspace")
    tracker_db = write_tracker(tmp_path / "tracker.db", sample_conversations(today_vn()))
    database_url = f"sqlite:///{tmp_path / 'console.db'}"
    add_users(database_url)
    return settings_for(workspace, tracker_db, database_url)


@pytest.fixture
async def client(settings):
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    yield client
    await client.close()


async def _listing(client, query: str = "") -> list:
    response = await client.get(f"/api/conversations{query}")
    assert response.status == 200
    return (await response.json())["conversations"]


async def _key(client, preview_start: str) -> int:
    return next(c["key"] for c in await _listing(client)
                if c["preview"].startswith(preview_start))


def _post(client, key, csrf, **body):
    return client.post(f"/api/conversations/{key}/tag", json=body,
                       headers={"X-CSRF-Token": csrf})


def _audit(settings):
    db = Database(settings.database_url)
    try:
        return [(e.username, e.action, e.target) for e in reversed(audit.entries(db))]
    finally:
        db.dispose()


async def test_a_reviewer_tags_edits_and_filters_conversations(client, settings):
    csrf = await login(client, REVIEWER)
    key = await _key(client, "chào bạn")
    # Without the CSRF token, or with a wrong one: refused, nothing stored.
    assert (await client.post(f"/api/conversations/{key}/tag",
                              json={"theme": "Lệ phí"})).status == 403
    assert (await _post(client, key, "wrong", theme="x", quality="tot",
                        follow_up="none")).status == 403
    for bad in ({"theme": "", "quality": "tot", "follow_up": "none"},
                {"theme": "Lệ phí", "quality": "xuat_sac", "follow_up": "none"},
                {"theme": "Lệ phí", "quality": "tot", "follow_up": "call_police"},
                {"theme": "Lệ phí", "quality": "tot", "follow_up": "none",
                 "procedure": "khong_co"}):
        response = await _post(client, key, csrf, **bad)
        assert response.status == 400, bad
        assert (await response.json())["error"]
    assert (await _post(client, 999999, csrf, theme="x", quality="tot",
                        follow_up="none")).status == 404

    # Knowledge-base follow-up: the procedure slot (can_cuoc) names the file to update.
    response = await _post(client, key, csrf, theme="Giấy tờ cần chuẩn bị", quality="dat",
                           follow_up="update_knowledge")
    assert response.status == 200
    tag = (await response.json())["tag"]
    assert tag["procedure"] == "can_cuoc"
    assert tag["procedure_file"] == "data/procedures/can_cuoc.yml"
    assert tag["tagged_by"] == REVIEWER
    page = await (await client.get(f"/conversations/{key}")).text()
    assert "data/procedures/can_cuoc.yml" in page and "Cần cập nhật tệp" in page

    # Edited, not duplicated; a theme typed with a number is stored masked.
    response = await _post(client, key, csrf, theme=f"Gọi lại {PHONE}", quality="tot",
                           follow_up="contact_citizen")
    tag = (await response.json())["tag"]
    assert tag["quality_label"].startswith("Tốt") and tag["procedure_file"] is None
    assert PHONE not in tag["theme"] and "0912" not in tag["theme"]
    other = await _key(client, "lệ phí đổi bằng lái")
    assert (await _post(client, other, csrf, theme="Lệ phí", quality="chua_dat",
                        follow_up="update_knowledge")).status == 200

    everything = await _listing(client)
    assert len([c for c in everything if c["tag"]]) == 2
    only = await _listing(client, "?quality=chua_dat")
    assert [c["key"] for c in only] == [other]
    assert only[0]["tag"]["procedure_file"] == "data/procedures/doi_gplx.yml"
    assert [c["key"] for c in await _listing(client, "?follow_up=contact_citizen")] == [key]
    assert [c["key"] for c in await _listing(client, "?theme=L%E1%BB%87+ph%C3%AD")] == [other]
    untagged = await _listing(client, "?tagged=no")
    assert len(untagged) == len(everything) - 2 and not any(c["tag"] for c in untagged)
    assert len(await _listing(client, "?tagged=yes")) == 2
    html = await (await client.get("/conversations?follow_up=update_knowledge")).text()
    assert "Cập nhật cơ sở tri thức" in html and "Đánh giá hội thoại" in html
    # Reviewers do not export.
    assert 'id="export-csv"' not in html

    log = _audit(settings)
    actions = [a for _, a, _ in log]
    assert actions.count(audit.TAG_CONVERSATION) == 2
    assert (REVIEWER, audit.RETAG_CONVERSATION, f"{key}: tot/contact_citizen") in log


async def test_the_tag_form_works_as_a_page(client):
    csrf = await login(client, TRAINER)
    key = await _key(client, "chào bạn")
    response = await client.post(
        f"/conversations/{key}/tag", allow_redirects=False,
        data={"csrf_token": csrf, "theme": "Lệ phí", "quality": "tot", "follow_up": "none"},
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/conversations/{key}#tag"
    page = await (await client.get(f"/conversations/{key}")).text()
    assert "Đã lưu đánh giá" in page and 'id="tag-summary"' in page
    assert "Sửa đánh giá" in page


async def test_only_the_tagging_roles_may_tag(client, monkeypatch):
    """Today every role tags; a role outside TAGGING_ROLES (the coming operator) may not."""
    from bot.console import quality

    monkeypatch.setattr(quality, "TAGGING_ROLES", frozenset({"trainer"}))
    csrf = await login(client, REVIEWER)
    key = await _key(client, "chào bạn")
    response = await _post(client, key, csrf, theme="Lệ phí", quality="tot", follow_up="none")
    assert response.status == 403
    assert "người duyệt và người huấn luyện" in (await response.json())["error"]
    assert not any(c["tag"] for c in await _listing(client))


async def test_tagging_and_export_need_a_login(client):
    assert (await client.post("/api/conversations/1/tag", json={})).status == 401
    assert (await client.get("/api/conversations/export?format=csv")).status == 401
    response = await client.get("/conversations/export?format=csv", allow_redirects=False)
    assert response.status == 303


def _no_personal_numbers(text: str) -> None:
    for secret in PERSONAL:
        assert secret not in text, secret
    assert f" {SECOND_FACTOR}" not in text and f",{SECOND_FACTOR}" not in text


async def test_export_is_masked_in_both_formats_and_audited(client, settings):
    csrf = await login(client, REVIEWER)
    assert (await client.get("/api/conversations/export?format=csv")).status == 403
    key = await _key(client, "cho hỏi thủ tục")  # the handoff: a phone number follows
    assert key  # (the preview is the first typed message)
    await client.post("/logout", data={"csrf_token": csrf})
    csrf = await login(client, TRAINER)
    assert (await _post(client, key, csrf, theme="Gặp cán bộ", quality="chua_dat",
                        follow_up="contact_citizen")).status == 200
    assert (await client.get("/api/conversations/export?format=pdf")).status == 400

    response = await client.get("/conversations/export?format=csv&handoff=1")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    raw = (await response.read()).decode("utf-8")
    assert raw.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header[0] == "Mã hội thoại" and "Nội dung (đã che)" in header
    assert {r[0] for r in body} == {str(key)}  # only the filtered conversation
    texts = [r[header.index("Nội dung (đã che)")] for r in body]
    assert any(t.startswith("số điện thoại của tôi là") and "678" in t for t in texts)
    assert body[0][header.index("Chủ đề")] == "Gặp cán bộ"
    _no_personal_numbers(raw)

    response = await client.get("/api/conversations/export?format=xlsx")
    assert response.status == 200
    workbook = openpyxl.load_workbook(io.BytesIO(await response.read()), read_only=True)
    assert workbook.sheetnames == ["Hội thoại", "Tin nhắn"]
    conversations = list(workbook["Hội thoại"].iter_rows(values_only=True))
    messages = list(workbook["Tin nhắn"].iter_rows(values_only=True))
    everything = await _listing(client)
    assert len(conversations) == len(everything) + 1
    assert {str(r[0]) for r in conversations[1:]} == {str(c["key"]) for c in everything}
    dump = "\n".join(" ".join(str(v) for v in row if v is not None)
                     for row in conversations + messages)
    _no_personal_numbers(dump)
    assert "cccd của tôi" in dump and "Gặp cán bộ" in dump
    # The lookup digits are masked too (••••), as on the transcript page.
    lookup = next(c["key"] for c in everything if c["preview"].startswith("tra cứu"))
    lookup_texts = [r[3] for r in messages if r[0] == lookup and r[2] == "Người dân"]
    assert SECOND_FACTOR not in " ".join(lookup_texts)

    log = _audit(settings)
    exported = [t for u, a, t in log if a == audit.EXPORT_CONVERSATIONS and u == TRAINER]
    assert len(exported) == 2
    assert exported[0].startswith("csv: 1 hội thoại") and exported[1].startswith("xlsx:")


# --- the table, on SQLite and PostgreSQL -------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return request.getfixturevalue("postgres_server").create_database()


def test_migration_0006_matches_the_model_and_downgrades(empty_url):
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.console.db import ConversationTag
    from dichvucong.dossiers.models import Base
    from dichvucong.dossiers.store import downgrade, make_engine, migrate

    table = ConversationTag.__tablename__
    migrate(empty_url, "0005")
    engine = make_engine(empty_url)
    try:
        assert table not in sa.inspect(engine).get_table_names()
        migrate(empty_url)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        checks = {c["name"] for c in sa.inspect(engine).get_check_constraints(table)}
        assert checks == {"ck_console_conversation_tags_follow_up"}
        insert = sa.text(
            f"INSERT INTO {table} (sender_digest, conversation_key, theme, quality, follow_up,"
            " created_at, updated_at) VALUES (:d, 1, 'Lệ phí', 'tot', :f,"
            " '2026-12-01 00:00:00', '2026-12-01 00:00:00')")
        with engine.begin() as connection:
            connection.execute(insert, {"d": "a" * 64, "f": "none"})
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(insert, {"d": "b" * 64, "f": "call_police"})
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(insert, {"d": "a" * 64, "f": "none"})  # one tag per conversation
        downgrade(empty_url, "0005")
        assert table not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
