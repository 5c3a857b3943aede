"""Dossier store on SQLite and PostgreSQL: migrations, rules, lookups, reminders.

PostgreSQL tests run against a throw-away database created for this session
on the server named by DOSSIER_TEST_POSTGRES_URL (default: the local server,
user postgres, trust auth). An unreachable server fails the tests with a
clear message; set SKIP_POSTGRES=1 to skip them instead.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dichvucong.codes import (
    EXAMPLE_CODE,
    code_date,
    find_code,
    find_codes,
    is_valid_code,
    normalize_code,
)
from dichvucong.dossiers.csv_import import import_csv
from dichvucong.dossiers.models import STATUS_LABELS, STATUSES, Base, Status
from dichvucong.dossiers.store import (
    DossierError,
    DossierExists,
    DossierNotFound,
    DossierRepository,
    code_key,
    conversation_key,
    downgrade,
    make_engine,
    migrate,
)
from dichvucong.settings import PROJECT_ROOT, settings
from tests.support.postgres import PG_URL  # noqa: F401  (fixtures: tests/conftest.py)

TABLES = {"dossiers", "status_events", "subscriptions", "throttle_scopes", "notifications"}
UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
TODAY = dt.date(2026, 11, 26)
CODE = "000.00.15.H10-261120-0012"
ID_NUMBER = "001090012345"
PHONE = "0912 345 601"
DEMO_CSV = PROJECT_ROOT / "data" / "demo" / "dossiers.csv"
DEMO_README = PROJECT_ROOT / "data" / "demo" / "README.md"


# --- databases ---------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_migrated_url(postgres_server) -> str:
    url = postgres_server.create_database()
    migrate(url)
    return url


def _truncate(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"TRUNCATE {', '.join(sorted(TABLES))} RESTART IDENTITY CASCADE")
        )
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        # A missing parent folder is part of what is tested: migrate creates it.
        url = f"sqlite:///{tmp_path / 'var' / 'dossiers.db'}"
        migrate(url)
        return url
    url = request.getfixturevalue("postgres_migrated_url")
    _truncate(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> str:
    """A database of each kind without any table."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh' / 'dossiers.db'}"
    return request.getfixturevalue("postgres_server").create_database()


@pytest.fixture
def repo(db_url):
    repository = DossierRepository.from_url(db_url, pepper="test-pepper")
    yield repository
    repository.dispose()


def add(repo: DossierRepository, code: str = CODE, **overrides):
    fields = dict(
        procedure_id="khai_sinh",
        applicant_name="Nguyễn Văn An",
        id_number=ID_NUMBER,
        phone=PHONE,
        receiving_agency="UBND phường Ba Đình, TP. Hà Nội",
        received_at=dt.date(2026, 11, 20),
        due_at=dt.date(2026, 11, 24),
        actor="Phạm Thu Trang",
        at=dt.datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
    )
    fields.update(overrides)
    return repo.add(code, **fields)


# --- migrations --------------------------------------------------------------


def test_migration_creates_the_model_tables_and_downgrades(empty_url):
    migrate(empty_url)
    engine = make_engine(empty_url)
    try:
        assert TABLES <= set(sa.inspect(engine).get_table_names())
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        # compare_metadata ignores CHECK constraints: compare their names here.
        inspector = sa.inspect(engine)
        for table in Base.metadata.sorted_tables:
            expected = {str(c.name) for c in table.constraints if isinstance(c, sa.CheckConstraint)}
            actual = {c["name"] for c in inspector.get_check_constraints(table.name)}
            assert actual == expected, table.name
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO dossiers (code, procedure_id, applicant_name, id_digest,"
                    " id_last4_digest, receiving_agency, received_at, due_at, status, updated_at)"
                    " VALUES ('c', 'khai_sinh', 'A', 'x', 'y', 'Z', '2026-11-20', '2026-11-24',"
                    " 'lost', '2026-11-20 00:00:00')"
                )
            )
        downgrade(empty_url, "base")
        assert not TABLES & set(sa.inspect(engine).get_table_names())
        migrate(empty_url)  # and back up again: the downgrade left nothing behind
        assert TABLES <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_repository_reports_missing_schema(empty_url):
    repository = DossierRepository.from_url(empty_url)
    try:
        assert repository.schema_ready() is False
    finally:
        repository.dispose()


