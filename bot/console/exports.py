"""Filtered conversations as CSV or XLSX (openpyxl), masked exactly as the console shows them.

The rows are built from ``bot.console.conversation`` objects, whose texts are
already masked (identity and phone numbers, the digits of a lookup): nothing
here reads the tracker's raw texts. Cells that a spreadsheet would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``) get a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from openpyxl import Workbook

from bot.console.clock import fmt_time
from bot.console.conversation import Conversation, Message
from bot.console.quality import FOLLOW_UP_LABELS, QualityConfig

FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CONVERSATION_COLUMNS = [
    "Mã hội thoại", "Người dùng (đã che)", "Kênh", "Bắt đầu", "Lần cuối", "Số tin nhắn",
    "Thủ tục", "Hỏi lại", "Xin gặp cán bộ", "Bị đánh giá 👎", "Kết thúc sau khi hỏi lại",
    "Chủ đề", "Chất lượng", "Việc cần làm tiếp",
]
MESSAGE_COLUMNS = [
    "Mã hội thoại", "Thời điểm", "Ai nói", "Nội dung (đã che)", "Ý định", "Độ tin cậy",
    "Dấu hiệu",
]
_SPEAKERS = {"user": "Người dân", "bot": "Trợ lý", "session": "Phiên mới"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _yes(flag: bool) -> str:
    return "có" if flag else ""


def conversation_row(c: Conversation, tag: Any, cfg: QualityConfig) -> List[Any]:
    labels = cfg.level_labels
    return [
        c.key, c.sender, c.channel, fmt_time(c.started), fmt_time(c.last),
        len(c.user_messages), ", ".join(sorted(c.procedures)), _yes(c.fallback),
        _yes(c.handoff or c.handed_off_at is not None), _yes(c.rated_down),
        _yes(c.ended_in_fallback),
        tag.theme if tag else "", labels.get(tag.quality, tag.quality) if tag else "",
        FOLLOW_UP_LABELS.get(tag.follow_up, tag.follow_up) if tag else "",
    ]


def message_row(c: Conversation, m: Message) -> List[Any]:
    confidence = "" if m.confidence is None or m.kind != "user" else round(m.confidence, 3)
    return [
        c.key, fmt_time(m.at), _SPEAKERS.get(m.kind, m.kind), m.text,
        (m.intent or "") if m.kind == "user" else "", confidence, ", ".join(m.reason_labels),
    ]


def _rows(conversations: Sequence[Conversation], tags: Mapping[str, Any],
          cfg: QualityConfig) -> Dict[str, List[List[Any]]]:
    return {
        "conversations": [conversation_row(c, tags.get(c.sender_digest), cfg)
                          for c in conversations],
        "messages": [message_row(c, m) for c in conversations for m in c.messages],
    }


def to_csv(conversations: Sequence[Conversation], tags: Mapping[str, Any],
           cfg: QualityConfig) -> bytes:
    """One row per message, with its conversation's columns first (Excel-friendly UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CONVERSATION_COLUMNS + MESSAGE_COLUMNS[1:])
    for c in conversations:
        head = conversation_row(c, tags.get(c.sender_digest), cfg)
        for m in c.messages:
            writer.writerow([_cell(v) for v in head + message_row(c, m)[1:]])
    # The BOM lets Excel read the Vietnamese letters as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet(workbook: Workbook, title: str, columns: List[str],
           rows: Iterable[List[Any]], first: bool = False) -> None:
    sheet = workbook.active if first else workbook.create_sheet()
    sheet.title = title
    sheet.append(columns)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    sheet.freeze_panes = "A2"


def to_xlsx(conversations: Sequence[Conversation], tags: Mapping[str, Any],
            cfg: QualityConfig) -> bytes:
    """Two sheets: one row per conversation, one row per message."""
    rows = _rows(conversations, tags, cfg)
    workbook = Workbook()
    _sheet(workbook, "Hội thoại", CONVERSATION_COLUMNS, rows["conversations"], first=True)
    _sheet(workbook, "Tin nhắn", MESSAGE_COLUMNS, rows["messages"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export(fmt: str, conversations: Sequence[Conversation], tags: Mapping[str, Any],
           cfg: QualityConfig) -> Optional[bytes]:
    if fmt == "csv":
        return to_csv(conversations, tags, cfg)
    if fmt == "xlsx":
        return to_xlsx(conversations, tags, cfg)
    return None
