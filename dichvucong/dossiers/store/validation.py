"""Input rules shared by the repository and the CSV import, free of the database.

The errors live here too: every rule raises :class:`DossierError`, whose
message is Vietnamese and can be shown to staff as is. ``check_status_change``
is public so that the CSV import can reject a bad row before adding anything.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Callable, List, Sequence, Tuple, Union

from dichvucong.codes import EXAMPLE_CODE, normalize_code
from dichvucong.dossiers.models import STATUS_LABELS, STATUSES, Status
from dichvucong.knowledge.base import PROCEDURE_IDS
from dichvucong.privacy import normalize_identity, normalize_phone

_CHANNEL = re.compile(r"[a-z0-9_.\-]{1,32}")


class DossierError(ValueError):
    """Invalid input or state; the message is Vietnamese and meant for people."""


class DossierNotFound(DossierError):
    pass


class DossierExists(DossierError):
    pass


def fmt_date(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


def clean(value: str | None) -> str | None:
    value = " ".join((value or "").split()) if value is not None else None
    return value or None


def clean_items(items: Union[Sequence[str], str] | None) -> List[str]:
    if items is None:
        return []
    if isinstance(items, str):
        items = [items]
    # "|" and line breaks separate items in CSV cells and on the command line.
    pieces = [piece for raw in items for piece in re.split(r"[|\n]", str(raw))]
    return [item for item in (clean(piece) for piece in pieces) if item]


def check_status_change(
    status: Union[str, Status],
    actor: str | None,
    reason: str | None = None,
    missing_items: Union[Sequence[str], str] | None = None,
    instructions: str | None = None,
) -> Tuple[str, str, str | None, List[str], str | None]:
    """Validate and clean the inputs of a status change without touching the database.

    Returns (status, actor, reason, missing_items, instructions). The CSV import
    calls it before adding a dossier so that a bad row adds nothing at all.
    """
    status = require_status(status)
    actor = clean(actor)
    reason = clean(reason)
    instructions = clean(instructions)
    items = clean_items(missing_items)
    if not actor:
        raise DossierError("Thiếu tên cán bộ cập nhật trạng thái.")
    label = STATUS_LABELS[status]
    if status == Status.needs_supplement.value:
        if not items:
            raise DossierError(
                f"Trạng thái “{label}” phải nêu chính xác từng giấy tờ còn thiếu hoặc chưa hợp lệ."
            )
        if not instructions:
            raise DossierError(
                f"Trạng thái “{label}” phải kèm hướng dẫn bổ sung: nộp ở đâu, "
                "bằng cách nào, trong thời hạn nào."
            )
    elif items:
        raise DossierError(
            "Danh sách giấy tờ cần bổ sung chỉ dùng cho trạng thái "
            f"“{STATUS_LABELS[Status.needs_supplement.value]}”."
        )
    if status == Status.rejected.value and not reason:
        raise DossierError(f"Trạng thái “{label}” phải ghi rõ lý do từ chối.")
    return status, actor, reason, items, instructions


def validated_fields(
    digest: Callable[[str, str], str], code: str, *, partial: bool = False, **raw
) -> dict:
    """The checked columns of a dossier; identity and phone become digests via ``digest``.

    With ``partial`` (an edit) a missing identity number keeps the stored one.
    """
    procedure_id = require_procedure((raw["procedure_id"] or "").strip())
    name = " ".join((raw["applicant_name"] or "").split())
    if not name:
        raise DossierError("Thiếu họ tên người nộp hồ sơ.")
    agency = " ".join((raw["receiving_agency"] or "").split())
    if not agency:
        raise DossierError("Thiếu tên cơ quan tiếp nhận hồ sơ.")
    received_at, due_at = raw["received_at"], raw["due_at"]
    if not isinstance(due_at, dt.date):
        raise DossierError("Thiếu ngày hẹn trả kết quả.")
    if due_at < received_at:
        raise DossierError(
            f"Ngày hẹn trả kết quả ({fmt_date(due_at)}) không được trước "
            f"ngày tiếp nhận ({fmt_date(received_at)})."
        )
    fields = dict(
        procedure_id=procedure_id,
        applicant_name=name,
        receiving_agency=agency,
        received_at=received_at,
        due_at=due_at,
    )
    # The numbers themselves are neither echoed in messages nor kept.
    if raw["id_number"] or not partial:
        identity = normalize_identity(raw["id_number"] or "")
        if identity is None:
            raise DossierError(
                "Số định danh cá nhân phải gồm 12 chữ số (hoặc 9 chữ số nếu là CMND cũ)."
            )
        fields["id_digest"] = digest(identity, code)
        fields["id_last4_digest"] = digest(identity[-4:], code)
    if raw["phone"]:
        phone = normalize_phone(raw["phone"])
        if phone is None:
            raise DossierError(
                "Số điện thoại không hợp lệ: cần dạng 0912345678 hoặc +84 912 345 678."
            )
        fields["phone_digest"] = digest(phone, code)
        fields["phone_last4_digest"] = digest(phone[-4:], code)
    return fields


def require_procedure(procedure_id: str) -> str:
    if procedure_id not in PROCEDURE_IDS:
        raise DossierError(
            f"Thủ tục “{procedure_id}” không có trong danh mục. "
            f"Dùng một trong: {', '.join(PROCEDURE_IDS)}."
        )
    return procedure_id


def require_code(code: str) -> str:
    canonical = normalize_code(code or "")
    if canonical is None:
        raise DossierError(
            f"Mã hồ sơ “{(code or '').strip()}” không đúng định dạng (ví dụ đúng: {EXAMPLE_CODE})."
        )
    return canonical


def require_status(status: Union[str, Status]) -> str:
    value = status.value if isinstance(status, Status) else (status or "").strip()
    if value not in STATUSES:
        choices = "; ".join(f"{key} ({label})" for key, label in STATUS_LABELS.items())
        raise DossierError(f"Trạng thái “{value}” không hợp lệ. Dùng một trong: {choices}.")
    return value


def require_channel(channel: str) -> str:
    value = (channel or "").strip().lower()
    if not _CHANNEL.fullmatch(value):
        raise DossierError(f"Kênh nhận thông báo “{channel}” không hợp lệ.")
    return value
