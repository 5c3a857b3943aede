"""Plain-Vietnamese texts about a dossier's status, with personal data masked."""
from __future__ import annotations

import datetime as dt
from typing import List, Optional

from dichvucong.dossiers.models import RUNNING_STATUSES, Dossier, Status, StatusEvent, local_date
from dichvucong.knowledge.answers import date_vi
from dichvucong.knowledge.base import default_knowledge_base
from dichvucong.names import mask_person_names
from dichvucong.privacy import mask_name, redact

PORTAL = "https://dichvucong.gov.vn"
NEXT_STEPS = {
    Status.received.value: "Hồ sơ đã được tiếp nhận và sẽ được chuyển xử lý; bạn chưa cần làm gì thêm.",
    Status.processing.value: "Cơ quan đang giải quyết hồ sơ; bạn chưa cần làm gì thêm.",
    Status.result_ready.value: "Kết quả đã sẵn sàng: bạn nhận theo hình thức đã đăng ký (trực tiếp hoặc bưu chính).",
    Status.returned.value: "Hồ sơ đã hoàn tất và kết quả đã được trả.",
    Status.rejected.value: (
        "Bạn có thể liên hệ cơ quan giải quyết để được giải thích, hoặc nộp hồ sơ mới "
        "khi đã khắc phục lý do trên."
    ),
    Status.needs_supplement.value: (
        "Vui lòng bổ sung các mục trên theo hướng dẫn; thời hạn giải quyết tính lại từ khi "
        "hồ sơ được bổ sung đầy đủ."
    ),
}
SAFETY = "Cán bộ và trợ lý không bao giờ hỏi mật khẩu hay mã OTP của bạn."


def procedure_name(procedure_id: str) -> str:
    procedure = default_knowledge_base().get(procedure_id)
    return procedure.short_name if procedure else procedure_id


def overdue_days(dossier: Dossier, today: dt.date) -> int:
    if dossier.status in RUNNING_STATUSES and today > dossier.due_at:
        return (today - dossier.due_at).days
    return 0


def _private(text: str, dossier: Dossier) -> str:
    """Staff free text may name the applicant, a third person or quote numbers: mask them."""
    return redact(mask_person_names(text, known=(dossier.applicant_name,)))


def status_details(dossier: Dossier, latest: Optional[StatusEvent], today: dt.date) -> List[str]:
    lines = [
        f"Hồ sơ {dossier.code} – {procedure_name(dossier.procedure_id)}",
        f"Người nộp: {mask_name(dossier.applicant_name)}",
        f"Trạng thái: {dossier.status_label}"
        + (f" (cập nhật {date_vi(local_date(latest.at))})" if latest else ""),
        f"Ngày tiếp nhận: {date_vi(dossier.received_at)} · Hẹn trả kết quả: {date_vi(dossier.due_at)}",
        f"Cơ quan giải quyết: {(latest.office if latest and latest.office else dossier.receiving_agency)}",
    ]
    late = overdue_days(dossier, today)
    if late:
        lines.append(
            f"⚠️ Hồ sơ đã quá hạn {late} ngày. Bạn có thể liên hệ cơ quan giải quyết hoặc "
            "gõ \"gặp nhân viên\" để được hỗ trợ."
        )
    elif dossier.status in RUNNING_STATUSES:
        lines.append("Hồ sơ đang trong thời hạn giải quyết.")
    if dossier.status == Status.needs_supplement.value and latest:
        lines.append("Cần bổ sung hoặc sửa:")
        lines += [f"• {_private(item, dossier)}" for item in latest.missing_items or []]
        if latest.instructions:
            lines.append(f"Cách khắc phục: {_private(latest.instructions, dossier)}")
    if dossier.status == Status.rejected.value and latest and latest.reason:
        lines.append(f"Lý do: {_private(latest.reason, dossier)}")
    if dossier.status == Status.result_ready.value and latest and latest.instructions:
        lines.append(f"Hướng dẫn nhận kết quả: {_private(latest.instructions, dossier)}")
    lines.append(NEXT_STEPS.get(dossier.status, ""))
    return [line for line in lines if line]


def lookup_answer(dossier: Dossier, latest: Optional[StatusEvent], today: dt.date) -> str:
    return "\n".join(status_details(dossier, latest, today))


def update_notice(dossier: Dossier, latest: Optional[StatusEvent], today: dt.date, kind: str) -> str:
    if kind == "overdue":
        head = "🔔 Thông báo: hồ sơ của bạn đã quá hạn trả kết quả."
    elif kind == "stalled":
        head = "🔔 Thông báo: hồ sơ của bạn chưa có bước xử lý mới trong nhiều ngày."
    else:
        head = "🔔 Thông báo: hồ sơ của bạn vừa được cập nhật."
    tail = (
        f"Tra cứu trên Cổng Dịch vụ công quốc gia: {PORTAL} · "
        f"Gõ \"hủy theo dõi\" để ngừng nhận thông báo. {SAFETY}"
    )
    return "\n".join([head, *status_details(dossier, latest, today), tail])