def test_production_code_never_creates_tables_itself():
    sources = Path(PROJECT_ROOT / "actions" / "dossiers").glob("*.py")
    assert not [p.name for p in sources if "create_all" in p.read_text(encoding="utf-8")]


# --- codes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "000.00.15.H10-261120-0012",
        "000.00.15.h10-261120-0012",
        "000.00.15.h10 - 261120 - 0012",
        " 000 . 00 . 15 . H10 – 261120 — 0012 ",
        "000.00.15.H 10-261120-0012.",
        "０００.００.１５.Ｈ１０-２６１１２０-００１２",  # full-width, from some phone keyboards
    ],
)
def test_normalize_code_accepts_typing_variants(typed):
    assert normalize_code(typed) == CODE


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "000.00.15.H10-261120-001",  # serial too short
        "000.00.15.H10-261120-00123",  # serial too long
        "000.00.15.110-261120-0012",  # no letter in the agency part
        "000.00.15.H10-261320-0012",  # month 13
        "000.00.15.H10-260230-0012",  # 30 February
        "hồ sơ 000.00.15.H10-261120-0012",  # normalize wants the code alone
        "٠٠٠.٠٠.١٥.H١٠-٢٦١١٢٠-٠٠١٢",  # Arabic-Indic digits: no receipt prints them
        "000.00.15.H10-२६११२०-0012",  # Devanagari digits
    ],
)
def test_normalize_code_rejects_malformed(typed):
    assert normalize_code(typed) is None


def test_find_code_inside_a_sentence():
    text = "Cho mình hỏi hồ sơ 000.00.15.h10 - 261120 - 0012 đã xong chưa ạ?"
    assert find_code(text) == CODE
    assert find_code("mã 000.00.15.H10-261131-0012 sai ngày") is None
    assert find_code("không có mã nào") is None
    two = f"{CODE} và 000.31.24.h26-261125-0007, lại {CODE}"
    assert find_codes(two) == [CODE, "000.31.24.H26-261125-0007"]


def test_is_valid_code_wants_the_canonical_form():
    assert is_valid_code(EXAMPLE_CODE)
    assert not is_valid_code(EXAMPLE_CODE.lower())
    assert code_date(CODE) == dt.date(2026, 11, 20)


# --- dossiers ----------------------------------------------------------------


def test_add_and_get(repo):
    dossier = add(repo, code="000.00.15.h10 - 261120 - 0012")
    assert dossier.code == CODE
    found = repo.get("000.00.15.h10-261120-0012")
    assert found is not None and found.id == dossier.id
    assert found.status == Status.received.value
    assert found.status_label == "Đã tiếp nhận"
    assert found.received_at == dt.date(2026, 11, 20)
    assert found.due_at == dt.date(2026, 11, 24)
    assert found.updated_at == dt.datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert found.updated_at.tzinfo is not None
    [event] = repo.history(CODE)
    assert (event.status, event.actor, event.office) == (
        "received",
        "Phạm Thu Trang",
        "UBND phường Ba Đình, TP. Hà Nội",
    )
    assert repo.get("000.00.15.H10-261120-0013") is None
    assert repo.get("không phải mã") is None


def test_received_date_defaults_to_the_code_date(repo):
    dossier = add(repo, received_at=None)
    assert dossier.received_at == dt.date(2026, 11, 20)


