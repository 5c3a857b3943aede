"""Staff command line for the dossier database.

    python -m bot.dossier_cli --help

Exit status: 0 done, 1 done in part (some CSV rows rejected, or the status was
saved but the notification failed), 2 nothing done because of an error.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import importlib
import importlib.util
import inspect
import sys
import unicodedata
from typing import Callable, Dict, List, Sequence

from alembic.util import CommandError as AlembicError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from dichvucong.dossiers.csv_import import import_csv, parse_date
from dichvucong.dossiers.models import STATUS_LABELS, VIETNAM_TZ, Dossier, StatusEvent, local_date
from dichvucong.dossiers.store import (
    DossierError,
    DossierRepository,
    fmt_date,
    migrate,
)
from dichvucong.knowledge.base import PROCEDURE_IDS
from dichvucong.privacy import mask_name
from dichvucong.settings import PROJECT_ROOT, settings

DEMO_CSV = PROJECT_ROOT / "data" / "demo" / "dossiers.csv"
NOTIFY_MODULE = "dichvucong.dossiers.notify"

OK, PARTIAL, FAILED = 0, 1, 2


class CommandError(Exception):
    """A problem to report in one line, without a traceback."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own wording stays English
        self.print_usage(sys.stderr)
        self.exit(FAILED, f"Lỗi cú pháp lệnh: {message}\n")


# --- output ------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[unicodedata.normalize("NFC", str(c)) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("─" * w for w in widths))
    return "\n".join(lines)


def when(moment: dt.datetime) -> str:
    return moment.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M")


def _name(dossier: Dossier, full: bool) -> str:
    return dossier.applicant_name if full else mask_name(dossier.applicant_name)


def _out(text: str = "") -> None:
    print(text)


def _err(text: str) -> None:
    print(f"Lỗi: {text}", file=sys.stderr)


# --- commands ----------------------------------------------------------------


def cmd_migrate(args, url: str) -> int:
    migrate(url)
    _out(f"Đã cập nhật cấu trúc cơ sở dữ liệu lên phiên bản mới nhất ({_safe(url)}).")
    return OK


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
    _out(
        f"Đã thêm hồ sơ {dossier.code} ({dossier.procedure_id}), người nộp "
        f"{mask_name(dossier.applicant_name)}, tiếp nhận {fmt_date(dossier.received_at)}, "
        f"hẹn trả {fmt_date(dossier.due_at)}."
    )
    return OK


def cmd_update_status(args, repo: DossierRepository) -> int:
    before = repo.get(args.code)
    event = repo.update_status(
        args.code,
        _status_arg(args.status),
        args.actor,
        args.office,
        reason=args.reason,
        missing_items=args.missing,
        instructions=args.instructions,
    )
    previous = f"{before.status_label} → " if before else ""
    _out(
        f"Đã cập nhật hồ sơ {event.dossier.code}: {previous}{event.status_label} "
        f"(lúc {when(event.at)}, {event.actor}, {event.office})."
    )
    _print_event_details(event)
    if args.no_notify:
        _out("Không gửi thông báo (--no-notify).")
        return OK
    try:
        notified = notify(repo, event)
    except Exception as error:  # the status is saved whatever the notifier does
        _err(f"trạng thái đã lưu nhưng gửi thông báo thất bại: {error}")
        return PARTIAL
    if notified:
        _out("Đã gửi thông báo cho người theo dõi hồ sơ.")
    return OK


def notify(repo: DossierRepository, event: StatusEvent) -> bool:
    """Call ``dichvucong.dossiers.notify.notify_status_change(repo, event)`` if that module exists.

    Returns False when there is no notifier yet. A notifier module that exists
    but fails to import is a bug and is reported, not skipped. The notifier
    may be a plain or an async function.
    """
    if importlib.util.find_spec(NOTIFY_MODULE) is None:
        return False
    notify_status_change: Callable = importlib.import_module(NOTIFY_MODULE).notify_status_change
    result = notify_status_change(repo, event)
    if inspect.isawaitable(result):
        asyncio.run(result)
    return True


def cmd_notify_reminders(args, repo: DossierRepository) -> int:
    from dichvucong.dossiers.notify import send_reminders

    sent = send_reminders(repo, args.today, args.days)
    _out(f"Đã gửi {sent} thông báo nhắc hồ sơ quá hạn hoặc lâu không xử lý.")
    return OK


def cmd_import(args, repo: DossierRepository) -> int:
    report = import_csv(repo, args.file, update=args.update)
    _out(report.summary())
    return OK if report.ok else PARTIAL


def cmd_list(args, repo: DossierRepository) -> int:
    dossiers = repo.list(
        status=_status_arg(args.status) if args.status else None, procedure_id=args.procedure
    )
    if not dossiers:
        _out("Không có hồ sơ nào.")
        return OK
    _out(
        table(
            ["Mã hồ sơ", "Thủ tục", "Người nộp", "Trạng thái", "Tiếp nhận", "Hẹn trả"],
            [
                [
                    d.code,
                    d.procedure_id,
                    _name(d, args.full_names),
                    d.status_label,
                    fmt_date(d.received_at),
                    fmt_date(d.due_at),
                ]
                for d in dossiers
            ],
        )
    )
    _out(f"\nTổng cộng {len(dossiers)} hồ sơ.")
    return OK


