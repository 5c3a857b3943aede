"""Zalo Official Account channel (OA API v3.0, OAuth v4), set up in docs/zalo.md.

POST /webhooks/zalo/webhook   events from Zalo, signed with the OA Secret Key
GET  /webhooks/zalo/          health check

Zalo gives a webhook about two seconds to answer 200 before it retries and,
after repeated failures, disables it. NLU, the action server and the outbound
Zalo calls take longer than that, so the request is only authenticated and
acknowledged; the conversation turn runs in a background task and the replies
go out through the OA API (``ZaloOutput``).

Zalo ids are large integers sent as strings; they stay strings here, because a
round trip through a float or a JavaScript number would change them.
"""
from __future__ import annotations

import asyncio
import collections
import fcntl
import hashlib
import hmac
import json
import logging
import os
import tempfile
import time
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Set, Tuple

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.text import normalize

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://openapi.zalo.me"
DEFAULT_OAUTH_BASE_URL = "https://oauth.zaloapp.com"
DEFAULT_TOKEN_FILE = "var/zalo_token.json"
DEFAULT_MAX_SKEW_SECONDS = 300

SIGNATURE_HEADER = "X-ZEvent-Signature"
SEND_PATH = "/v3.0/oa/message/cs"
TOKEN_PATH = "/v4/oa/access_token"

# Zalo rejects a longer text with -210 instead of truncating it. The official
# page was not reachable while writing this; 2000 is what integrators report
# after hitting the error in production, and it is the usual figure quoted.
TEXT_LIMIT = 2000
# Limits of a consultation message with buttons, as integrators report them
# (the official page was not reachable): at most 5 buttons, titles of at most
# 100 characters, payloads of at most 1000.
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100
MAX_INCOMING_TEXT = 2000

# Access token rejected: invalid (-216), expired or revoked (-220); -124 is the
# code the OAuth-protected APIs use for an invalid token.
TOKEN_ERRORS = frozenset({-216, -220, -124})
# The citizen is outside the consultation window or cannot be messaged now:
# not a follower, blocked, banned or inactive, no recent interaction, expired
# interaction, night curfew, restricted this message type. Retrying cannot help.
WINDOW_ERRORS = frozenset({-213, -217, -227, -230, -232, -234, -244})
# Rate limited (-32) or transient on Zalo's side (-100, as Chatwoot treats it).
RETRYABLE_ERRORS = frozenset({-32, -100})

NON_TEXT_EVENTS = frozenset(
    {
        "user_send_image",
        "user_send_sticker",
        "user_send_gif",
        "user_send_audio",
        "user_send_video",
        "user_send_file",
        "user_send_location",
        "user_send_link",
        "user_send_business_card",
    }
)
RECEIPT_EVENTS = frozenset({"user_received_message", "user_seen_message"})

TEXT_ONLY_REPLY = (
    "Xin lỗi, hiện tôi chỉ đọc được tin nhắn dạng chữ. Bạn vui lòng gõ câu hỏi, ví dụ: "
    "\"lệ phí làm căn cước\" hoặc \"đăng ký khai sinh cần giấy tờ gì\"."
)
TOO_LONG_REPLY = (
    f"Tin nhắn của bạn quá dài (tối đa {MAX_INCOMING_TEXT} ký tự). "
    "Bạn vui lòng hỏi ngắn gọn hơn."
)
CHOOSE_TEXT = "Mời bạn chọn:"
MORE_CHOICES_TEXT = "Các lựa chọn khác:"


# ---------------------------------------------------------------- signature


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
    """Check a webhook request; returns (HTTP status, event, reason).

    The MAC covers the exact bytes received: parsing and re-serialising the
    JSON would change spacing and escapes and never match.
    """
    if not signature or not signature.strip().lower().startswith("mac="):
        return 401, None, "missing or malformed signature"
    received = signature.strip()[4:].strip().lower()
    try:
        event = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return 400, None, "body is not JSON"
    if not isinstance(event, dict):
        return 400, None, "body is not a JSON object"
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
    if not hmac.compare_digest(expected.encode(), received.encode()):
        return 401, None, "wrong signature"
    return 200, event, "ok"