def test_duplicate_code_is_refused(repo):
    add(repo)
    with pytest.raises(DossierExists, match="đã có"):
        add(repo, code=CODE.lower())


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"procedure_id": "ho_chieu"}, "không có trong danh mục"),
        ({"applicant_name": "  "}, "Thiếu họ tên"),
        ({"id_number": "12345"}, "12 chữ số"),
        ({"phone": "12345"}, "Số điện thoại không hợp lệ"),
        ({"receiving_agency": ""}, "cơ quan tiếp nhận"),
        ({"due_at": dt.date(2026, 11, 1)}, "không được trước"),
    ],
)
def test_add_validates_input(repo, overrides, message):
    with pytest.raises(DossierError, match=message):
        add(repo, **overrides)
    assert repo.get(CODE) is None


def test_add_refuses_a_malformed_code(repo):
    with pytest.raises(DossierError, match="không đúng định dạng"):
        add(repo, code="000.00.15.H10-261120")


def test_status_labels_cover_every_status():
    assert set(STATUS_LABELS) == set(STATUSES)
    assert STATUS_LABELS["result_ready"] == "Đã có kết quả, chờ trả"


# --- status rules ------------------------------------------------------------


def test_rejection_needs_a_reason(repo):
    add(repo)
    with pytest.raises(DossierError, match="lý do"):
        repo.update_status(CODE, "rejected", "Cán bộ A", None)
    with pytest.raises(DossierError, match="lý do"):
        repo.update_status(CODE, "rejected", "Cán bộ A", None, reason="   ")
    event = repo.update_status(CODE, "rejected", "Cán bộ A", None, reason="Không đủ điều kiện.")
    assert event.reason == "Không đủ điều kiện."
    assert repo.get(CODE).status == "rejected"


def test_supplement_needs_items_and_instructions(repo):
    add(repo)
    with pytest.raises(DossierError, match="giấy tờ còn thiếu"):
        repo.update_status(CODE, "needs_supplement", "Cán bộ A", None, instructions="Nộp lại.")
    with pytest.raises(DossierError, match="hướng dẫn"):
        repo.update_status(CODE, "needs_supplement", "Cán bộ A", None, missing_items=["Tờ khai"])
    event = repo.update_status(
        CODE,
        Status.needs_supplement,
        "Cán bộ A",
        "Bộ phận Một cửa",
        missing_items=["Tờ khai: thiếu chữ ký", " ", "Giấy chứng sinh: bản chụp mờ"],
        instructions="Nộp bổ sung tại Bộ phận Một cửa trước ngày 05/12/2026.",
    )
    assert event.missing_items == ["Tờ khai: thiếu chữ ký", "Giấy chứng sinh: bản chụp mờ"]
    assert event.dossier.code == CODE
    [_, stored] = repo.history(CODE)
    assert stored.missing_items == event.missing_items
    assert stored.office == "Bộ phận Một cửa"


def test_missing_items_belong_to_supplement_only(repo):
    add(repo)
    with pytest.raises(DossierError, match="Chờ bổ sung"):
        repo.update_status(CODE, "processing", "Cán bộ A", None, missing_items=["Tờ khai"])


def test_unknown_status_code_and_actor(repo):
    add(repo)
    with pytest.raises(DossierError, match="không hợp lệ"):
        repo.update_status(CODE, "done", "Cán bộ A", None)
    with pytest.raises(DossierNotFound, match="Không tìm thấy"):
        repo.update_status("000.00.15.H10-261120-0099", "processing", "Cán bộ A", None)
    with pytest.raises(DossierError, match="cán bộ"):
        repo.update_status(CODE, "processing", "", None)
    assert isinstance(DossierNotFound("x"), ValueError)


def test_a_finished_dossier_stays_finished(repo):
    add(repo)
    repo.update_status(CODE, "returned", "Cán bộ A", None)
    with pytest.raises(DossierError, match="đã kết thúc"):
        repo.update_status(CODE, "processing", "Cán bộ A", None)


