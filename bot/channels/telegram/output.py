"""Sending to Telegram: one long-lived Bot, flood control and errors handled, never raising."""
from __future__ import annotations

import datetime as dt
import logging
import warnings
from typing import Any, Dict, List, Optional, Set

from rasa.core.channels.channel import OutputChannel
from telegram import Bot, LinkPreviewOptions, ReplyKeyboardRemove
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.channels.common import Retryable, retry
from bot.channels.telegram.constants import (
    BACKOFF_START,
    BUTTON_PROMPT,
    CONTACT_PROMPT,
    DEFAULT_BASE_URL,
    MAX_ATTEMPTS,
    MAX_RETRY_WAIT,
    SEEN_UPDATES,
)
from bot.channels.telegram.format import (
    CallbackTable,
    contact_keyboard,
    escape,
    inline_keyboard,
    split_message,
)
from dichvucong.inbound import platform_id

logger = logging.getLogger(__name__)

# httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
logging.getLogger("httpx").setLevel(logging.WARNING)


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def chat_of(recipient_id: Any) -> str:
    """The Telegram chat id of a recipient: "telegram:42" (a tracker's id) or "42"."""
    return platform_id("telegram", str(recipient_id))


class TelegramOutput(OutputChannel):
    """Sends the bot's messages with one long-lived Bot; never raises into Rasa.

    Recipients are conversation ids ("telegram:42", what trigger_intent passes
    for a notification) or bare chat ids; both reach chat 42.
    """

    @classmethod
    def name(cls) -> str:
        return "telegram"

    def __init__(
        self,
        access_token: str,
        base_url: str = DEFAULT_BASE_URL,
        base_file_url: Optional[str] = None,
        callbacks: Optional[CallbackTable] = None,
        retry_wait_cap: float = MAX_RETRY_WAIT,
        backoff: float = BACKOFF_START,
    ):
        extra = {"base_file_url": base_file_url} if base_file_url else {}
        # Several conversations reply at once; the default 1 s pool wait is too
        # short under load and would turn into TimedOut.
        self._request = HTTPXRequest(connection_pool_size=32, pool_timeout=10.0)
        # Not initialize()d: that calls getMe, and the server must start offline.
        self.bot = Bot(access_token, base_url=base_url or DEFAULT_BASE_URL,
                       request=self._request, **extra)
        self.callbacks = callbacks or CallbackTable()
        self.retry_wait_cap = retry_wait_cap
        self.backoff = backoff
        # Chats shown the "share my number" keyboard, to take it away afterwards.
        self._contact_keyboards: Set[str] = set()

    async def close(self) -> None:
        try:
            await self._request.shutdown()
        except Exception:
            logger.debug("telegram: shutdown failed", exc_info=True)

    async def call(self, method: str, **params: Any) -> Any:
        """One Bot API call with Telegram's flood control and network errors handled.

        Returns the result, or None when the call was given up (logged).
        """

        async def attempt() -> Any:
            try:
                return await getattr(self.bot, method)(**params)
            except RetryAfter as error:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    wait = _seconds(error.retry_after)
                raise Retryable("rate limited", after=wait) from error
            except BadRequest:  # a NetworkError subclass, but retrying cannot help
                raise
            except NetworkError as error:  # includes TimedOut
                raise Retryable(str(error)) from error

        try:
            return await retry(attempt, MAX_ATTEMPTS, self.backoff, cap=self.retry_wait_cap)
        except Exception as error:
            _log_given_up(method, error)
        return None

    async def _send(self, chat_id: str, text: str, reply_markup: Any = None) -> bool:
        """Send ``text`` in as many messages as needed; the markup goes on the last."""
        pieces = split_message(escape(text)) or [escape(BUTTON_PROMPT)]
        if reply_markup is None and chat_id in self._contact_keyboards:
            self._contact_keyboards.discard(chat_id)
            reply_markup = ReplyKeyboardRemove()
        for index, piece in enumerate(pieces):
            sent = await self.call(
                "send_message",
                chat_id=chat_id,
                text=piece,
                parse_mode="HTML",
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_markup=reply_markup if index == len(pieces) - 1 else None,
            )
            if sent is None:
                return False
        return True

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        try:
            await super().send_response(recipient_id, message)
        except Exception:
            logger.exception("telegram: could not send a message")

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(chat_of(recipient_id), text)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        keyboard = inline_keyboard(buttons or [], self.callbacks) if buttons else None
        await self._send(chat_of(recipient_id), text, keyboard)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(chat_of(recipient_id), image)

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self._send(chat_of(recipient_id), str(attachment))

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        chat_id = chat_of(recipient_id)
        if isinstance(json_message, dict) and json_message.get("request_contact"):
            text = json_message.get("text") or CONTACT_PROMPT
            if await self._send(chat_id, text, contact_keyboard()):
                if len(self._contact_keyboards) >= SEEN_UPDATES:
                    self._contact_keyboards.clear()  # at worst a keyboard stays until used
                self._contact_keyboards.add(chat_id)
            return
        text = json_message.get("text") if isinstance(json_message, dict) else None
        if text:
            await self._send(chat_id, text)
        else:
            # Raw JSON would mean nothing to a citizen.
            logger.warning("telegram: custom message without text not sent")


def _log_given_up(method: str, error: Exception) -> None:
    """Say why a Bot API call was given up; the first matching kind wins."""
    if isinstance(error, Retryable):
        logger.warning("telegram: %s given up after %d attempts: %s",
                       method, error.attempts, error.reason)
    elif isinstance(error, Forbidden):
        logger.info("telegram: %s refused (%s); the user blocked the bot", method, error)
    elif isinstance(error, ChatMigrated):
        logger.warning("telegram: chat moved to %s; message dropped", error.new_chat_id)
    elif isinstance(error, BadRequest):
        logger.warning("telegram: %s rejected: %s", method, error)
    elif isinstance(error, InvalidToken):
        logger.error("telegram: the bot token was rejected; check TELEGRAM_BOT_TOKEN")
    elif isinstance(error, TelegramError):
        logger.warning("telegram: %s failed: %s", method, error)
    else:
        logger.error("telegram: unexpected error in %s", method, exc_info=error)
