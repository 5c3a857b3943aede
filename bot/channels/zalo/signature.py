"""Zalo webhook authentication: the MAC over the exact bytes, the replay window, the URL check."""
from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any, Dict, Optional, Tuple

from dichvucong.inbound import InvalidInput, parse_json_object

SIGNATURE_HEADER = "X-ZEvent-Signature"
# Zalo retries a delivery it thinks failed after 30 s, 5, 15, 30 and 60 minutes,
# keeping the original timestamp: the last retry comes about 110 minutes after
# the event. Two hours accept them all; a replay inside the window is caught by
# the de-duplication of msg_ids (``dichvucong.deliveries``), not by the clock.
DEFAULT_MAX_SKEW_SECONDS = 7200


def is_verification(raw_body: bytes, signature: Optional[str]) -> bool:
    """Zalo's check of a new webhook URL: an unsigned POST whose body is ``{}``.

    Zalo saves the URL only if this request gets HTTP 200. It carries nothing
    to act on, so answering it lets no one do anything; any other unsigned
    body is still refused.
    """
    if isinstance(signature, str) and signature.strip():
        return False
    try:
        return parse_json_object(raw_body or b"") == {}
    except InvalidInput:
        return False


def compute_mac(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """Zalo's MAC: plain SHA-256 (not HMAC) of app_id + body + timestamp + OA Secret Key."""
    digest = hashlib.sha256()
    digest.update(app_id.encode("utf-8"))
    digest.update(raw_body)
    digest.update(timestamp.encode("utf-8"))
    digest.update(oa_secret_key.encode("utf-8"))
    return digest.hexdigest()


def authenticate(
    raw_body: bytes,
    signature: Optional[str],
    app_id: str,
    oa_secret_key: str,
    max_skew_seconds: float = DEFAULT_MAX_SKEW_SECONDS,
    now_ms: Optional[float] = None,
) -> Tuple[int, Optional[Dict[str, Any]], str]:
    """Check a webhook request; returns (HTTP status, event, reason). Never raises.

    The MAC covers the exact bytes received: parsing and re-serialising the
    JSON would change spacing and escapes and never match. The body is parsed
    defensively (size, UTF-8, nesting depth), so garbage is a 4xx, not a 500.
    """
    if not isinstance(signature, str) or not signature.strip().lower().startswith("mac="):
        return 401, None, "missing or malformed signature"
    received = signature.strip()[4:].strip().lower()
    try:
        event = parse_json_object(raw_body or b"")
    except InvalidInput as error:
        return error.status, None, "body is not a JSON object"
    timestamp = event.get("timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, (str, int)):
        return 401, None, "missing timestamp"
    timestamp = str(timestamp)
    try:
        sent_ms = int(timestamp)
    except ValueError:
        return 401, None, "malformed timestamp"
    now_ms = time.time() * 1000 if now_ms is None else now_ms
    if abs(now_ms - sent_ms) > max_skew_seconds * 1000:
        return 401, None, "stale timestamp"
    expected = compute_mac(app_id, raw_body, timestamp, oa_secret_key)
    try:
        matches = hmac.compare_digest(expected.encode(), received.encode("ascii"))
    except UnicodeEncodeError:
        matches = False
    if not matches:
        return 401, None, "wrong signature"
    return 200, event, "ok"