def test_history_is_ordered_by_time(repo):
    add(repo)
    late = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    early = dt.datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    repo.update_status(CODE, "result_ready", "Cán bộ B", None, at=late)
    # Entered afterwards but happened earlier, e.g. a correction from paper.
    repo.update_status(CODE, "processing", "Cán bộ A", None, at=early)
    events = repo.history(CODE)
    assert [e.status for e in events] == ["received", "processing", "result_ready"]
    assert all(e.at.tzinfo is not None and e.at.utcoffset() == dt.timedelta(0) for e in events)
    with pytest.raises(DossierNotFound):
        repo.history("000.00.15.H10-261120-0099")


def test_aware_datetimes_are_required(repo):
    add(repo)
    with pytest.raises(ValueError):
        repo.update_status(CODE, "processing", "A", None, at=dt.datetime(2026, 11, 21, 9, 0))


def test_list_filters(repo):
    add(repo)
    add(repo, code="000.00.15.H10-261121-0001", procedure_id="ket_hon", received_at=None)
    repo.update_status("000.00.15.H10-261121-0001", "processing", "A", None)
    assert [d.code for d in repo.list()] == [CODE, "000.00.15.H10-261121-0001"]
    assert [d.code for d in repo.list(status="processing")] == ["000.00.15.H10-261121-0001"]
    assert [d.code for d in repo.list(procedure_id="khai_sinh")] == [CODE]
    with pytest.raises(DossierError):
        repo.list(procedure_id="ho_chieu")


# --- verification ------------------------------------------------------------


def test_verify_with_right_and_wrong_digits(repo):
    add(repo)
    assert repo.verify(CODE, "2345").code == CODE  # identity number
    assert repo.verify(CODE.lower(), "5601").code == CODE  # phone
    assert repo.verify(CODE, "số cuối là 2345") is not None
    assert repo.verify(CODE, ID_NUMBER) is not None  # the whole number also proves it
    assert repo.verify(CODE, "0912.345.601") is not None
    wrong = repo.verify(CODE, "1111")
    unknown = repo.verify("000.00.15.H10-261120-0099", "2345")
    assert wrong is None and unknown is None
    assert repo.verify("rác", "2345") is None
    assert repo.verify(CODE, "") is None
    assert repo.verify(CODE, "234") is None


def test_verify_without_a_registered_phone(repo):
    add(repo, phone=None)
    assert repo.verify(CODE, "5601") is None
    assert repo.verify(CODE, "2345") is not None
    assert repo.verify_phone(CODE, "0912345601") is None


def test_verify_phone_from_a_shared_contact(repo):
    add(repo)
    assert repo.verify_phone(CODE, "84912345601").code == CODE  # Telegram drops the "+"
    assert repo.verify_phone(CODE, "+84 912 345 601") is not None
    assert repo.verify_phone(CODE, "0912345602") is None
    assert repo.verify_phone("000.00.15.H10-261120-0099", "0912345601") is None


def test_equal_numbers_give_different_digests_in_two_dossiers(repo):
    first = add(repo)
    second = add(repo, code="000.00.15.H10-261120-0013")
    assert first.id_digest != second.id_digest
    assert first.id_last4_digest != second.id_last4_digest
    assert first.phone_digest != second.phone_digest


def test_no_identity_or_phone_number_is_stored_in_clear(db_url, repo):
    add(repo, phone="+84 912 345 601")
    repo.update_status(CODE, "processing", "Cán bộ A", None)
    repo.subscribe(CODE, "telegram", "123456789")
    repo.record_failure([conversation_key("web-1"), code_key(CODE)], NOW)
    forbidden = {ID_NUMBER, ID_NUMBER[3:], "0912345601", "912345601", "912 345 601"}
    engine = make_engine(db_url)
    metadata = sa.MetaData()
    metadata.reflect(bind=engine)
    seen_rows = 0
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                seen_rows += 1
                text = " ".join(str(value) for value in row)
                assert not [secret for secret in forbidden if secret in text], table.name
    engine.dispose()
    assert seen_rows >= 5


# --- lockout -----------------------------------------------------------------


