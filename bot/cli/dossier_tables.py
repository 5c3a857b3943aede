"""The listing commands of the dossier CLI: list, overdue and stalled.

The three tables share one column spec (:data:`COLUMNS`); each command only
picks its columns, so headers and cell formats stay the same everywhere.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Sequence, Tuple

from bot.cli.common import ExitCode, out
from dichvucong.dossiers.models import STATUS_LABELS, VIETNAM_TZ, Dossier, local_date
from dichvucong.dossiers.store import DossierRepository, fmt_date
from dichvucong.privacy import mask_name
from dichvucong.settings import settings


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


def status_arg(value: str) -> str:
    """A status key, or its Vietnamese label typed with or without diacritics."""
    from dichvucong.text import fold

    wanted = fold(value)
    for key, label in STATUS_LABELS.items():
        if wanted in (key, fold(label)):
            return key
    return value  # the repository explains what is allowed


def applicant(dossier: Dossier, full: bool) -> str:
    return dossier.applicant_name if full else mask_name(dossier.applicant_name)


@dataclass(frozen=True)
class View:
    """What a cell may depend on besides the dossier."""

    full_names: bool = False
    today: dt.date | None = None


Cell = Callable[[Dossier, View], object]

COLUMNS: Dict[str, Tuple[str, Cell]] = {
    "code": ("Mã hồ sơ", lambda d, v: d.code),
    "procedure": ("Thủ tục", lambda d, v: d.procedure_id),
    "applicant": ("Người nộp", lambda d, v: applicant(d, v.full_names)),
    "status": ("Trạng thái", lambda d, v: d.status_label),
    "received": ("Tiếp nhận", lambda d, v: fmt_date(d.received_at)),
    "due": ("Hẹn trả", lambda d, v: fmt_date(d.due_at)),
    "overdue_days": ("Quá hạn", lambda d, v: f"{(v.today - d.due_at).days} ngày"),
    "agency": ("Cơ quan", lambda d, v: d.receiving_agency),
    "updated": ("Cập nhật lần cuối", lambda d, v: when(d.updated_at)),
    "stalled_days": ("Số ngày", lambda d, v: f"{(v.today - local_date(d.updated_at)).days} ngày"),
}

BASICS = ("code", "procedure", "applicant", "status")
LIST_COLUMNS = (*BASICS, "received", "due")
OVERDUE_COLUMNS = (*BASICS, "due", "overdue_days", "agency")
STALLED_COLUMNS = (*BASICS, "updated", "stalled_days")


def dossier_table(columns: Iterable[str], dossiers: Sequence[Dossier], view: View) -> str:
    spec = [COLUMNS[name] for name in columns]
    return table(
        [header for header, _ in spec], [[cell(d, view) for _, cell in spec] for d in dossiers]
    )


def cmd_list(args, repo: DossierRepository) -> int:
    dossiers = repo.list(
        status=status_arg(args.status) if args.status else None, procedure_id=args.procedure
    )
    if not dossiers:
        out("Không có hồ sơ nào.")
        return ExitCode.OK
    out(dossier_table(LIST_COLUMNS, dossiers, View(args.full_names)))
    out(f"\nTổng cộng {len(dossiers)} hồ sơ.")
    return ExitCode.OK


def cmd_overdue(args, repo: DossierRepository) -> int:
    today = args.today or settings().today()
    dossiers = repo.overdue(today)
    if not dossiers:
        out(f"Không có hồ sơ nào quá hạn tính đến ngày {fmt_date(today)}.")
        return ExitCode.OK
    out(dossier_table(OVERDUE_COLUMNS, dossiers, View(args.full_names, today)))
    out(f"\n{len(dossiers)} hồ sơ quá hạn tính đến ngày {fmt_date(today)}.")
    return ExitCode.OK


def cmd_stalled(args, repo: DossierRepository) -> int:
    today = args.today or settings().today()
    days = args.days if args.days is not None else settings().dossiers.stalled_after_days
    dossiers = repo.stalled(today, days)
    if not dossiers:
        out(f"Không có hồ sơ nào đứng yên từ {days} ngày trở lên.")
        return ExitCode.OK
    out(dossier_table(STALLED_COLUMNS, dossiers, View(args.full_names, today)))
    return ExitCode.OK
