"""Which way a notification request goes: start or stop.

DIET sees "bật thông báo hồ sơ" and "tắt thông báo hồ sơ" as nearly the same
bag of words, and in 5-fold cross-validation 13 requests went to the opposite
direction (7 subscriptions read as unsubscriptions, 6 the other way). Getting
that wrong is not harmless: a citizen who asked to be told when the dossier
moves would silently stop hearing about it. The verb decides, so when the
classifier has chosen one of the two intents, a clear verb of stopping or
starting sets the direction; without one the classifier's choice stands.
"""
from __future__ import annotations

import re
from typing import Optional

from dichvucong.text import intent_canonical

SUBSCRIBE = "subscribe_dossier"
UNSUBSCRIBE = "unsubscribe_dossier"

# What the intent model reads (intent_canonical: folded, abbreviations expanded,
# "đừng"/"dừng" kept apart from "đúng"). Stopping: "hủy", "ngắt", "tắt" (not "tất
# cả"), "ngừng", "đừng/dừng", "bỏ/gỡ theo dõi", "ra khỏi danh sách", or a
# negation right before a verb of notifying ("không nhận thông báo nữa", "không
# cần nhắn em", "hết cần theo dõi", "khỏi gửi tin"). "hết hạn thì nhắc em" and
# "có kết quả hay không thì báo tôi" are no negation of the verb.
_NOTIFY = r"(nhan|gui|bao|nhac|theo doi|thong bao|dang ky|cap nhat)"
_STOP = re.compile(
    r"\b(huy|ngat|tat(?! ca)|ngung|đừng|dừng|unsubscribe|unfollow|stop|ra khoi danh sach)\b"
    r"|\b(bo|go) (theo doi|nhan|dang ky)\b"
    # Unaccented "dung" is also "đúng": only with "nữa" ("dung gui tin nua").
    rf"|\bdung {_NOTIFY}\b.*\bnua\b"
    rf"|\b(khong|chang|hong|khoi|het)( (can|muon|phai)( \w+)?)? {_NOTIFY}\b"
)
# Starting: "bật", "theo dõi", "nhận/nhắn tin", "báo", "gửi", "nhắc", "ping".
_START = re.compile(rf"\b(bat|subscribe|follow|ping|{_NOTIFY})\b")


def direction(intent: str, text: str) -> Optional[str]:
    """The subscription intent the verb asks for, when it disagrees with ``intent``."""
    if intent not in (SUBSCRIBE, UNSUBSCRIBE):
        return None
    words = intent_canonical(text)
    wanted = UNSUBSCRIBE if _STOP.search(words) else SUBSCRIBE if _START.search(words) else intent
    return wanted if wanted != intent else None