def test_lockout_after_three_failures_and_expiry(repo):
    keys = [conversation_key("web-1"), code_key(CODE.lower())]
    assert keys == ["conv:web-1", f"code:{CODE}"]
    assert repo.check_locked(keys, NOW) is None
    assert repo.record_failure(keys, NOW) is None
    assert repo.record_failure(keys, NOW + dt.timedelta(minutes=1)) is None
    until = repo.record_failure(keys, NOW + dt.timedelta(minutes=2))
    assert until == NOW + dt.timedelta(minutes=17)
    assert repo.check_locked(keys, NOW + dt.timedelta(minutes=16)) == until
    # The code stays locked for a guesser who switches conversation, and the
    # conversation stays locked for every code.
    assert repo.check_locked([conversation_key("web-2"), code_key(CODE)], NOW) == until
    other_code = code_key("000.00.15.H10-261120-0099")
    assert repo.check_locked([conversation_key("web-1"), other_code], NOW) == until
    # Failing while locked does not extend the lock.
    assert repo.record_failure(keys, NOW + dt.timedelta(minutes=10)) == until
    assert repo.check_locked(keys, until) is None
    # After the lock the count starts again from zero.
    assert repo.record_failure(keys, until + dt.timedelta(seconds=1)) is None
    assert repo.check_locked(keys, until + dt.timedelta(seconds=2)) is None


def test_failures_outside_the_window_do_not_add_up(repo):
    keys = [conversation_key("web-1")]
    repo.record_failure(keys, NOW)
    repo.record_failure(keys, NOW + dt.timedelta(minutes=5))
    assert repo.record_failure(keys, NOW + dt.timedelta(minutes=16)) is None
    assert repo.check_locked(keys, NOW + dt.timedelta(minutes=16)) is None


def test_clear_failures(repo):
    keys = [conversation_key("web-1"), code_key(CODE)]
    repo.record_failure(keys, NOW)
    repo.record_failure(keys, NOW)
    repo.clear_failures(keys)
    repo.record_failure(keys, NOW)
    assert repo.check_locked(keys, NOW) is None


def _fail_until_locked(repo, keys, now):
    """Fail until ``keys`` lock; returns (failures it took, lock end)."""
    for count in range(1, 50):
        until = repo.record_failure(keys, now)
        if until:
            return count, until
    raise AssertionError("never locked")


def test_each_further_lock_of_a_code_lasts_twice_as_long(repo):
    # A guesser who switches conversation after every streak still meets the code's lock.
    first = [conversation_key("g-1"), code_key(CODE)]
    assert _fail_until_locked(repo, first, NOW) == (3, NOW + dt.timedelta(minutes=15))
    later = NOW + dt.timedelta(minutes=16)
    second = [conversation_key("g-2"), code_key(CODE)]
    # Two more failures reach the daily cap (5): locked until the day window ends.
    assert _fail_until_locked(repo, second, later) == (2, NOW + dt.timedelta(days=1))


def test_growing_locks_for_a_conversation(repo):
    keys = [conversation_key("g-3")]
    start = NOW
    for minutes in (15, 30, 60):
        count, until = _fail_until_locked(repo, keys, start)
        assert count == 3 and until == start + dt.timedelta(minutes=minutes)
        start = until + dt.timedelta(seconds=1)


def test_a_code_takes_at_most_five_guesses_a_day_and_fifteen_a_month(repo):
    code = [code_key(CODE)]
    guesses, now, end = 0, NOW, NOW + dt.timedelta(days=30)
    days_with_guesses = {}
    while now < end:
        if repo.check_locked(code, now) is None:
            repo.record_failure(code, now)
            guesses += 1
            days_with_guesses[(now - NOW).days] = days_with_guesses.get((now - NOW).days, 0) + 1
        now += dt.timedelta(minutes=7)
    assert guesses == 15
    assert max(days_with_guesses.values()) <= 5
    # At 2 in 10,000 per guess (identity or phone last 4): at most 0.3% a month.
    assert guesses * 2 / 10_000 <= 0.003


