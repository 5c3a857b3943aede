"""The overview's "is it working" figures on a constructed tracker store and dossier
store (SQLite, real Rasa events): resolved without a human, abandonment, handoffs per
day, top unanswered questions (masked), and dossiers resolved early or on time per
office, procedure and month against configurable targets, with overdue and stalled lists."""

from __future__ import annotations

import datetime as dt

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.console.web.app import create_app
from dichvucong.dossiers.store import DossierRepository
from tests.support.console import (
    CLARIFY_BUTTONS,
    PHONE,
    RATING_BUTTONS,
    REVIEWER,
    VIETNAM,
    Conversation,
    add_users,
    login,
    make_workspace,
    settings_for,
    today_vn,
    write_tracker,
)

UTC = dt.timezone.utc
OFFICE_A = "UBND phường Ba Đình, TP. Hà Nội"
OFFICE_B = "UBND xã Tân Lập, huyện Đan Phượng"
QUESTION = "cho hỏi thủ tục gì đó ở xã"


def _at(days_ago: int, hour: int) -> dt.datetime:
    day = today_vn() - dt.timedelta(days=days_ago)
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=VIETNAM)


def _conversations():
    """Seven conversations: two resolved alone, two abandoned after a clarification,
    one handed off, one rated 👎, and one still going on (not judged yet)."""
    resolved = Conversation("web-resolved", _at(3, 9))
    (resolved.user("lệ phí khai sinh", "ask_fee", 0.95).action("action_answer_procedure")
        .bot("Lệ phí – Đăng ký khai sinh: miễn phí.", "utter_procedure_answer", RATING_BUTTONS)
        .listen().payload('/rate_answer{"rating":"up"}', "rate_answer",
                          [{"entity": "rating", "value": "up", "start": 0, "end": 2}])
        .action("action_rate_answer").bot("Cảm ơn bạn đã đánh giá!").listen())

    recovered = Conversation("web-recovered", _at(3, 10))
    (recovered.user(f"gọi cho tôi số {PHONE}", "request_callback", 0.3, fallback=True)
        .action("action_clarify").bot("Bạn muốn hỏi về việc nào?", "utter_clarify",
                                      CLARIFY_BUTTONS).listen()
        .user("thời gian làm căn cước", "ask_processing_time", 0.96)
        .action("action_answer_procedure").bot("Thời gian giải quyết: 7 ngày.").listen())

    abandoned = Conversation("web-abandoned", _at(2, 8))
    (abandoned.user(QUESTION, "ask_procedure", 0.4, fallback=True).action("action_clarify")
        .bot("Bạn muốn hỏi về việc nào?", "utter_clarify", CLARIFY_BUTTONS).listen())

    abandoned_again = Conversation("8123456789", _at(1, 15), channel="telegram")
    (abandoned_again.user("Cho hỏi THỦ TỤC gì đó ở xã", "ask_procedure", 0.45, fallback=True)
        .action("action_default_fallback").bot("Xin lỗi, tôi chưa hiểu ý bạn.").listen())

    handed = Conversation("web-handoff", _at(1, 9))
    (handed.user("cho tôi gặp cán bộ", "request_human", 0.97).action("action_handoff")
        .bot("Bạn có thể gọi tổng đài 18001096.").listen())

    rated_down = Conversation("web-down", _at(2, 14))
    (rated_down.user("lệ phí đổi bằng lái", "ask_fee", 0.9).action("action_answer_procedure")
        .bot("Lệ phí – Đổi giấy phép lái xe…", "utter_procedure_answer", RATING_BUTTONS)
        .listen().payload('/rate_answer{"rating":"down"}', "rate_answer",
                          [{"entity": "rating", "value": "down", "start": 0, "end": 4}])
        .action("action_rate_answer").bot("Cảm ơn bạn đã góp ý.").listen())

    ongoing = Conversation("web-ongoing", dt.datetime.now(UTC) - dt.timedelta(minutes=5))
    (ongoing.user("hỏi gì đó chưa rõ", "ask_procedure", 0.3, fallback=True)
        .action("action_clarify").bot("Bạn muốn hỏi về việc nào?", "utter_clarify").listen())
    return [resolved, recovered, abandoned, abandoned_again, handed, rated_down, ongoing]