# ---------------------------------------------------------------- messages


def _units(char: str) -> int:
    # Counted in UTF-16 code units, the larger of the usual ways of counting,
    # so an emoji outside the BMP cannot push a chunk over Zalo's limit.
    return 2 if ord(char) > 0xFFFF else 1


def _fitting_prefix(text: str, limit: int) -> int:
    used = 0
    for index, char in enumerate(text):
        used += _units(char)
        if used > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = TEXT_LIMIT) -> List[str]:
    """Chunks of at most ``limit`` units, cut between paragraphs, lines or words."""
    text = (text or "").strip()
    chunks: List[str] = []
    while text:
        end = _fitting_prefix(text, limit)
        if end == len(text):
            chunks.append(text)
            break
        window = text[: end + 1]  # a separator right after the limit is a clean cut too
        cut = -1
        for separator in ("\n\n", "\n", " "):
            position = window.rfind(separator)
            # A cut in the first third would leave a stub of a message.
            if position > end // 3:
                cut = position
                break
        if cut <= 0:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = end  # one "word" longer than the limit (a URL): cut it
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [chunk for chunk in chunks if chunk]


def button_title(title: Any) -> str:
    title = normalize(str(title or ""))
    if len(title) > MAX_BUTTON_TITLE:
        title = title[: MAX_BUTTON_TITLE - 1].rstrip() + "…"
    return title