def test_a_success_ends_the_streak_but_not_the_daily_cap(repo):
    keys = [conversation_key("g-4"), code_key(CODE)]
    for _ in range(2):
        repo.record_failure(keys, NOW)
    repo.clear_failures(keys)
    repo.record_failure(keys, NOW)
    repo.record_failure(keys, NOW)
    assert repo.check_locked(keys, NOW) is None
    # The fifth failure of the day locks the code whatever the streak.
    assert repo.record_failure(keys, NOW) == NOW + dt.timedelta(days=1)


def test_staff_can_unlock_a_code(repo):
    keys = [code_key(CODE)]
    _fail_until_locked(repo, keys, NOW)
    assert repo.unlock(CODE) == 1
    assert repo.check_locked(keys, NOW) is None


def test_lockout_settings_are_configurable(db_url):
    repository = DossierRepository.from_url(db_url, max_failures=2, lock_minutes=5)
    try:
        keys = [conversation_key("x")]
        repository.record_failure(keys, NOW)
        assert repository.record_failure(keys, NOW) == NOW + dt.timedelta(minutes=5)
    finally:
        repository.dispose()


# --- subscriptions -----------------------------------------------------------


def test_subscriptions_are_unique_and_reactivated(repo):
    add(repo)
    first = repo.subscribe(CODE, "telegram", "111")
    again = repo.subscribe(CODE.lower(), "Telegram", "111")
    assert again.id == first.id
    repo.subscribe(CODE, "webchat", "111")
    repo.subscribe(CODE, "telegram", "222")
    assert [(s.channel, s.recipient_id) for s in repo.subscribers(CODE)] == [
        ("telegram", "111"),
        ("webchat", "111"),
        ("telegram", "222"),
    ]
    assert repo.subscribers(CODE)[0].dossier.code == CODE
    assert repo.unsubscribe(CODE, "telegram", "111") == 1
    assert repo.unsubscribe(CODE, "telegram", "111") == 0
    assert len(repo.subscribers(CODE)) == 2
    assert repo.subscribe(CODE, "telegram", "111").id == first.id
    assert [s.dossier.code for s in repo.subscriptions_for("telegram", "111")] == [CODE]


def test_unsubscribe_everything_for_a_recipient(repo):
    add(repo)
    add(repo, code="000.00.15.H10-261120-0013")
    repo.subscribe(CODE, "zalo", "u1")
    repo.subscribe("000.00.15.H10-261120-0013", "zalo", "u1")
    repo.subscribe(CODE, "zalo", "u2")
    assert repo.unsubscribe(None, "zalo", "u1") == 2
    assert [s.recipient_id for s in repo.subscribers(CODE)] == ["u2"]
    assert repo.unsubscribe("000.00.15.H10-261120-0099", "zalo", "u2") == 0


def test_subscribe_validates(repo):
    add(repo)
    with pytest.raises(DossierNotFound):
        repo.subscribe("000.00.15.H10-261120-0099", "telegram", "1")
    with pytest.raises(DossierError, match="Kênh"):
        repo.subscribe(CODE, "thư bồ câu", "1")
    with pytest.raises(DossierError, match="người nhận"):
        repo.subscribe(CODE, "telegram", " ")


# --- overdue, stalled and reminders ------------------------------------------


def _at(day: int, hour_utc: int = 2) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour_utc, 0, tzinfo=UTC)


def _three_dossiers(repo):
    """Overdue (due 20/11), stalled (unchanged since 17/11), and fresh."""
    overdue = "000.00.15.H10-261110-0001"
    stalled = "000.00.15.H10-261116-0002"
    fresh = "000.00.15.H10-261125-0003"
    add(repo, code=overdue, received_at=None, due_at=dt.date(2026, 11, 20), at=_at(10))
    add(repo, code=stalled, received_at=None, due_at=dt.date(2026, 12, 5), at=_at(16))
    repo.update_status(stalled, "processing", "A", None, at=_at(17))
    add(repo, code=fresh, received_at=None, due_at=dt.date(2026, 11, 27), at=_at(25))
    return overdue, stalled, fresh