def _code(day: dt.date, number: int) -> str:
    return f"000.00.15.H10-{day:%y%m%d}-{number:04d}"


def _dossiers(database_url: str) -> dict:
    """Four resolved in November (office A: early, on time, late; office B: on time),
    one in October, one overdue and stalled, one fresh."""
    repo = DossierRepository.from_url(database_url, pepper="test-pepper")
    codes = {}

    def add(name, office, procedure, received, due, decisions):
        code = _code(received, len(codes) + 1)
        codes[name] = code
        repo.add(code, procedure, "Nguyễn Văn An", "001090012345", receiving_agency=office,
                 received_at=received, due_at=due, actor="Cán bộ",
                 at=dt.datetime.combine(received, dt.time(2), UTC))
        for status, day in decisions:
            repo.update_status(code, status, "Cán bộ", office,
                               reason="Không đủ điều kiện" if status == "rejected" else None,
                               at=dt.datetime.combine(day, dt.time(3), UTC))

    nov = lambda day: dt.date(2026, 11, day)  # noqa: E731
    add("early", OFFICE_A, "khai_sinh", nov(10), nov(14), [("result_ready", nov(12))])
    add("on_time", OFFICE_A, "khai_sinh", nov(10), nov(14), [("returned", nov(14))])
    add("late", OFFICE_A, "can_cuoc", nov(16), nov(18),
        [("processing", nov(17)), ("result_ready", nov(20)), ("returned", nov(21))])
    add("office_b", OFFICE_B, "khai_sinh", nov(3), nov(5), [("rejected", nov(5))])
    add("october", OFFICE_B, "khai_sinh", dt.date(2026, 10, 28), dt.date(2026, 10, 30),
        [("result_ready", dt.date(2026, 10, 29))])
    add("overdue", OFFICE_A, "khai_sinh", nov(20), nov(24), [("processing", nov(21))])
    repo.dispose()
    return codes


@pytest.fixture
def stores(tmp_path):
    """Written outside the event loop: Rasa's tracker store runs its own."""
    workspace = make_workspace(tmp_path / "workspace")
    tracker_db = write_tracker(tmp_path / "tracker.db", _conversations())
    database_url = f"sqlite:///{tmp_path / 'console.db'}"
    add_users(database_url)
    quality_file = tmp_path / "quality.yml"
    quality_file.write_text(
        "levels:\n  - {code: tot, label: Tốt}\n  - {code: kem, label: Kém}\n"
        "themes: [Lệ phí]\n"
        f"on_time_target:\n  default: 0.99\n  offices:\n    \"{OFFICE_B}\": 0.995\n",
        encoding="utf-8",
    )
    settings = settings_for(workspace, tracker_db, database_url,
                            CONSOLE_QUALITY_FILE=str(quality_file))
    return settings, _dossiers(database_url)


@pytest.fixture
async def client(stores):
    settings, codes = stores
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    client.codes = codes
    yield client
    await client.close()


async def test_conversation_outcomes(client):
    await login(client, REVIEWER)
    start = today_vn() - dt.timedelta(days=6)
    figures = await (await client.get(
        f"/api/analytics?from={start.isoformat()}&to={today_vn().isoformat()}")).json()
    assert figures["conversations"] == 7
    outcomes = figures["outcomes"]
    assert outcomes == {
        "finished": 6, "ongoing": 1, "resolved_without_human": 2,
        "resolved_rate": pytest.approx(2 / 6), "abandoned": 2,
        "abandonment_rate": pytest.approx(2 / 6), "handed_off": 1,
    }
    per_day = figures["handoffs_per_day"]
    assert per_day[(today_vn() - dt.timedelta(days=1)).isoformat()] == 1
    assert sum(per_day.values()) == 1
    # The queue does not exist yet: a clear "not available", never a made-up number.
    assert figures["handoff_times"] == {"median_wait_seconds": None,
                                        "median_handling_seconds": None, "available": False}
    top = figures["top_unanswered"]
    # The same question typed two ways counts twice, shown in one of its forms.
    assert top[0]["count"] == 2 and top[0]["text"].lower() == QUESTION
    texts = " ".join(t["text"] for t in top)
    assert "gọi cho tôi số" in texts and PHONE not in texts and "0912" not in texts

    page = await (await client.get(f"/?from={start.isoformat()}")).text()
    assert 'id="kpi-resolved">33,3 %' in page
    assert 'id="kpi-abandoned">33,3 %' in page
    assert "chưa có hàng đợi cán bộ" in page and top[0]["text"] in page
    assert PHONE not in page