def zalo_buttons(buttons: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Rasa buttons as Zalo "oa.query.show" buttons.

    A tap on such a button sends its payload back as an ordinary, visible
    user_send_text message. Rasa payloads (``/ask_fee{"procedure": ...}``)
    would then show up in the citizen's chat, so the payload is the button's
    title and the title is mapped back to the Rasa payload on the way in
    (``choice_from_events``).
    """
    result, titles = [], set()
    for button in buttons or []:
        if not isinstance(button, dict):
            continue
        title = button_title(button.get("title"))
        if not title or title.casefold() in titles:
            continue
        url = button.get("url")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            result.append({"title": title, "type": "oa.open.url", "payload": {"url": url}})
        elif button.get("payload"):
            result.append({"title": title, "type": "oa.query.show", "payload": title})
        else:
            continue
        titles.add(title.casefold())
    return result


def compose_messages(text: str, buttons: Iterable[Dict[str, Any]] = ()) -> List[Dict[str, Any]]:
    """The Zalo ``message`` objects that carry one Rasa message, in order."""
    chunks = split_text(text)
    choices = zalo_buttons(buttons)
    if not choices:
        return [{"text": chunk} for chunk in chunks]
    if not chunks:
        chunks = [CHOOSE_TEXT]
    groups = [choices[i:i + MAX_BUTTONS] for i in range(0, len(choices), MAX_BUTTONS)]
    messages: List[Dict[str, Any]] = [{"text": chunk} for chunk in chunks[:-1]]
    # The buttons go under the last chunk: they follow what the citizen reads last.
    for index, group in enumerate(groups):
        messages.append(
            {
                "text": chunks[-1] if index == 0 else MORE_CHOICES_TEXT,
                "attachment": {"type": "template", "payload": {"buttons": group}},
            }
        )
    return messages


def _same_choice(a: str, b: str) -> bool:
    return normalize(a).casefold() == normalize(b).casefold()


def choice_from_events(text: str, events: Iterable[Any]) -> Optional[str]:
    """The Rasa payload of the button titled ``text`` in the latest bot messages."""
    if not text or len(text) > MAX_BUTTON_TITLE:
        return None
    for event in reversed(list(events)):
        if not isinstance(event, BotUttered):
            continue
        for button in (event.data or {}).get("buttons") or []:
            payload = button.get("payload") if isinstance(button, dict) else None
            if payload and _same_choice(text, button_title(button.get("title"))):
                return str(payload)
    return None


# ---------------------------------------------------------------- de-duplication


class DedupCache:
    """Keys seen recently, bounded in time and size.

    Zalo retries a delivery it thinks failed; the retry carries the same
    msg_id. One process only: with several Rasa replicas behind a balancer,
    the same check belongs in a shared store (Redis SET NX EX).
    """

    def __init__(self, ttl_seconds: float, max_entries: int = 50_000):
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._expiry: collections.OrderedDict[str, float] = collections.OrderedDict()

    def seen(self, key: str, now: Optional[float] = None) -> bool:
        """True if ``key`` was seen within the TTL; otherwise remembers it."""
        now = time.monotonic() if now is None else now
        while self._expiry:
            oldest, expiry = next(iter(self._expiry.items()))
            if expiry > now and len(self._expiry) < self.max_entries:
                break
            del self._expiry[oldest]
        if key in self._expiry:
            return True
        self._expiry[key] = now + self.ttl
        return False


# ---------------------------------------------------------------- tokens


class _FileLock:
    """Exclusive flock on a side file, awaited without blocking the event loop."""

    def __init__(self, path: str, timeout: float):
        self.path = path
        self.timeout = timeout
        self._fd: Optional[int] = None

    async def __aenter__(self) -> _FileLock:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._fd = fd
                    return self
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"lock {self.path} held too long") from None
                    await asyncio.sleep(0.05)
        except BaseException:
            os.close(fd)
            raise

    async def __aexit__(self, *exc: Any) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _fingerprint(secret: Optional[str]) -> str:
    return hashlib.sha256((secret or "").encode("utf-8")).hexdigest()


class ZaloTokenManager:
    """The one holder of the OA access token, and the only code that refreshes it.

    A refresh token works once: the refresh returns a new pair and the old
    refresh token is dead. Two refreshes racing with the same refresh token
    leave one of them with a dead chain, so refreshes are serialised inside
    the process (asyncio.Lock) and across processes (flock on a side file),
    and each refresh first re-reads the token file: if another worker already
    refreshed, its token is used instead of refreshing again.

    The token file outlives restarts (the refresh token in credentials.yml is
    spent after the first refresh). It records a fingerprint of the refresh
    token from credentials it descends from, so new tokens put in
    credentials.yml after a re-authorisation take precedence over it.
    """

    def __init__(
        self,
        app_id: str,
        app_secret: Optional[str],
        access_token: str,
        refresh_token: Optional[str],
        oauth_base_url: str = DEFAULT_OAUTH_BASE_URL,
        token_file: str = DEFAULT_TOKEN_FILE,
        refresh_margin_seconds: float = 600,
        lock_timeout_seconds: float = 30,
        http_timeout_seconds: float = 15,
    ):
        self.app_id = app_id
        self.app_secret = app_secret or ""
        self.oauth_url = oauth_base_url.rstrip("/") + TOKEN_PATH
        self.token_file = token_file
        self.lock_file = token_file + ".lock"
        self.refresh_margin = refresh_margin_seconds
        self.lock_timeout = lock_timeout_seconds
        self.http_timeout = http_timeout_seconds
        self.refresh_count = 0
        self._origin = _fingerprint(refresh_token)
        self._access = access_token
        self._refresh: Optional[str] = refresh_token
        self._expires_at: Optional[float] = None  # unknown for tokens from credentials
        self._lock = asyncio.Lock()
        stored = self._read_file()
        if stored:
            self._adopt(stored)

    @property
    def can_refresh(self) -> bool:
        return bool(self._refresh and self.app_secret)

    def _read_file(self) -> Optional[Dict[str, Any]]:
        try:
            with open(self.token_file, encoding="utf-8") as handle:
                stored = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            logger.warning("zalo: token file %s unreadable (%s); ignoring it", self.token_file, error)
            return None
        if not isinstance(stored, dict) or not stored.get("access_token"):
            return None
        if stored.get("origin") != self._origin:
            logger.info("zalo: credentials hold new tokens; the token file is superseded")
            return None
        return stored

    def _adopt(self, stored: Dict[str, Any]) -> None:
        self._access = stored["access_token"]
        self._refresh = stored.get("refresh_token") or self._refresh
        expires_at = stored.get("expires_at")
        self._expires_at = float(expires_at) if isinstance(expires_at, (int, float)) else None

    def _expiring(self, expires_at: Optional[float]) -> bool:
        return expires_at is not None and time.time() >= expires_at - self.refresh_margin

    def _write_file(self, state: Dict[str, Any]) -> None:
        directory = os.path.dirname(os.path.abspath(self.token_file))
        os.makedirs(directory, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".zalo_token.", dir=directory)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
            # A reader sees the old file or the new one, never half of one.
            os.replace(temporary, self.token_file)
        except BaseException:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            raise

    async def access_token(self) -> str:
        """The current access token, refreshed first when it is about to expire."""
        if self.can_refresh and self._expiring(self._expires_at):
            await self.refresh(rejected=None)
        return self._access

    async def refresh(self, rejected: Optional[str]) -> Optional[str]:
        """A working access token after ``rejected`` was refused, or None.

        ``rejected=None`` is a proactive refresh of a token that still works.
        """
        async with self._lock:
            if rejected is not None and self._access != rejected:
                return self._access  # refreshed by another coroutine meanwhile
            if rejected is None and not self._expiring(self._expires_at):
                return self._access  # likewise, for a proactive refresh
            if not self.can_refresh:
                logger.error("zalo: the access token needs a refresh but refresh_token or "
                             "app_secret is not configured")
                return None
            try:
                async with _FileLock(self.lock_file, self.lock_timeout):
                    return await self._refresh_locked(rejected)
            except TimeoutError:
                logger.error("zalo: another process holds the token lock; refresh skipped")
                return None

    async def _refresh_locked(self, rejected: Optional[str]) -> Optional[str]:
        stored = self._read_file()
        if stored:
            expires_at = stored.get("expires_at")
            fresh = not self._expiring(expires_at if isinstance(expires_at, (int, float)) else None)
            if fresh and (rejected is None or stored["access_token"] != rejected):
                self._adopt(stored)  # another worker refreshed: its refresh token is the live one
                return self._access
            # The file holds the newest refresh token, even when ours looks the same.
            self._refresh = stored.get("refresh_token") or self._refresh
        issued = await self._request(self._refresh or "")
        if issued is None:
            return None
        state = {
            "access_token": issued["access_token"],
            "refresh_token": issued.get("refresh_token") or self._refresh,
            "expires_at": time.time() + issued["expires_in"],
            "refreshed_at": time.time(),
            "origin": self._origin,
        }
        self.refresh_count += 1
        self._adopt(state)
        try:
            self._write_file(state)
        except OSError:
            logger.exception("zalo: NEW TOKENS NOT SAVED to %s; they live only in this process "
                             "until it stops", self.token_file)
        logger.info("zalo: access token refreshed (valid %d s)", issued["expires_in"])
        return self._access

    async def _request(self, refresh_token: str) -> Optional[Dict[str, Any]]:
        # One attempt only: if the request reached Zalo, the refresh token is
        # spent whatever happened to the answer, and a retry would be refused.
        form = {"app_id": self.app_id, "grant_type": "refresh_token", "refresh_token": refresh_token}
        try:
            timeout = aiohttp.ClientTimeout(total=self.http_timeout)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(
                    self.oauth_url, data=form, headers={"secret_key": self.app_secret}
                ) as answer:
                    status = answer.status
                    body = await answer.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            logger.error("zalo: token refresh failed: %s", error.__class__.__name__)
            return None
        if not isinstance(body, dict) or not body.get("access_token"):
            # Zalo reports OAuth errors with error/error_name/error_description,
            # sometimes with HTTP 200, so the body decides, not the status.
            details = body if isinstance(body, dict) else {}
            logger.error(
                "zalo: token refresh refused (HTTP %s, error %s %s: %s)",
                status, details.get("error"), details.get("error_name"),
                details.get("error_description") or details.get("message"),
            )
            return None
        try:
            expires_in = int(str(body.get("expires_in") or 3600))
        except ValueError:
            expires_in = 3600
        return {
            "access_token": str(body["access_token"]),
            "refresh_token": str(body["refresh_token"]) if body.get("refresh_token") else None,
            "expires_in": expires_in,
        }


# ---------------------------------------------------------------- output


class ZaloOutput(OutputChannel):
    """Consultation messages ("tin tư vấn") through the OA API.

    Nothing here raises into Rasa: a reply that cannot be delivered is logged
    and dropped, and the conversation goes on.
    """

    @classmethod
    def name(cls) -> str:
        return "zalo"

    def __init__(
        self,
        tokens: ZaloTokenManager,
        api_base_url: str = DEFAULT_API_BASE_URL,
        max_attempts: int = 3,
        backoff_seconds: float = 1.0,
        http_timeout_seconds: float = 15,
    ):
        self.tokens = tokens
        self.send_url = api_base_url.rstrip("/") + SEND_PATH
        self.max_attempts = max_attempts
        self.backoff = backoff_seconds
        self.http_timeout = http_timeout_seconds

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(recipient_id, text, [])

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send(recipient_id, text, buttons)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        # Images must be uploaded to Zalo first; a link keeps this channel text-only.
        await self.send_text_message(recipient_id, f"Xem hình ảnh: {image}")

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, f"Tệp đính kèm: {attachment}")

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        # Raw JSON means nothing to a citizen; only a text inside it is sent.
        text = json_message.get("text") if isinstance(json_message, dict) else None
        if isinstance(text, str) and text.strip():
            await self.send_text_message(recipient_id, text)
        else:
            logger.info("zalo: custom payload not sent (no text in it)")

    async def _send(self, recipient_id: str, text: str, buttons: List[Dict[str, Any]]) -> None:
        try:
            messages = compose_messages(text, buttons)
        except Exception:
            logger.exception("zalo: message to %s could not be composed", recipient_id)
            return
        for message in messages:
            if not await self.deliver(recipient_id, message):
                break  # the rest would fail the same way, or arrive without its beginning

    async def deliver(self, recipient_id: str, message: Dict[str, Any]) -> bool:
        """Send one Zalo message object; True when Zalo accepted it."""
        try:
            return await self._deliver(str(recipient_id), message)
        except Exception:
            logger.exception("zalo: sending to %s failed", recipient_id)
            return False

    async def _deliver(self, recipient_id: str, message: Dict[str, Any]) -> bool:
        body = {"recipient": {"user_id": recipient_id}, "message": message}
        token = await self.tokens.access_token()
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            status, answer = await self._post(token, body)
            code = _error_code(answer)
            if status == 200 and code == 0:
                return True
            if code in TOKEN_ERRORS and not refreshed:
                refreshed = True
                new_token = await self.tokens.refresh(rejected=token)
                if new_token is None:
                    logger.error("zalo: access token refused (%s) and not refreshed; "
                                 "message to %s dropped", code, recipient_id)
                    return False
                token = new_token
                attempt -= 1  # the token, not Zalo, was the problem: not a retry
                continue
            if code in WINDOW_ERRORS:
                logger.warning("zalo: %s cannot receive a consultation message now (%s %s); "
                               "not retried", recipient_id, code, _error_message(answer))
                return False
            transient = (
                status is None or status == 429 or status >= 500 or code in RETRYABLE_ERRORS
            )
            if not transient:
                logger.error("zalo: message to %s refused (HTTP %s, error %s %s)",
                             recipient_id, status, code, _error_message(answer))
                return False
            if attempt >= self.max_attempts:
                logger.error("zalo: message to %s not sent after %d attempts (HTTP %s, error %s)",
                             recipient_id, attempt, status, code)
                return False
            await asyncio.sleep(self.backoff * 2 ** (attempt - 1))

    async def _post(
        self, token: str, body: Dict[str, Any]
    ) -> Tuple[Optional[int], Optional[Dict[str, Any]]]:
        # A session per request: a few messages a minute do not need a pool,
        # and a session bound to no loop cannot outlive the one it was made in.
        timeout = aiohttp.ClientTimeout(total=self.http_timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(
                    self.send_url,
                    json=body,
                    headers={"access_token": token, "Content-Type": "application/json"},
                ) as answer:
                    status = answer.status
                    try:
                        data = await answer.json(content_type=None)
                    except ValueError:
                        data = None
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.warning("zalo: OA API unreachable (%s)", error.__class__.__name__)
            return None, None
        return status, data if isinstance(data, dict) else None


def _error_code(answer: Optional[Dict[str, Any]]) -> Optional[int]:
    if not answer or "error" not in answer:
        return None
    try:
        return int(answer["error"])
    except (TypeError, ValueError):
        return None


def _error_message(answer: Optional[Dict[str, Any]]) -> str:
    return str((answer or {}).get("message") or "")


# ---------------------------------------------------------------- input


def _id(value: Any) -> Optional[str]:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    value = str(value).strip()
    return value or None


class ZaloInput(InputChannel):
    """Webhook for one Official Account."""

    @classmethod
    def name(cls) -> str:
        return "zalo"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> ZaloInput:
        if not credentials:
            cls.raise_missing_credentials_exception()
        missing = [k for k in ("app_id", "oa_secret_key", "access_token") if not credentials.get(k)]
        if missing:
            raise ValueError(f"zalo channel: missing {', '.join(missing)} in credentials")
        return cls(
            app_id=str(credentials["app_id"]),
            oa_secret_key=str(credentials["oa_secret_key"]),
            access_token=str(credentials["access_token"]),
            refresh_token=_optional_str(credentials.get("refresh_token")),
            app_secret=_optional_str(credentials.get("app_secret")),
            api_base_url=str(credentials.get("api_base_url") or DEFAULT_API_BASE_URL),
            oauth_base_url=str(credentials.get("oauth_base_url") or DEFAULT_OAUTH_BASE_URL),
            token_file=str(credentials.get("token_file") or DEFAULT_TOKEN_FILE),
            max_skew_seconds=float(credentials.get("max_skew_seconds") or DEFAULT_MAX_SKEW_SECONDS),
        )

    def __init__(
        self,
        app_id: str,
        oa_secret_key: str,
        access_token: str,
        refresh_token: Optional[str] = None,
        app_secret: Optional[str] = None,
        api_base_url: str = DEFAULT_API_BASE_URL,
        oauth_base_url: str = DEFAULT_OAUTH_BASE_URL,
        token_file: str = DEFAULT_TOKEN_FILE,
        max_skew_seconds: float = DEFAULT_MAX_SKEW_SECONDS,
    ):
        self.app_id = app_id
        self.oa_secret_key = oa_secret_key
        self.max_skew_seconds = max_skew_seconds
        self.tokens = ZaloTokenManager(
            app_id, app_secret, access_token, refresh_token, oauth_base_url, token_file
        )
        if not self.tokens.can_refresh:
            logger.warning("zalo: no refresh_token/app_secret: replies stop when the access "
                           "token expires")
        self.output = ZaloOutput(self.tokens, api_base_url)
        # A retry must still be recognised as one after the replay window.
        self.seen = DedupCache(ttl_seconds=max(24 * 3600, 2 * max_skew_seconds))
        self._background_tasks: Set[asyncio.Task] = set()

    def get_output_channel(self) -> OutputChannel:
        return self.output

    def authenticate(
        self, raw_body: bytes, signature: Optional[str], now_ms: Optional[float] = None
    ) -> Tuple[int, Optional[Dict[str, Any]], str]:
        return authenticate(
            raw_body, signature, self.app_id, self.oa_secret_key, self.max_skew_seconds, now_ms
        )

    def is_duplicate(self, event: Dict[str, Any]) -> bool:
        key = _delivery_key(event)
        return key is not None and self.seen.seen(key)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        zalo = Blueprint("zalo_webhook", __name__)

        @zalo.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @zalo.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            status, event, reason = self.authenticate(
                request.body or b"", request.headers.get(SIGNATURE_HEADER)
            )
            if event is None:
                logger.warning("zalo: webhook rejected (%s): %s", status, reason)
                return response.json({"error": reason}, status=status)
            if self.is_duplicate(event):
                logger.info("zalo: duplicate delivery ignored")
                return response.json({"status": "duplicate"})
            agent = getattr(request.app.ctx, "agent", None)
            # Keep a reference: the loop holds tasks weakly and could drop one mid-turn.
            task = asyncio.create_task(self.process(event, on_new_message, agent))
            self._background_tasks.add(task)
            task.add_done_callback(self._background_tasks.discard)
            return response.json({"status": "accepted"})

        @zalo.listener("before_server_stop")
        async def finish_turns(app: Any, loop: Any) -> None:
            if self._background_tasks:
                await asyncio.wait(set(self._background_tasks), timeout=10)

        return zalo

    async def process(
        self,
        event: Dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        agent: Any = None,
    ) -> None:
        """Act on one authenticated event; never raises."""
        try:
            await self._process(event, on_new_message, agent)
        except Exception:
            logger.exception("zalo: failed to handle %s", event.get("event_name"))

    async def _process(
        self,
        event: Dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        agent: Any,
    ) -> None:
        name = str(event.get("event_name") or "")
        if name == "user_send_text":
            sender = _id((event.get("sender") or {}).get("id"))
            message = event.get("message") or {}
            text = message.get("text") if isinstance(message, dict) else None
            if not sender or not isinstance(text, str) or not normalize(text):
                logger.info("zalo: user_send_text without sender or text ignored")
                return
            if len(text) > MAX_INCOMING_TEXT:
                await self.output.send_text_message(sender, TOO_LONG_REPLY)
                return
            text = normalize(text)
            choice = await self._button_choice(text, sender, agent)
            await on_new_message(self._user_message(choice or text, sender, message))
        elif name == "follow":
            follower = _id((event.get("follower") or {}).get("id"))
            if follower:
                await on_new_message(self._user_message("/greet", follower, {}))
        elif name == "unfollow":
            logger.info("zalo: a user unfollowed the OA")
        elif name in NON_TEXT_EVENTS:
            sender = _id((event.get("sender") or {}).get("id"))
            if sender:
                await self.output.send_text_message(sender, TEXT_ONLY_REPLY)
        elif name.startswith("oa_") or name in RECEIPT_EVENTS:
            logger.debug("zalo: %s ignored", name)
        else:
            logger.info("zalo: unsupported event %r ignored", name)

    def _user_message(self, text: str, sender: str, message: Dict[str, Any]) -> UserMessage:
        msg_id = _id(message.get("msg_id")) if isinstance(message, dict) else None
        return UserMessage(
            text,
            self.output,
            sender,
            input_channel=self.name(),
            message_id=msg_id,
            metadata={"channel": self.name()},
        )

    async def _button_choice(self, text: str, sender: str, agent: Any) -> Optional[str]:
        # The tracker store is the memory of which buttons were offered: it is
        # shared by every replica and survives restarts, unlike this process.
        if agent is None or len(text) > MAX_BUTTON_TITLE or text.startswith("/"):
            return None
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return None
        try:
            tracker = await store.retrieve(sender)
        except Exception:
            logger.exception("zalo: tracker unavailable; the text goes to NLU as typed")
            return None
        return choice_from_events(text, tracker.events) if tracker else None


def _optional_str(value: Any) -> Optional[str]:
    return str(value) if value not in (None, "") else None


def _delivery_key(event: Dict[str, Any]) -> Optional[str]:
    name = str(event.get("event_name") or "")
    if not (name.startswith("user_send_") or name in ("follow", "unfollow")):
        return None  # echoes and receipts are ignored anyway; no need to remember them
    message = event.get("message")
    msg_id = _id(message.get("msg_id")) if isinstance(message, dict) else None
    if msg_id:
        return f"msg:{msg_id}"
    if name in ("follow", "unfollow"):
        follower = _id((event.get("follower") or {}).get("id"))
        if follower:
            return f"{name}:{follower}:{event.get('timestamp')}"
    return None
