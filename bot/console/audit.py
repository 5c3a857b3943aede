"""The console's audit log (table ``console_audit``): who did what, on what, when, from where.

Recorded: logins (success and failure), a conversation viewed, an export of
reviewed examples, a model promoted or rolled back, a conversation tagged or its
tag changed, an export of conversations (CSV/XLSX). Trainers read it on
``/audit``. Recording never stops the action it records: a failure is logged.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List, Optional

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.console.db import AuditEntry, Database

logger = logging.getLogger(__name__)

LOGIN = "login"
LOGIN_FAILED = "login_failed"
VIEW_CONVERSATION = "view_conversation"
EXPORT = "export"
PROMOTE = "promote"
ROLLBACK = "rollback"
RETENTION = "retention"
TAG_CONVERSATION = "tag_conversation"
RETAG_CONVERSATION = "retag_conversation"
EXPORT_CONVERSATIONS = "export_conversations"
ACTION_LABELS = {
    LOGIN: "Đăng nhập",
    LOGIN_FAILED: "Đăng nhập thất bại",
    VIEW_CONVERSATION: "Xem hội thoại",
    EXPORT: "Xuất dữ liệu đã duyệt",
    PROMOTE: "Đưa mô hình vào dùng",
    ROLLBACK: "Quay lại mô hình",
    RETENTION: "Xóa dữ liệu quá hạn",
    TAG_CONVERSATION: "Đánh giá hội thoại",
    RETAG_CONVERSATION: "Sửa đánh giá hội thoại",
    EXPORT_CONVERSATIONS: "Xuất hội thoại (CSV/XLSX)",
}
PAGE = 200


def _cut(value: Optional[str], size: int) -> Optional[str]:
    return None if value is None else str(value)[:size]


def record(
    db: Database, username: str, action: str, target: Optional[str] = None,
    address: Optional[str] = None, at: Optional[dt.datetime] = None,
) -> None:
    entry = AuditEntry(
        username=_cut(username or "?", 64), action=action, target=_cut(target, 200),
        address=_cut(address, 64),
    )
    if at is not None:
        entry.at = at
    try:
        with db.session() as session:
            session.add(entry)
    except SQLAlchemyError:
        logger.exception("audit entry not recorded: %s %s", action, target)


def entries(db: Database, username: Optional[str] = None, action: Optional[str] = None,
            limit: int = PAGE) -> List[AuditEntry]:
    """The latest entries, newest first, optionally of one user or one action."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if username:
        query = query.where(AuditEntry.username == username)
    if action:
        query = query.where(AuditEntry.action == action)
    with db.session() as session:
        return list(session.execute(query).scalars())


def entry_dict(entry: AuditEntry) -> Dict[str, Any]:
    return {
        "at": entry.at.isoformat(), "username": entry.username, "action": entry.action,
        "label": ACTION_LABELS.get(entry.action, entry.action), "target": entry.target,
        "address": entry.address,
    }