def test_overdue_and_stalled(repo):
    overdue, stalled, fresh = _three_dossiers(repo)
    assert [d.code for d in repo.overdue(TODAY)] == [overdue]
    assert repo.overdue(dt.date(2026, 11, 20)) == []  # due today is not late yet
    assert [d.code for d in repo.stalled(TODAY, 7)] == [overdue, stalled]
    assert [d.code for d in repo.stalled(dt.date(2026, 11, 23), 7)] == [overdue]
    # 17/11 09:00 in Vietnam is exactly 7 days before 24/11.
    assert [d.code for d in repo.stalled(dt.date(2026, 11, 24), 7)] == [overdue, stalled]
    # Waiting for the citizen pauses the legal clock; a finished dossier is never late.
    repo.update_status(overdue, "returned", "A", None, at=_at(26))
    assert repo.overdue(TODAY) == []
    assert fresh not in [d.code for d in repo.stalled(TODAY, 7)]


def test_pending_reminders_go_out_once(repo):
    overdue, stalled, fresh = _three_dossiers(repo)
    for code in (overdue, stalled, fresh):
        repo.subscribe(code, "telegram", "111")
    repo.subscribe(overdue, "webchat", "w1")
    repo.subscribe(stalled, "zalo", "z1")
    repo.unsubscribe(stalled, "zalo", "z1")

    pending = repo.pending_reminders(TODAY, 7)
    summary = sorted((d.code, s.channel, kind) for d, s, kind in pending)
    # The overdue dossier is stalled too, but one notice is enough.
    assert summary == [
        (overdue, "telegram", "overdue"),
        (overdue, "webchat", "overdue"),
        (stalled, "telegram", "stalled"),
    ]
    for dossier, subscription, kind in pending:
        repo.mark_notified(dossier, subscription, kind, at=NOW)
        repo.mark_notified(dossier, subscription, kind, at=NOW)  # a retry changes nothing
    assert repo.pending_reminders(TODAY, 7) == []
    assert repo.pending_reminders(TODAY + dt.timedelta(days=1), 7) == []

    # A new status restarts the stalled clock, and a new stall is worth a new notice.
    repo.update_status(stalled, "result_ready", "A", None, at=_at(26))
    assert repo.pending_reminders(TODAY, 7) == []
    later = [(d.code, kind) for d, _, kind in repo.pending_reminders(dt.date(2026, 12, 4), 7)]
    assert (stalled, "stalled") in later and (overdue, "overdue") not in later


def test_status_notifications_are_recorded_once(repo):
    add(repo)
    subscription = repo.subscribe(CODE, "telegram", "111")
    event = repo.update_status(CODE, "processing", "A", None)
    assert not repo.was_notified(subscription, "status", event)
    first = repo.mark_notified(event.dossier, subscription, "status", event)
    second = repo.mark_notified(event.dossier.id, subscription.id, "status", event.id)
    assert first.id == second.id
    assert repo.was_notified(subscription, "status", event)
    with pytest.raises(DossierError):
        repo.mark_notified(event.dossier, subscription, "status")
    with pytest.raises(DossierError):
        repo.mark_notified(event.dossier, subscription, "spam")


# --- CSV import --------------------------------------------------------------

CSV_COLUMNS = [
    "code",
    "procedure_id",
    "applicant_name",
    "id_number",
    "phone",
    "receiving_agency",
    "received_at",
    "due_at",
    "status",
    "reason",
    "missing_items",
    "instructions",
]


