"""Sending consultation messages through the Zalo OA API; never raising into Rasa.

A message with buttons that Zalo refuses for its content (any error that is
not about the token, the interaction window or the rate) is sent again as its
text alone: the citizen gets the answer without the buttons rather than
nothing.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
from rasa.core.channels.channel import OutputChannel

from bot.channels.common import Retryable, retry
from bot.channels.zalo.format import MORE_CHOICES_TEXT, compose_messages
from bot.channels.zalo.tokens import ZaloTokenManager
from dichvucong.inbound import platform_id

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://openapi.zalo.me"
SEND_PATH = "/v3.0/oa/message/cs"

# Access token rejected: invalid (-216), expired or revoked (-220); -124 is the
# code the OAuth-protected APIs use for an invalid token.
TOKEN_ERRORS = frozenset({-216, -220, -124})
# The citizen is outside the consultation window or cannot be messaged now:
# not a follower, blocked, banned or inactive, no recent interaction, expired
# interaction, night curfew, restricted this message type. Retrying cannot help.
WINDOW_ERRORS = frozenset({-213, -217, -227, -230, -232, -234, -244})
# Rate limited (-32) or transient on Zalo's side (-100, as Chatwoot treats it).
RETRYABLE_ERRORS = frozenset({-32, -100})

# How one send ended: accepted; refused for what the message holds (worth
# resending without its buttons); or failed for another reason (token,
# window, retries spent: resending the same recipient now would fail too).
SENT, REFUSED, FAILED = "sent", "refused", "failed"


def user_of(recipient_id: Any) -> str:
    """The Zalo user id of a recipient: "zalo:123" (a tracker's id) or "123"."""
    return platform_id("zalo", str(recipient_id))


class ZaloOutput(OutputChannel):
    """Consultation messages ("tin tư vấn") through the OA API.

    Nothing here raises into Rasa: a reply that cannot be delivered is logged
    and dropped, and the conversation goes on. Recipients are conversation ids
    ("zalo:123", what trigger_intent passes for a notification) or bare user ids.
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
        text_only = False
        for message in messages:
            if text_only:
                message = _without_buttons(message)
                if message is None:
                    continue
            outcome = await self.send_one(recipient_id, message)
            if outcome == REFUSED and "attachment" in message:
                logger.warning("zalo: buttons refused for %s; the text is sent alone", recipient_id)
                text_only = True  # the next groups of buttons would be refused the same way
                outcome = await self.send_one(recipient_id, {"text": message["text"]})
            if outcome != SENT:
                break  # the rest would fail the same way, or arrive without its beginning

    async def deliver(self, recipient_id: str, message: Dict[str, Any]) -> bool:
        """Send one Zalo message object; True when Zalo accepted it."""
        return await self.send_one(recipient_id, message) == SENT

    async def send_one(self, recipient_id: str, message: Dict[str, Any]) -> str:
        """Send one Zalo message object: SENT, REFUSED (its content) or FAILED."""
        try:
            return await self._deliver(user_of(recipient_id), message)
        except Exception:
            logger.exception("zalo: sending to %s failed", recipient_id)
            return FAILED

    async def _deliver(self, recipient_id: str, message: Dict[str, Any]) -> str:
        body = {"recipient": {"user_id": recipient_id}, "message": message}
        token = await self.tokens.access_token()
        refreshed = False

        async def attempt() -> str:
            nonlocal token, refreshed
            while True:
                status, answer = await self._post(token, body)
                code = _error_code(answer)
                if status == 200 and code == 0:
                    return SENT
                if code in TOKEN_ERRORS and not refreshed:
                    # The token, not Zalo, was the problem: not counted as a retry.
                    refreshed = True
                    new_token = await self.tokens.refresh(rejected=token)
                    if new_token is None:
                        logger.error("zalo: access token refused (%s) and not refreshed; "
                                     "message to %s dropped", code, recipient_id)
                        return FAILED
                    token = new_token
                    continue
                if code in WINDOW_ERRORS:
                    logger.warning("zalo: %s cannot receive a consultation message now (%s %s); "
                                   "not retried", recipient_id, code, _error_message(answer))
                    return FAILED
                if status is None or status == 429 or status >= 500 or code in RETRYABLE_ERRORS:
                    raise Retryable(f"HTTP {status}, error {code}")
                logger.error("zalo: message to %s refused (HTTP %s, error %s %s)",
                             recipient_id, status, code, _error_message(answer))
                return REFUSED

        try:
            return await retry(attempt, self.max_attempts, self.backoff)
        except Retryable as error:
            logger.error("zalo: message to %s not sent after %d attempts (%s)",
                         recipient_id, error.attempts, error.reason)
            return FAILED

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


def _without_buttons(message: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """``message`` as text only; None for a follow-up that was only there for its buttons."""
    if "attachment" not in message:
        return message
    if message.get("text") == MORE_CHOICES_TEXT:
        return None
    return {"text": message["text"]}


def _error_code(answer: Optional[Dict[str, Any]]) -> Optional[int]:
    if not answer or "error" not in answer:
        return None
    try:
        return int(answer["error"])
    except (TypeError, ValueError):
        return None


def _error_message(answer: Optional[Dict[str, Any]]) -> str:
    return str((answer or {}).get("message") or "")
