"""Which way a request goes: start or stop (notifications, a conversation with staff).

DIET sees "bật thông báo hồ sơ" and "tắt thông báo hồ sơ", or "cho tôi gặp
cán bộ" and "không cần gặp cán bộ nữa", as nearly the same bag of words. In
5-fold cross-validation 13 notification requests and 9 requests about staff
went the opposite way. That is not harmless: a citizen who asked to be told
when the dossier moves would silently stop hearing about it, and one who
wanted the bot back would be queued for a person. The verb decides, so when
the classifier has chosen one intent of a pair, a clear verb of stopping or
starting sets the direction; without one the classifier's choice stands.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Optional, Pattern

from dichvucong.text import intent_canonical

SUBSCRIBE, UNSUBSCRIBE = "subscribe_dossier", "unsubscribe_dossier"
REQUEST_HUMAN, END_HANDOFF = "request_human", "end_handoff"

# Patterns read what the intent model reads (intent_canonical: folded,
# abbreviations expanded, "đừng"/"dừng" kept apart from "đúng").
_NOTIFY = r"(nhan|gui|bao|nhac|theo doi|thong bao|dang ky|cap nhat)"
# Stopping notifications: "hủy", "ngắt", "tắt" (not "tất cả"), "ngừng",
# "đừng/dừng", "bỏ/gỡ theo dõi", "ra khỏi danh sách", or a negation right
# before a verb of notifying ("không nhận thông báo nữa", "không cần nhắn em",
# "hết cần theo dõi", "khỏi gửi tin"). "hết hạn thì nhắc em" and "có kết quả
# hay không thì báo tôi" negate no verb.
_STOP_NOTIFYING = re.compile(
    r"\b(huy|ngat|tat(?! ca)|ngung|đừng|dừng|unsubscribe|unfollow|stop|ra khoi danh sach)\b"
    r"|\b(bo|go) (theo doi|nhan|dang ky)\b"
    # Unaccented "dung" is also "đúng": only with "nữa" ("dung gui tin nua").
    rf"|\bdung {_NOTIFY}\b.*\bnua\b"
    rf"|\b(khong|chang|hong|khoi|het)( (can|muon|phai)( \w+)?)? {_NOTIFY}\b"
)
_START_NOTIFYING = re.compile(rf"\b(bat|subscribe|follow|ping|{_NOTIFY})\b")

_STAFF = r"(can bo|nhan vien|nguoi that|nguoi|tong dai|cb|ad)"
_TALK = r"(gap|noi chuyen|chat|tro chuyen|ket noi|ho tro|lien he|lien lac|tu van)"
# Ending the conversation with staff: a verb of ending before the chat or the
# staff ("đóng cuộc chat", "ngắt kết nối với cán bộ", "kết thúc hỗ trợ trực
# tiếp", "rút yêu cầu hỗ trợ"), not needing staff any more ("không cần gặp cán
# bộ nữa", "hết cần cb"), or asking for the bot back ("chuyển về bot", "chế
# độ tự động"). "hủy hồ sơ, cho gặp cán bộ" ends nothing.
_STOP_TALKING = re.compile(
    r"\b(ngat|dong|ket thuc|ngung|đừng|dừng|thoat|huy|rut|end)( \w+){0,3} "
    rf"(cuoc|chat|tro chuyen|noi chuyen|ket noi|ho tro|yeu cau|{_STAFF})\b"
    rf"|\b(khong|chang|hong|het) (can|muon)( {_TALK})?( voi)? {_STAFF}\b"
    # "chat với bot lại", not "không muốn nói chuyện với bot".
    r"|\b(ve|lai) (voi |vs )?bot\b|\bbot lai\b|\bche do tu dong\b"
    r"|\btra lai cho bot\b"
)
_START_TALKING = re.compile(rf"\b{_TALK}( truc tiep)?( voi)? {_STAFF}\b|\b(hotline|tong dai)\b")


@dataclass(frozen=True)
class _Pair:
    start: str
    stop: str
    stopping: Pattern
    starting: Pattern


_PAIRS: Dict[str, _Pair] = {
    intent: pair
    for pair in (
        _Pair(SUBSCRIBE, UNSUBSCRIBE, _STOP_NOTIFYING, _START_NOTIFYING),
        _Pair(REQUEST_HUMAN, END_HANDOFF, _STOP_TALKING, _START_TALKING),
    )
    for intent in (pair.start, pair.stop)
}


def direction(intent: str, text: str) -> Optional[str]:
    """The intent of ``intent``'s pair that the verb asks for, when it disagrees with ``intent``."""
    pair = _PAIRS.get(intent)
    if pair is None:
        return None
    words = intent_canonical(text)
    wanted = (
        pair.stop if pair.stopping.search(words)
        else pair.start if pair.starting.search(words)
        else intent
    )
    return wanted if wanted != intent else None