async def test_dossiers_resolved_on_time_per_office_procedure_and_month(client):
    await login(client, REVIEWER)
    figures = await (await client.get("/api/analytics?from=2026-11-01&to=2026-11-30")).json()
    dossiers = figures["dossiers"]
    total = dossiers["total"]
    assert (total["resolved"], total["early"], total["on_time"], total["late"]) == (4, 1, 2, 1)
    assert total["share"] == pytest.approx(0.75)
    offices = {g["key"]: g for g in dossiers["offices"]}
    assert offices[OFFICE_A]["share"] == pytest.approx(2 / 3)
    assert offices[OFFICE_A]["target"] == 0.99 and offices[OFFICE_A]["meets_target"] is False
    assert offices[OFFICE_B]["share"] == 1.0
    assert offices[OFFICE_B]["target"] == 0.995 and offices[OFFICE_B]["meets_target"] is True
    procedures = {g["key"]: (g["resolved"], g["late"]) for g in dossiers["procedures"]}
    assert procedures == {"can_cuoc": (1, 1), "khai_sinh": (3, 0)}
    assert [g["key"] for g in dossiers["months"]] == ["2026-11"]  # October is outside

    october = await (await client.get("/api/analytics?from=2026-10-01&to=2026-11-30")).json()
    assert [g["key"] for g in october["dossiers"]["months"]] == ["2026-10", "2026-11"]

    # Today is after 24/11: the dossier still in processing is overdue and stalled.
    overdue = client.codes["overdue"]
    assert [d["code"] for d in dossiers["overdue"]["dossiers"]] == [overdue]
    assert dossiers["overdue"]["dossiers"][0]["days_late"] == (today_vn() - dt.date(2026, 11, 24)).days
    assert overdue in [d["code"] for d in dossiers["stalled"]["dossiers"]]
    assert "applicant" not in str(dossiers) and "Nguyễn Văn An" not in str(dossiers)

    page = await (await client.get("/?from=2026-11-01&to=2026-11-30")).text()
    assert 'id="kpi-on-time">75,0 %' in page
    assert OFFICE_B in page and "chưa đạt" in page and overdue in page
    assert "Nguyễn Văn An" not in page


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_dossier_figures_on_both_databases(backend, request, tmp_path):
    from bot.console import dossier_figures, quality
    from bot.console.db import Database
    from dichvucong.dossiers.store import migrate

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'dossiers.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    migrate(url)
    codes = _dossiers(url)
    cfg = quality.QualityConfig(levels=(("tot", "Tốt"),), themes=(),
                                office_targets={OFFICE_B: 0.995})
    db = Database(url)
    try:
        figures = dossier_figures.compute(db, dt.date(2026, 11, 1), dt.date(2026, 11, 30), cfg,
                                          today=dt.date(2026, 11, 26), stalled_days=3)
    finally:
        db.dispose()
    assert (figures.total.resolved, figures.total.share) == (4, pytest.approx(0.75))
    # Sorted worst first: the office that misses its target leads.
    assert [(g.key, g.meets_target) for g in figures.offices] == [
        (OFFICE_A, False), (OFFICE_B, True)]
    assert [d["code"] for d in figures.overdue] == [codes["overdue"]]
    assert figures.overdue[0]["days_late"] == 2
    # Open (results waiting to be handed over included, as the store's reminders
    # count them) and unchanged for three days or more before 26/11, oldest first.
    assert [d["code"] for d in figures.stalled] == [
        codes["october"], codes["early"], codes["overdue"]]
    # The same lists as the dossier store's own reminders.
    repo = DossierRepository.from_url(url, pepper="test-pepper")
    try:
        today = dt.date(2026, 11, 26)
        assert [d["code"] for d in figures.stalled] == [d.code for d in repo.stalled(today, 3)]
        assert [d["code"] for d in figures.overdue] == [d.code for d in repo.overdue(today)]
    finally:
        repo.dispose()
