"""Import dossiers, with an optional current status, from a CSV file.

Columns (header required, order free): code, procedure_id, applicant_name,
id_number, phone, receiving_agency, received_at, due_at, status, reason,
missing_items (items separated by "|"), instructions; optionally status_at
(when the current status was set) and actor. Dates are YYYY-MM-DD or
DD/MM/YYYY. A bad row is reported with its line number and the others are
still imported; importing the same file again skips (or, with update=True,
updates) the dossiers already present.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, TextIO, Union

from dichvucong.codes import code_date, normalize_code
from dichvucong.dossiers.models import FINAL_STATUSES, VIETNAM_TZ, Status, utcnow
from dichvucong.dossiers.store import (
    DossierError,
    DossierRepository,
    check_status_change,
)

REQUIRED_COLUMNS = (
    "code",
    "procedure_id",
    "applicant_name",
    "id_number",
    "receiving_agency",
    "due_at",
)
OPTIONAL_COLUMNS = (
    "phone",
    "received_at",
    "status",
    "reason",
    "missing_items",
    "instructions",
    "status_at",
    "actor",
)
DEFAULT_ACTOR = "Nhập từ tệp CSV"
# The time of day given to a status whose file only says the date: the
# middle of the morning office hours, so the local date is never ambiguous.
_OFFICE_TIME = dt.time(9, 0)


@dataclass
class RowError:
    line: int
    code: str | None
    message: str

    def __str__(self) -> str:
        where = f"Dòng {self.line}" + (f" ({self.code})" if self.code else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    added: List[str] = field(default_factory=list)
    updated: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    errors: List[RowError] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        lines = [
            f"Đã thêm {len(self.added)} hồ sơ, cập nhật {len(self.updated)}, "
            f"bỏ qua {len(self.skipped)} (đã có), lỗi {len(self.errors)} dòng."
        ]
        lines += [f"  + Thêm mới: {code}" for code in self.added]
        lines += [f"  ~ Cập nhật: {code}" for code in self.updated]
        lines += [f"  = Bỏ qua vì đã có: {code}" for code in self.skipped]
        lines += [f"  ! {warning}" for warning in self.warnings]
        lines += [f"  ✗ {error}" for error in self.errors]
        return "\n".join(lines)


def parse_date(value: str, column: str) -> dt.date:
    text = (value or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise DossierError(
        f"Cột {column}: “{text}” không phải ngày hợp lệ (YYYY-MM-DD hoặc DD/MM/YYYY)."
    )


def parse_moment(value: str, column: str) -> dt.datetime:
    """A date (taken as 9:00 Vietnam time) or an ISO datetime (Vietnam time if no offset)."""
    text = (value or "").strip()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return dt.datetime.combine(parse_date(text, column), _OFFICE_TIME, VIETNAM_TZ)
    if len(text) <= 10:
        moment = dt.datetime.combine(moment.date(), _OFFICE_TIME)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VIETNAM_TZ)
    return moment


def _open(source: Union[str, Path, TextIO]) -> TextIO:
    if hasattr(source, "read"):
        return source  # type: ignore[return-value]
    # utf-8-sig drops the byte-order mark Excel puts in front of UTF-8 files.
    return open(source, encoding="utf-8-sig", newline="")


def _delimiter(text: str) -> str:
    # Excel in a Vietnamese locale saves "CSV" with semicolons; the header,
    # which holds no quoted text, tells which separator the file uses.
    header = text.split("\n", 1)[0]
    return max(",;\t", key=header.count)


def import_csv(
    repo: DossierRepository,
    source: Union[str, Path, TextIO],
    *,
    update: bool = False,
    now: dt.datetime | None = None,
) -> ImportReport:
    """Import every good row of ``source``; raises DossierError only if the file is unusable."""
    now = now or utcnow()
    handle = _open(source)
    try:
        text = handle.read()
    except UnicodeDecodeError as error:
        raise DossierError("Tệp CSV phải được lưu với bảng mã UTF-8.") from error
    finally:
        if handle is not source:
            handle.close()
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header = [(name or "").strip() for name in (reader.fieldnames or [])]
    if not header:
        raise DossierError("Tệp CSV trống hoặc thiếu dòng tiêu đề.")
    reader.fieldnames = header
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise DossierError(f"Tệp CSV thiếu cột bắt buộc: {', '.join(missing)}.")
    report = ImportReport()
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        report.warnings.append(f"Bỏ qua các cột không dùng đến: {', '.join(unknown)}.")

    for row in reader:
        line = reader.line_num
        values = {key: (value or "").strip() for key, value in row.items() if key}
        if not any(values.values()):
            continue
        code = normalize_code(values.get("code", "")) or values.get("code") or None
        try:
            outcome = _import_row(repo, values, update=update, now=now)
        except DossierError as error:
            report.errors.append(RowError(line, code, str(error)))
            continue
        getattr(report, outcome).append(code)
    return report


def _import_row(
    repo: DossierRepository, values: Dict[str, str], *, update: bool, now: dt.datetime
) -> str:
    code = normalize_code(values["code"])
    if code is None:
        raise DossierError(f"Mã hồ sơ “{values['code']}” không đúng định dạng.")
    received_at = (
        parse_date(values["received_at"], "received_at") if values.get("received_at") else None
    )
    due_at = parse_date(values["due_at"], "due_at") if values.get("due_at") else None
    status = values.get("status") or Status.received.value
    actor = values.get("actor") or DEFAULT_ACTOR
    # Checked before anything is written, so a bad status adds nothing.
    status, actor, reason, items, instructions = check_status_change(
        status,
        actor,
        values.get("reason"),
        values.get("missing_items"),
        values.get("instructions"),
    )
    status_at = parse_moment(values["status_at"], "status_at") if values.get("status_at") else now

    existing = repo.get(code)
    if existing is not None and not update:
        return "skipped"
    if existing is not None:
        if not values.get("status"):
            # An empty status column on re-import means "leave the status alone".
            status = existing.status
        if status != existing.status and existing.status in FINAL_STATUSES:
            raise DossierError(
                f"Hồ sơ đã kết thúc với trạng thái “{existing.status_label}”; không cập nhật nữa."
            )
        repo.edit(
            code,
            procedure_id=values["procedure_id"],
            applicant_name=values["applicant_name"],
            id_number=values.get("id_number") or None,
            phone=values.get("phone") or None,
            receiving_agency=values["receiving_agency"],
            received_at=received_at,
            due_at=due_at,
        )
        previous = existing.status
    else:
        received_day = received_at or code_date(code)
        received_moment = min(now, dt.datetime.combine(received_day, _OFFICE_TIME, VIETNAM_TZ))
        repo.add(
            code,
            values["procedure_id"],
            values["applicant_name"],
            values["id_number"],
            values.get("phone") or None,
            receiving_agency=values["receiving_agency"],
            received_at=received_at,
            due_at=due_at,
            actor=actor,
            at=received_moment,
        )
        previous = Status.received.value
        # History must not show the status before the dossier was received.
        status_at = max(status_at, received_moment)
    if status != previous:
        repo.update_status(
            code,
            status,
            actor,
            values["receiving_agency"],
            reason=reason,
            missing_items=items,
            instructions=instructions,
            at=status_at,
        )
    return "updated" if existing is not None else "added"
