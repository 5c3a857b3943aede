"""Staff command line for the dossier database.

    python -m bot.cli.dossiers --help

Exit status: 0 done, 1 done in part (some CSV rows rejected, or the status was
saved but the notification failed), 2 nothing done because of an error.
The listing commands (list, overdue, stalled) live in :mod:`bot.cli.dossier_tables`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import inspect
import sys
from typing import Callable, Dict, List

from alembic.util import CommandError as AlembicError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from bot.cli.common import CommandError, ExitCode, Parser, err, out, relative_to_root
from bot.cli.dossier_tables import applicant, cmd_list, cmd_overdue, cmd_stalled, status_arg, when
from dichvucong.dossiers.csv_import import import_csv, parse_date
from dichvucong.dossiers.models import STATUS_LABELS, StatusEvent
from dichvucong.dossiers.notify import notify_status_change, send_reminders
from dichvucong.dossiers.store import DossierError, DossierRepository, fmt_date, migrate
from dichvucong.knowledge.base import PROCEDURE_IDS
from dichvucong.privacy import mask_name
from dichvucong.settings import PROJECT_ROOT, settings

DEMO_CSV = PROJECT_ROOT / "data" / "demo" / "dossiers.csv"
PROG = "python -m bot.cli.dossiers"


# --- commands ----------------------------------------------------------------


def cmd_migrate(args, url: str) -> int:
    migrate(url)
    out(f"Đã cập nhật cấu trúc cơ sở dữ liệu lên phiên bản mới nhất ({_safe(url)}).")
    return ExitCode.OK


def cmd_add(args, repo: DossierRepository) -> int:
    id_number = args.id_number
    if not id_number:
        if not sys.stdin.isatty():
            raise CommandError("thiếu --id-number (số định danh cá nhân của người nộp).")
        # Prompted without echo so the number stays out of shell history.
        id_number = getpass.getpass("Số định danh cá nhân (không hiện khi gõ): ")
    dossier = repo.add(
        args.code,
        args.procedure,
        args.name,
        id_number,
        args.phone,
        receiving_agency=args.agency,
        received_at=args.received,
        due_at=args.due,
        actor=args.actor,
    )
    out(
        f"Đã thêm hồ sơ {dossier.code} ({dossier.procedure_id}), người nộp "
        f"{mask_name(dossier.applicant_name)}, tiếp nhận {fmt_date(dossier.received_at)}, "
        f"hẹn trả {fmt_date(dossier.due_at)}."
    )
    return ExitCode.OK


def cmd_update_status(args, repo: DossierRepository) -> int:
    before = repo.get(args.code)
    event = repo.update_status(
        args.code,
        status_arg(args.status),
        args.actor,
        args.office,
        reason=args.reason,
        missing_items=args.missing,
        instructions=args.instructions,
    )
    previous = f"{before.status_label} → " if before else ""
    out(
        f"Đã cập nhật hồ sơ {event.dossier.code}: {previous}{event.status_label} "
        f"(lúc {when(event.at)}, {event.actor}, {event.office})."
    )
    _print_event_details(event)
    if args.no_notify:
        out("Không gửi thông báo (--no-notify).")
        return ExitCode.OK
    try:
        notified = notify(repo, event)
    except Exception as error:  # the status is saved whatever the notifier does
        err(f"trạng thái đã lưu nhưng gửi thông báo thất bại: {error}")
        return ExitCode.PARTIAL
    if notified:
        out("Đã gửi thông báo cho người theo dõi hồ sơ.")
    return ExitCode.OK


def notify(repo: DossierRepository, event: StatusEvent) -> int:
    """``notify_status_change(repo, event)``: how many subscribers were told.

    The notifier may be a plain or an async function; with nobody subscribed
    it sends nothing and the CLI says nothing about notices.
    """
    result = notify_status_change(repo, event)
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    return result or 0


def cmd_notify_reminders(args, repo: DossierRepository) -> int:
    sent = send_reminders(repo, args.today, args.days)
    out(f"Đã gửi {sent} thông báo nhắc hồ sơ quá hạn hoặc lâu không xử lý.")
    return ExitCode.OK


def cmd_import(args, repo: DossierRepository) -> int:
    report = import_csv(repo, args.file, update=args.update)
    out(report.summary())
    return ExitCode.OK if report.ok else ExitCode.PARTIAL


def cmd_history(args, repo: DossierRepository) -> int:
    events = repo.history(args.code)
    dossier = events[0].dossier
    out(
        f"Hồ sơ {dossier.code} ({dossier.procedure_id}), người nộp "
        f"{applicant(dossier, args.full_names)}, hẹn trả {fmt_date(dossier.due_at)}:"
    )
    for event in events:
        who = ", ".join(part for part in (event.actor, event.office) if part)
        out(f"• {when(event.at)}  {event.status_label}" + (f" — {who}" if who else ""))
        _print_event_details(event, indent="    ")
    return ExitCode.OK


def cmd_unlock(args, repo: DossierRepository) -> int:
    removed = repo.unlock(args.code)
    out(f"Đã mở khóa tra cứu hồ sơ {args.code}." if removed else
        f"Hồ sơ {args.code} không bị khóa tra cứu.")
    return ExitCode.OK


def cmd_seed_demo(args, url: str) -> int:
    migrate(url)
    repo = DossierRepository.from_url(url)
    try:
        report = import_csv(repo, DEMO_CSV)
    finally:
        repo.dispose()
    out(f"Dữ liệu mẫu từ {relative_to_root(DEMO_CSV)}:")
    out(report.summary())
    return ExitCode.OK if report.ok else ExitCode.PARTIAL


def _print_event_details(event: StatusEvent, indent: str = "  ") -> None:
    if event.reason:
        out(f"{indent}Lý do: {event.reason}")
    if event.missing_items:
        out(f"{indent}Cần bổ sung:")
        for item in event.missing_items:
            out(f"{indent}  - {item}")
    if event.instructions:
        out(f"{indent}Hướng dẫn: {event.instructions}")


# --- arguments ---------------------------------------------------------------


def _date_arg(value: str) -> dt.date:
    try:
        return parse_date(value, "ngày")
    except DossierError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<DATABASE_URL không hợp lệ>"


STATUS_HELP = "; ".join(f"{key} = {label}" for key, label in STATUS_LABELS.items())


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        default=argparse.SUPPRESS,
        help="URL SQLAlchemy của cơ sở dữ liệu (mặc định: biến môi trường DATABASE_URL)",
    )
    names = argparse.ArgumentParser(add_help=False)
    names.add_argument(
        "--full-names",
        action="store_true",
        help="hiện đầy đủ họ tên người nộp (mặc định chỉ hiện tên viết tắt)",
    )

    parser = Parser(
        prog=PROG,
        description="Quản lý cơ sở dữ liệu hồ sơ thủ tục hành chính cho trợ lý ảo.",
        epilog="Mã thoát: 0 thành công; 1 thành công một phần; 2 lỗi, không thay đổi gì.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="LỆNH", parser_class=Parser)
    sub.required = True

    sub.add_parser(
        "migrate", parents=[common], help="tạo hoặc nâng cấp bảng dữ liệu (alembic upgrade head)"
    )

    add = sub.add_parser("add", parents=[common], help="thêm một hồ sơ mới tiếp nhận")
    add.add_argument("--code", required=True, help="mã hồ sơ, ví dụ 000.00.15.H10-261120-0012")
    add.add_argument(
        "--procedure",
        required=True,
        choices=PROCEDURE_IDS,
        metavar="THỦ_TỤC",
        help=f"mã thủ tục: {', '.join(PROCEDURE_IDS)}",
    )
    add.add_argument("--name", required=True, help="họ tên người nộp")
    add.add_argument("--id-number", help="số định danh cá nhân; bỏ trống để nhập ẩn")
    add.add_argument("--phone", help="số điện thoại đăng ký nhận thông báo")
    add.add_argument("--agency", required=True, help="cơ quan tiếp nhận")
    add.add_argument("--received", type=_date_arg, help="ngày tiếp nhận (mặc định: theo mã hồ sơ)")
    add.add_argument("--due", type=_date_arg, required=True, help="ngày hẹn trả kết quả")
    add.add_argument("--actor", default=_default_actor(), help="cán bộ tiếp nhận")

    update = sub.add_parser("update-status", parents=[common], help="chuyển trạng thái hồ sơ")
    update.add_argument("code", metavar="MÃ_HỒ_SƠ")
    update.add_argument("status", metavar="TRẠNG_THÁI", help=STATUS_HELP)
    update.add_argument("--reason", help="lý do (bắt buộc khi từ chối giải quyết)")
    update.add_argument(
        "--missing",
        action="append",
        metavar="GIẤY_TỜ",
        help="giấy tờ còn thiếu hoặc chưa hợp lệ; lặp lại cho từng mục hoặc ngăn cách bằng |",
    )
    update.add_argument("--instructions", help="hướng dẫn bổ sung hoặc nhận kết quả")
    update.add_argument("--actor", default=_default_actor(), help="cán bộ cập nhật")
    update.add_argument("--office", help="nơi xử lý (mặc định: cơ quan tiếp nhận)")
    update.add_argument(
        "--no-notify", action="store_true", help="không gửi thông báo cho người theo dõi hồ sơ"
    )

    imp = sub.add_parser("import", parents=[common], help="nhập hồ sơ từ tệp CSV")
    imp.add_argument("file", metavar="TỆP.csv")
    imp.add_argument("--update", action="store_true", help="cập nhật hồ sơ đã có thay vì bỏ qua")

    lst = sub.add_parser("list", parents=[common, names], help="liệt kê hồ sơ")
    lst.add_argument("--status", metavar="TRẠNG_THÁI", help=STATUS_HELP)
    lst.add_argument("--procedure", choices=PROCEDURE_IDS, metavar="THỦ_TỤC")

    over = sub.add_parser("overdue", parents=[common, names], help="hồ sơ quá hạn trả kết quả")
    over.add_argument("--today", type=_date_arg, help="tính đến ngày (mặc định: hôm nay)")

    stall = sub.add_parser(
        "stalled", parents=[common, names], help="hồ sơ lâu không đổi trạng thái"
    )
    stall.add_argument("--today", type=_date_arg, help="tính đến ngày (mặc định: hôm nay)")
    stall.add_argument(
        "--days", type=int, help=f"số ngày không đổi (mặc định: {settings().dossiers.stalled_after_days})"
    )

    hist = sub.add_parser("history", parents=[common, names], help="lịch sử trạng thái một hồ sơ")
    hist.add_argument("code", metavar="MÃ_HỒ_SƠ")

    unlock = sub.add_parser(
        "unlock", parents=[common],
        help="mở khóa tra cứu một hồ sơ bị khóa do nhập sai nhiều lần (sau khi xác minh người dân)",
    )
    unlock.add_argument("code", metavar="MÃ_HỒ_SƠ")

    remind = sub.add_parser(
        "notify-reminders",
        parents=[common],
        help="gửi thông báo một lần cho người theo dõi hồ sơ quá hạn hoặc lâu không xử lý (chạy bằng cron)",
    )
    remind.add_argument("--today", type=_date_arg, help="tính đến ngày (mặc định: hôm nay)")
    remind.add_argument(
        "--days", type=int, help=f"số ngày không đổi (mặc định: {settings().dossiers.stalled_after_days})"
    )

    sub.add_parser(
        "seed-demo",
        parents=[common],
        help="tạo bảng và nạp hồ sơ mẫu data/demo/dossiers.csv (chạy lại không sao)",
    )
    return parser


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cán bộ"


REPO_COMMANDS: Dict[str, Callable] = {
    "add": cmd_add,
    "update-status": cmd_update_status,
    "import": cmd_import,
    "list": cmd_list,
    "overdue": cmd_overdue,
    "stalled": cmd_stalled,
    "history": cmd_history,
    "notify-reminders": cmd_notify_reminders,
    "unlock": cmd_unlock,
}
URL_COMMANDS: Dict[str, Callable] = {"migrate": cmd_migrate, "seed-demo": cmd_seed_demo}


def run(args: argparse.Namespace) -> int:
    url = getattr(args, "database_url", None) or settings().dossiers.database_url
    if args.command in URL_COMMANDS:
        return URL_COMMANDS[args.command](args, url)
    repo = DossierRepository.from_url(url)
    try:
        if not repo.schema_ready():
            raise CommandError(
                f"cơ sở dữ liệu {_safe(url)} chưa có bảng hồ sơ. "
                f"Chạy `{PROG} migrate` trước."
            )
        return REPO_COMMANDS[args.command](args, repo)
    finally:
        repo.dispose()


def main(argv: List[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    url = getattr(args, "database_url", None) or settings().dossiers.database_url
    try:
        return int(run(args))
    except (DossierError, CommandError) as error:
        err(str(error))
    except FileNotFoundError as error:
        err(f"không tìm thấy tệp {error.filename}.")
    except OSError as error:
        err(f"không đọc được tệp: {error.strerror or error}.")
    except ArgumentError:
        err(f"DATABASE_URL không hợp lệ: {_safe(url)}.")
    except AlembicError as error:
        err(f"không nâng cấp được cấu trúc cơ sở dữ liệu: {error}")
    except DBAPIError as error:
        detail = str(error.orig).strip().splitlines()[0] if error.orig else ""
        err(f"không làm việc được với cơ sở dữ liệu {_safe(url)}: {detail}")
    except SQLAlchemyError as error:
        err(f"lỗi cơ sở dữ liệu ({_safe(url)}): {error.__class__.__name__}: {error}")
    except KeyboardInterrupt:
        err("đã dừng theo yêu cầu.")
    return int(ExitCode.FAILED)


if __name__ == "__main__":
    sys.exit(main())