def cmd_overdue(args, repo: DossierRepository) -> int:
    today = args.today or settings().today()
    dossiers = repo.overdue(today)
    if not dossiers:
        _out(f"Không có hồ sơ nào quá hạn tính đến ngày {fmt_date(today)}.")
        return OK
    _out(
        table(
            ["Mã hồ sơ", "Thủ tục", "Người nộp", "Trạng thái", "Hẹn trả", "Quá hạn", "Cơ quan"],
            [
                [
                    d.code,
                    d.procedure_id,
                    _name(d, args.full_names),
                    d.status_label,
                    fmt_date(d.due_at),
                    f"{(today - d.due_at).days} ngày",
                    d.receiving_agency,
                ]
                for d in dossiers
            ],
        )
    )
    _out(f"\n{len(dossiers)} hồ sơ quá hạn tính đến ngày {fmt_date(today)}.")
    return OK


def cmd_stalled(args, repo: DossierRepository) -> int:
    today = args.today or settings().today()
    days = args.days if args.days is not None else settings().dossiers.stalled_after_days
    dossiers = repo.stalled(today, days)
    if not dossiers:
        _out(f"Không có hồ sơ nào đứng yên từ {days} ngày trở lên.")
        return OK
    _out(
        table(
            ["Mã hồ sơ", "Thủ tục", "Người nộp", "Trạng thái", "Cập nhật lần cuối", "Số ngày"],
            [
                [
                    d.code,
                    d.procedure_id,
                    _name(d, args.full_names),
                    d.status_label,
                    when(d.updated_at),
                    f"{(today - local_date(d.updated_at)).days} ngày",
                ]
                for d in dossiers
            ],
        )
    )
    return OK


def cmd_history(args, repo: DossierRepository) -> int:
    events = repo.history(args.code)
    dossier = events[0].dossier
    _out(
        f"Hồ sơ {dossier.code} ({dossier.procedure_id}), người nộp "
        f"{_name(dossier, args.full_names)}, hẹn trả {fmt_date(dossier.due_at)}:"
    )
    for event in events:
        who = ", ".join(part for part in (event.actor, event.office) if part)
        _out(f"• {when(event.at)}  {event.status_label}" + (f" — {who}" if who else ""))
        _print_event_details(event, indent="    ")
    return OK


def cmd_unlock(args, repo: DossierRepository) -> int:
    removed = repo.unlock(args.code)
    _out(f"Đã mở khóa tra cứu hồ sơ {args.code}." if removed else
         f"Hồ sơ {args.code} không bị khóa tra cứu.")
    return OK


def cmd_seed_demo(args, url: str) -> int:
    migrate(url)
    repo = DossierRepository.from_url(url)
    try:
        report = import_csv(repo, DEMO_CSV)
    finally:
        repo.dispose()
    _out(f"Dữ liệu mẫu từ {DEMO_CSV.relative_to(PROJECT_ROOT)}:")
    _out(report.summary())
    return OK if report.ok else PARTIAL


def _print_event_details(event: StatusEvent, indent: str = "  ") -> None:
    if event.reason:
        _out(f"{indent}Lý do: {event.reason}")
    if event.missing_items:
        _out(f"{indent}Cần bổ sung:")
        for item in event.missing_items:
            _out(f"{indent}  - {item}")
    if event.instructions:
        _out(f"{indent}Hướng dẫn: {event.instructions}")


# --- arguments ---------------------------------------------------------------


def _status_arg(value: str) -> str:
    """A status key, or its Vietnamese label typed with or without diacritics."""
    from dichvucong.text import fold

    wanted = fold(value)
    for key, label in STATUS_LABELS.items():
        if wanted in (key, fold(label)):
            return key
    return value  # the repository explains what is allowed


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

    parser = _Parser(
        prog="python -m bot.dossier_cli",
        description="Quản lý cơ sở dữ liệu hồ sơ thủ tục hành chính cho trợ lý ảo.",
        epilog="Mã thoát: 0 thành công; 1 thành công một phần; 2 lỗi, không thay đổi gì.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="LỆNH", parser_class=_Parser)
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
                "Chạy `python -m bot.dossier_cli migrate` trước."
            )
        return REPO_COMMANDS[args.command](args, repo)
    finally:
        repo.dispose()


def main(argv: List[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    url = getattr(args, "database_url", None) or settings().dossiers.database_url
    try:
        return run(args)
    except (DossierError, CommandError) as error:
        _err(str(error))
    except FileNotFoundError as error:
        _err(f"không tìm thấy tệp {error.filename}.")
    except OSError as error:
        _err(f"không đọc được tệp: {error.strerror or error}.")
    except ArgumentError:
        _err(f"DATABASE_URL không hợp lệ: {_safe(url)}.")
    except AlembicError as error:
        _err(f"không nâng cấp được cấu trúc cơ sở dữ liệu: {error}")
    except DBAPIError as error:
        detail = str(error.orig).strip().splitlines()[0] if error.orig else ""
        _err(f"không làm việc được với cơ sở dữ liệu {_safe(url)}: {detail}")
    except SQLAlchemyError as error:
        _err(f"lỗi cơ sở dữ liệu ({_safe(url)}): {error.__class__.__name__}: {error}")
    except KeyboardInterrupt:
        _err("đã dừng theo yêu cầu.")
    return FAILED


if __name__ == "__main__":
    sys.exit(main())
