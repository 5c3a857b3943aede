"""The staff command line: every command, exit codes, and the notification hook."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.cli import dossiers as dossier_cli
from dichvucong.settings import PROJECT_ROOT
from tests.support.postgres import PG_URL, PostgresServer  # noqa: F401

CODE = "000.00.15.H10-261120-0012"
SUPPLEMENT = "000.45.02.H58-261120-0012"
OVERDUE = "000.00.12.H26-261105-0021"


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'dossiers.db'}"


@pytest.fixture
def seeded(url, capsys) -> str:
    assert dossier_cli.main(["seed-demo", "--database-url", url]) == 0
    capsys.readouterr()
    return url


def run(capsys, *argv: str):
    code = dossier_cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cli(*argv: str, env=None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.dossiers", *argv],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_runs_as_a_module():
    result = cli("--help")
    assert result.returncode == 0
    for command in ("migrate", "add", "update-status", "import", "list", "overdue", "seed-demo"):
        assert command in result.stdout


def test_errors_exit_2_without_a_traceback(url):
    assert cli("migrate", "--database-url", url).returncode == 0
    result = cli("update-status", "000.00.15.H10-261120-0099", "processing", "--database-url", url)
    assert result.returncode == 2
    assert "Không tìm thấy hồ sơ" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    result = cli("list", "--database-url", "postgresql+psycopg2://postgres@127.0.0.1:1/nowhere")
    assert result.returncode == 2
    assert "không làm việc được với cơ sở dữ liệu" in result.stderr
    assert "Traceback" not in result.stderr
    result = cli("list", "--bogus")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_commands_refuse_an_unmigrated_database(url, capsys):
    code, _, err = run(capsys, "list", "--database-url", url)
    assert code == 2
    assert "migrate" in err


def test_seed_demo_is_idempotent(url, capsys):
    code, out, _ = run(capsys, "seed-demo", "--database-url", url)
    assert code == 0 and "Đã thêm 8 hồ sơ" in out
    code, out, _ = run(capsys, "seed-demo", "--database-url", url)
    assert code == 0 and "Đã thêm 0 hồ sơ" in out and "bỏ qua 8" in out


def test_list_masks_names_unless_asked(seeded, capsys):
    code, out, _ = run(capsys, "list", "--database-url", seeded)
    assert code == 0
    assert "Trần T. B. N." in out and "Trần Thị Bích Ngọc" not in out
    assert "Tổng cộng 8 hồ sơ" in out
    _, out, _ = run(
        capsys, "list", "--full-names", "--status", "cho bo sung", "--database-url", seeded
    )
    assert "Trần Thị Bích Ngọc" in out and SUPPLEMENT in out
    assert "Tổng cộng 1 hồ sơ" in out
    _, out, _ = run(capsys, "list", "--procedure", "khai_tu", "--database-url", seeded)
    assert "000.33.05.H26-261125-0002" in out and "Tổng cộng 1 hồ sơ" in out
    code, _, err = run(capsys, "list", "--status", "xong", "--database-url", seeded)
    assert code == 2 and "không hợp lệ" in err


def test_overdue_and_stalled(seeded, capsys):
    code, out, _ = run(capsys, "overdue", "--today", "2026-11-26", "--database-url", seeded)
    assert code == 0 and OVERDUE in out and "10 ngày" in out
    _, out, _ = run(capsys, "overdue", "--today", "2026-11-10", "--database-url", seeded)
    assert "Không có hồ sơ nào quá hạn" in out
    _, out, _ = run(capsys, "stalled", "--today", "2026-11-26", "--database-url", seeded)
    assert "000.00.15.H10-261116-0009" in out and "9 ngày" in out


def test_add_then_history(url, capsys):
    run(capsys, "migrate", "--database-url", url)
    code, out, _ = run(
        capsys,
        "add",
        "--database-url",
        url,
        "--code",
        "000.00.15.h10 - 261120 - 0012",
        "--procedure",
        "khai_sinh",
        "--name",
        "Nguyễn Văn An",
        "--id-number",
        "001090012345",
        "--phone",
        "0912345601",
        "--agency",
        "UBND phường Ba Đình",
        "--due",
        "24/11/2026",
        "--actor",
        "Phạm Thu Trang",
    )
    assert code == 0, out
    assert f"Đã thêm hồ sơ {CODE}" in out and "Nguyễn V. A." in out
    assert "001090012345" not in out
    code, _, err = run(
        capsys,
        "add",
        "--database-url",
        url,
        "--code",
        CODE,
        "--procedure",
        "khai_sinh",
        "--name",
        "A",
        "--id-number",
        "001090012345",
        "--agency",
        "X",
        "--due",
        "2026-11-24",
    )
    assert code == 2 and "đã có" in err
    code, out, _ = run(capsys, "history", CODE, "--database-url", url)
    assert code == 0 and "Đã tiếp nhận — Phạm Thu Trang, UBND phường Ba Đình" in out


def test_update_status_rules_and_output(seeded, capsys, monkeypatch):
    monkeypatch.setattr(dossier_cli, "notify_status_change", lambda repo, event: 0)
    code, _, err = run(capsys, "update-status", OVERDUE, "rejected", "--database-url", seeded)
    assert code == 2 and "lý do" in err
    code, out, err = run(
        capsys,
        "update-status",
        OVERDUE.lower(),
        "needs_supplement",
        "--database-url",
        seeded,
        "--missing",
        "Giấy tờ chứng minh chỗ ở hợp pháp: bản chụp bị mờ",
        "--missing",
        "Tờ khai CT01: thiếu ý kiến của chủ hộ|Ảnh chân dung",
        "--instructions",
        "Nộp bổ sung tại Công an phường Hoàn Kiếm trước ngày 05/12/2026.",
        "--actor",
        "Đỗ Mạnh Cường",
        "--office",
        "Công an phường Hoàn Kiếm",
    )
    assert code == 0, err
    assert "Đang xử lý → Chờ bổ sung" in out
    assert "- Tờ khai CT01: thiếu ý kiến của chủ hộ" in out and "- Ảnh chân dung" in out
    assert "thông báo" not in out  # nobody to notify: nothing said
    code, out, _ = run(capsys, "update-status", OVERDUE, "Đang xử lý", "--database-url", seeded)
    assert code == 0 and "Chờ bổ sung → Đang xử lý" in out


def _fake_notifier(monkeypatch, calls, fail=False):
    async def notify_status_change(repo, event):
        if fail:
            raise RuntimeError("Telegram không phản hồi")
        calls.append((repo, event.dossier.code, event.status))
        return 1  # one subscriber told

    monkeypatch.setattr(dossier_cli, "notify_status_change", notify_status_change)


def test_update_status_calls_the_notifier_when_present(seeded, capsys, monkeypatch):
    calls = []
    _fake_notifier(monkeypatch, calls)
    code, out, _ = run(capsys, "update-status", OVERDUE, "result_ready", "--database-url", seeded)
    assert code == 0
    assert [(code_, status) for _, code_, status in calls] == [(OVERDUE, "result_ready")]
    assert "Đã gửi thông báo" in out
    code, out, _ = run(
        capsys, "update-status", OVERDUE, "returned", "--no-notify", "--database-url", seeded
    )
    assert code == 0 and len(calls) == 1 and "--no-notify" in out


def test_a_failing_notifier_keeps_the_status(seeded, capsys, monkeypatch):
    _fake_notifier(monkeypatch, [], fail=True)
    code, _, err = run(capsys, "update-status", OVERDUE, "result_ready", "--database-url", seeded)
    assert code == 1 and "trạng thái đã lưu" in err
    _, out, _ = run(capsys, "list", "--status", "result_ready", "--database-url", seeded)
    assert OVERDUE in out


def test_import_reports_bad_rows_with_exit_1(url, tmp_path, capsys):
    run(capsys, "migrate", "--database-url", url)
    path = tmp_path / "hoso.csv"
    path.write_text(
        "code,procedure_id,applicant_name,id_number,phone,receiving_agency,received_at,due_at\n"
        f"{CODE},khai_sinh,Nguyễn Văn An,001090012345,0912345601,UBND phường A,2026-11-20,2026-11-24\n"
        "000.00.15.H10-261120-0013,khai_sinh,Lê B,12,,UBND phường A,2026-11-20,2026-11-24\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "import", str(path), "--database-url", url)
    assert code == 1
    assert "Đã thêm 1 hồ sơ" in out and "Dòng 3 (000.00.15.H10-261120-0013)" in out
    code, _, err = run(capsys, "import", str(tmp_path / "khong-co.csv"), "--database-url", url)
    assert code == 2 and "không tìm thấy tệp" in err


def test_cli_on_postgresql(postgres_server, capsys):  # noqa: F811
    url = postgres_server.create_database()
    code, out, _ = run(capsys, "seed-demo", "--database-url", url)
    assert code == 0 and "Đã thêm 8 hồ sơ" in out
    code, out, _ = run(capsys, "overdue", "--today", "2026-11-26", "--database-url", url)
    assert code == 0 and OVERDUE in out