def write_csv(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
    return path


def test_csv_import_reports_bad_rows_and_is_idempotent(repo, tmp_path):
    agency = "UBND phường A"
    path = write_csv(
        tmp_path / "hoso.csv",
        [
            [CODE, "khai_sinh", "Nguyễn Văn An", ID_NUMBER, "0912345601", agency,
             "2026-11-20", "2026-11-24", "", "", "", ""],
            ["000.00.15.H10-261121-0001", "ho_chieu", "Lê Văn B", "001090054321", "", agency,
             "21/11/2026", "24/11/2026", "", "", "", ""],
            ["000.00.15.H10-261121-0002", "ket_hon", "Trần Thị C", "079196034567", "", agency,
             "2026-11-21", "2026-11-24", "needs_supplement", "",
             "Tờ khai: thiếu chữ ký|Ảnh chụp giấy tờ bị mờ", "Nộp bổ sung tại Bộ phận Một cửa."],
            ["000.00.15.H10-261121-0003", "ket_hon", "Trần Thị D", "079196034568", "", agency,
             "2026-11-21", "2026-11-24", "rejected", "", "", ""],
            ["000.00.15.H10-261121-0004", "ket_hon", "Trần Thị E", "079196034569", "", agency,
             "2026-11-21", "hôm qua", "", "", "", ""],
        ],
    )  # fmt: skip
    report = import_csv(repo, path, now=NOW)
    assert report.added == [CODE, "000.00.15.H10-261121-0002"]
    assert [(e.line, e.code) for e in report.errors] == [
        (3, "000.00.15.H10-261121-0001"),
        (5, "000.00.15.H10-261121-0003"),
        (6, "000.00.15.H10-261121-0004"),
    ]
    messages = [str(e) for e in report.errors]
    assert "Dòng 3" in messages[0] and "không có trong danh mục" in messages[0]
    assert "lý do" in messages[1]
    assert "không phải ngày hợp lệ" in messages[2]
    assert repo.get("000.00.15.H10-261121-0003") is None  # nothing half-imported
    supplement = repo.history("000.00.15.H10-261121-0002")[-1]
    assert supplement.status == "needs_supplement"
    assert supplement.missing_items == ["Tờ khai: thiếu chữ ký", "Ảnh chụp giấy tờ bị mờ"]
    assert "Đã thêm 2 hồ sơ" in report.summary()

    again = import_csv(repo, path, now=NOW)
    assert again.added == [] and again.skipped == [CODE, "000.00.15.H10-261121-0002"]
    assert len(again.errors) == 3
    assert len(repo.history(CODE)) == 1

    updated = import_csv(repo, path, update=True, now=NOW)
    assert updated.updated == [CODE, "000.00.15.H10-261121-0002"]
    assert len(repo.history("000.00.15.H10-261121-0002")) == 2  # same status: no new entry


def test_csv_import_refuses_a_file_without_required_columns(repo, tmp_path):
    path = tmp_path / "thieu.csv"
    path.write_text(f"code;applicant_name\n{CODE};A\n", encoding="utf-8")
    with pytest.raises(DossierError, match="thiếu cột bắt buộc"):
        import_csv(repo, path)


def _demo_readme_rows():
    pattern = re.compile(r"^\| `([^`]+)` \| (\w+) \| ([^|]+) \| (\d{4}) \| (\d{4}) \|", re.M)
    return pattern.findall(DEMO_README.read_text(encoding="utf-8"))


def test_demo_data_matches_its_readme(repo):
    report = import_csv(repo, DEMO_CSV)
    assert report.ok, report.summary()
    assert len(report.added) == 8
    assert {d.status for d in repo.list()} == set(STATUSES)
    rows = _demo_readme_rows()
    assert sorted(code for code, *_ in rows) == sorted(report.added)
    for code, procedure, label, id_last4, phone_last4 in rows:
        dossier = repo.verify(code, id_last4)
        assert dossier is not None and dossier.procedure_id == procedure, code
        assert dossier.status_label == label.strip()
        assert repo.verify(code, phone_last4) is not None, code
    assert [d.procedure_id for d in repo.overdue(TODAY)] == ["thuong_tru"]
    stalled = {d.procedure_id for d in repo.stalled(TODAY, settings().dossiers.stalled_after_days)}
    assert stalled == {"thuong_tru", "can_cuoc"}
    supplement = repo.list(status="needs_supplement")[0]
    assert len(repo.history(supplement.code)[-1].missing_items) == 2
    assert repo.history(repo.list(status="rejected")[0].code)[-1].reason
