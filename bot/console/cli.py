"""Command line of the staff console.

    python -m bot.console                       # serve (default 127.0.0.1:5080)
    python -m bot.console users add NAME --role reviewer|trainer|operator [--password-stdin]
    python -m bot.console users list | disable NAME | enable NAME | password NAME
    python -m bot.console train-compare         # train a candidate and compare, in the foreground
    python -m bot.console export                # reviewed annotations -> data/nlu/reviewed.yml
    python -m bot.console migrate               # create or upgrade the console tables

Exit status: 0 done, 1 the work ran but failed (training, validation), 2 refused.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from typing import Sequence

from bot.cli.common import ExitCode, Parser
from bot.console.db import ROLES
from bot.console.settings import Settings

# The staff CLIs' one set of exit codes: a refused request is the "nothing
# done" code, a failure on the way the "partly done" one.
OK, FAILED, REFUSED = ExitCode.OK, ExitCode.PARTIAL, ExitCode.FAILED


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m bot.console", description="Bảng điều khiển cho cán bộ.")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="chạy bảng điều khiển (mặc định)")
    serve.add_argument("--host", help="địa chỉ lắng nghe (CONSOLE_HOST, mặc định 127.0.0.1)")
    serve.add_argument("--port", type=int, help="cổng (CONSOLE_PORT, mặc định 5080)")

    users = commands.add_parser("users", help="quản lý tài khoản cán bộ")
    user_commands = users.add_subparsers(dest="users_command", required=True)
    add = user_commands.add_parser("add", help="tạo tài khoản")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=list(ROLES))
    add.add_argument("--password-stdin", action="store_true",
                     help="đọc mật khẩu từ dòng đầu của đầu vào chuẩn")
    user_commands.add_parser("list", help="liệt kê tài khoản")
    for name, text in (("disable", "vô hiệu hóa (đăng xuất ngay)"), ("enable", "mở lại")):
        sub = user_commands.add_parser(name, help=text)
        sub.add_argument("name")
    password = user_commands.add_parser("password", help="đặt lại mật khẩu")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true")

    commands.add_parser("train-compare", help="huấn luyện ứng viên và so sánh với mô hình đang dùng")
    commands.add_parser("export", help="xuất câu đã duyệt ra data/nlu/reviewed.yml")
    commands.add_parser("migrate", help="tạo hoặc nâng cấp các bảng của bảng điều khiển")
    return parser


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("Mật khẩu: ")
    second = getpass.getpass("Nhập lại mật khẩu: ")
    if first != second:
        raise ValueError("Hai lần nhập mật khẩu không khớp.")
    return first


def _database(settings: Settings):
    from bot.console.db import Database

    return Database(settings.database_url, auto_migrate=settings.auto_migrate)


def _users(args, settings: Settings) -> int:
    from bot.console.auth import Accounts, AuthError
    from bot.console.clock import fmt_time
    from bot.console.db import ROLE_LABELS

    db = _database(settings)
    accounts = Accounts(db)
    try:
        if args.users_command == "add":
            password = _read_password(args.password_stdin)
            user = accounts.add_user(args.name, password, args.role)
            print(f"Đã tạo tài khoản {user.username} ({ROLE_LABELS[user.role]}).")
        elif args.users_command == "list":
            users = accounts.users()
            if not users:
                print("Chưa có tài khoản nào.")
            for user in users:
                state = "đang dùng" if user.active else "đã vô hiệu hóa"
                last = fmt_time(user.last_login_at) or "—"
                print(f"{user.username:<24} {ROLE_LABELS[user.role]:<18} {state:<16} "
                      f"đăng nhập gần nhất: {last}")
        elif args.users_command in ("disable", "enable"):
            user = accounts.set_active(args.name, args.users_command == "enable")
            verb = "Đã mở lại" if user.active else "Đã vô hiệu hóa"
            print(f"{verb} tài khoản {user.username}.")
        elif args.users_command == "password":
            accounts.set_password(args.name, _read_password(args.password_stdin))
            print(f"Đã đặt lại mật khẩu cho {args.name}; các phiên đăng nhập cũ đã bị hủy.")
    except (AuthError, ValueError) as error:
        print(f"Lỗi: {error}", file=sys.stderr)
        return REFUSED
    finally:
        db.dispose()
    return OK


def _train_compare(settings: Settings) -> int:
    from bot.console.training import Trainer, TrainingError

    db = _database(settings)
    trainer = Trainer(settings, db)
    try:
        job = trainer.create_job(getpass.getuser() + " (dòng lệnh)")
    except TrainingError as error:
        print(f"Lỗi: {error}", file=sys.stderr)
        db.dispose()
        return REFUSED
    print(f"Công việc huấn luyện #{job.id}", flush=True)
    try:
        job = trainer.run_job(job.id, echo=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        trainer.shutdown()
        trainer.mark_interrupted()
        print("Đã dừng.", file=sys.stderr)
        return FAILED
    finally:
        db.dispose()
    if job.status != "done":
        return FAILED
    comparison = job.result["comparison"]
    print(f"\nỨng viên {job.version} (models/candidates/{job.version}.tar.gz):")
    print(f"{'chỉ số':<34} {'đang dùng':>10} {'ứng viên':>10} {'chênh':>8}")
    for row in comparison["overall"]:
        current = "—" if row["current"] is None else f"{row['current']:.1%}"
        candidate = "—" if row["candidate"] is None else f"{row['candidate']:.1%}"
        delta = "—" if row["delta"] is None else f"{row['delta'] * 100:+.1f}"
        print(f"{row['label']:<34} {current:>10} {candidate:>10} {delta:>8}")
    changed = [r for r in comparison["per_intent"] if (r["delta_f1"] or 0) != 0]
    if changed:
        print("\nF1 theo ý định (đang dùng → ứng viên):")
        for row in changed:
            print(f"  {row['intent']:<24} {row['current_f1'] or 0:.1%} → {row['f1'] or 0:.1%}")
    print("\nĐưa vào dùng: trong bảng điều khiển, trang Huấn luyện và mô hình.")
    return OK


def _export(settings: Settings) -> int:
    from bot.console.nlu_changes import DataError, export_reviewed

    db = _database(settings)
    try:
        report = export_reviewed(db, settings)
    except DataError as error:
        print(f"Lỗi: {error}", file=sys.stderr)
        return FAILED
    finally:
        db.dispose()
    print(report.summary())
    return OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(argv) if argv is not None else None)
    settings = Settings.from_env()
    command = args.command or "serve"
    if command == "serve":
        from bot.console.web.app import run

        overrides = {}
        if getattr(args, "host", None):
            overrides["host"] = args.host
        if getattr(args, "port", None):
            overrides["port"] = args.port
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
        from dichvucong import jsonlog, logsafety
        from dichvucong.settings import settings as process_settings

        logsafety.install()
        jsonlog.use_json("console", process_settings().operations.json_logs)
        # Requests and the audit trail (who annotated, promoted, rolled back) are kept.
        for name in ("aiohttp.access", "bot.console.audit"):
            logging.getLogger(name).setLevel(logging.INFO)
        run(settings.with_(**overrides))
        return OK
    if command == "users":
        return _users(args, settings)
    if command == "train-compare":
        logging.basicConfig(level=logging.WARNING)
        return _train_compare(settings)
    if command == "export":
        return _export(settings)
    if command == "migrate":
        from dichvucong.dossiers.store import migrate

        migrate(settings.database_url)
        print("Đã tạo hoặc nâng cấp các bảng của bảng điều khiển.")
        return OK
    return REFUSED


