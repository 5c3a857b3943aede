"""Telegram channel on python-telegram-bot, used only as a typed Bot API client.

POST /webhooks/telegram/webhook   an Update from Telegram (webhook mode) or from
                                  ``bot.telegram_polling`` (polling mode)
GET  /webhooks/telegram/          health check

credentials.yml::

    bot.channels.telegram.TelegramInput:
      access_token: ${TELEGRAM_BOT_TOKEN}
      secret_token: ${TELEGRAM_SECRET_TOKEN}
      base_url: ${TELEGRAM_API_BASE_URL}     # optional, https://api.telegram.org/bot
      base_file_url: ${TELEGRAM_FILE_BASE_URL}  # optional

Rasa's built-in channel (aiogram) is not used: it registers the webhook as a
side effect of server start, calls getMe on every update instead of checking
Telegram's secret header, and answers only after the whole turn, so a slow turn
makes Telegram resend the update. Here the webhook is answered at once and the
turn runs in a background task.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import html
import logging
import re
import unicodedata
import warnings
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
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

from bot.text import normalize

logger = logging.getLogger(__name__)

# httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
logging.getLogger("httpx").setLevel(logging.WARNING)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's own rule for secret_token in setWebhook.
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_BYTES = 64
MAX_BUTTON_TITLE = 64
MAX_INCOMING_LENGTH = 2000
SEEN_UPDATES = 2048
CALLBACK_TABLE_SIZE = 4096

MAX_ATTEMPTS = 4
MAX_RETRY_WAIT = 30.0
BACKOFF_START = 1.0

START_PAYLOAD = "/greet"
HELP_PAYLOAD = "/list_services"
CONTACT_TEXT = "số điện thoại của tôi"
# A shared contact is a platform event, not words to classify: the model reads
# "số điện thoại của tôi" as request_human, which would abandon the lookup. The
# only use of a phone number here is the dossier lookup, so the intent is fixed:
# inside the lookup it answers the second factor, outside it starts the lookup.
CONTACT_INTENT = "check_dossier_status"
CONTACT_BUTTON = "📱 Chia sẻ số điện thoại của tôi"
CONTACT_PROMPT = (
    "Bạn có thể bấm nút bên dưới để chia sẻ số điện thoại của mình, "
    "hoặc nhập 4 chữ số cuối của số căn cước hay số điện thoại đã đăng ký."
)
TEXT_ONLY = (
    "Xin lỗi, hiện tôi chỉ đọc được tin nhắn chữ, chưa xem được hình ảnh, nhãn dán, "
    "tin nhắn thoại, tệp hay vị trí. Bạn vui lòng gõ câu hỏi, ví dụ: \"lệ phí làm căn cước\"."
)
NOT_OWN_CONTACT = (
    "Xin lỗi, để bảo vệ thông tin hồ sơ, tôi chỉ dùng số điện thoại của chính bạn. "
    "Bạn vui lòng bấm nút \"📱 Chia sẻ số điện thoại của tôi\", hoặc nhập 4 chữ số cuối "
    "của số căn cước hay số điện thoại người nộp hồ sơ."
)
TOO_LONG = (
    f"Tin nhắn quá dài (tối đa {MAX_INCOMING_LENGTH} ký tự). Bạn vui lòng hỏi ngắn gọn hơn."
)
EXPIRED_BUTTON = (
    "Nút bấm này đã hết hạn. Bạn vui lòng gõ lại câu hỏi hoặc gõ /help để xem các thủ tục."
)
FAILURE = "Xin lỗi, hệ thống đang gặp sự cố. Bạn vui lòng thử lại sau ít phút."
BUTTON_PROMPT = "Bạn vui lòng chọn một mục bên dưới:"

# Message kinds we cannot read; anything else without text (service messages
# such as a member joining) is ignored silently.
UNSUPPORTED_KINDS = (
    "sticker", "photo", "voice", "video", "video_note", "audio", "document",
    "animation", "location", "venue", "poll", "dice", "game", "story",
)


# --- text ------------------------------------------------------------------


def _units(text: str) -> int:
    # Telegram measures text in UTF-16 code units: an emoji counts twice.
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


_ENTITY_TAIL = re.compile(r"&[#A-Za-z0-9]*$")


def _hard_cut(text: str, end: int) -> int:
    """A cut at or before ``end`` that splits neither an HTML entity nor a letter."""
    start = max(0, end - 8)
    tail = _ENTITY_TAIL.search(text[start:end])
    if tail and start + tail.start() > 0:
        end = start + tail.start()
    while 0 < end < len(text) and unicodedata.combining(text[end]):
        end -= 1
    return end or 1


def split_message(text: str, limit: int = MAX_MESSAGE_LENGTH) -> List[str]:
    """Split already escaped ``text`` into pieces of at most ``limit`` UTF-16 units.

    Cuts prefer a paragraph break, then a line break, then a space; only a single
    word longer than ``limit`` is cut inside, and never inside an HTML entity.
    """
    pieces: List[str] = []
    rest = text.strip()
    while rest:
        if _units(rest) <= limit:
            pieces.append(rest)
            break
        window = _fit(rest, limit)
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = rest.rfind(separator, 0, window + 1)
            if cut > 0:
                break
        if cut <= 0:
            cut = _hard_cut(rest, window)
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip()
    return pieces


def escape(text: str) -> str:
    """Safe for parse_mode HTML: our texts are plain, "<" and "&" must stay literal."""
    return html.escape(text or "", quote=False)


def button_title(title: str) -> str:
    title = normalize(str(title or "")) or "…"
    return title if len(title) <= MAX_BUTTON_TITLE else title[: MAX_BUTTON_TITLE - 1] + "…"


class CallbackTable:
    """Button payloads longer than Telegram's 64-byte callback_data, by short key.

    Keys are derived from the payload, so the same button always gets the same
    key. The table is in memory and bounded: after a restart or eviction an old
    button resolves to None and the citizen is asked to type again.
    """

    PREFIX = "~"

    def __init__(self, size: int = CALLBACK_TABLE_SIZE):
        self.size = size
        self._payloads: OrderedDict[str, str] = OrderedDict()

    def encode(self, payload: str) -> str:
        if len(payload.encode("utf-8")) <= MAX_CALLBACK_BYTES and not payload.startswith(
            self.PREFIX
        ):
            return payload
        key = self.PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self.size:
            self._payloads.popitem(last=False)
        return key

    def decode(self, data: str) -> Optional[str]:
        if not data.startswith(self.PREFIX):
            return data
        payload = self._payloads.get(data)
        if payload is not None:
            self._payloads.move_to_end(data)
        return payload


def inline_keyboard(buttons: List[Dict[str, Any]], table: CallbackTable) -> InlineKeyboardMarkup:
    rows = []
    for button in buttons:
        title = button_title(button.get("title", ""))
        url = button.get("url")
        payload = str(button.get("payload") or button.get("title") or "")
        if not url and re.match(r"^https?://", payload):
            url = payload
        if url:
            rows.append([InlineKeyboardButton(title, url=url)])
        else:
            rows.append([InlineKeyboardButton(title, callback_data=table.encode(payload))])
    return InlineKeyboardMarkup(rows)


def contact_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(CONTACT_BUTTON, request_contact=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


# --- output ----------------------------------------------------------------


class TelegramOutput(OutputChannel):
    """Sends the bot's messages with one long-lived Bot; never raises into Rasa."""

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
        delay = self.backoff
        for attempt in range(1, MAX_ATTEMPTS + 1):
            last = attempt == MAX_ATTEMPTS
            try:
                return await getattr(self.bot, method)(**params)
            except RetryAfter as error:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    wait = _seconds(error.retry_after)
                if last:
                    logger.warning("telegram: %s still rate limited, message dropped", method)
                    return None
                await asyncio.sleep(min(max(wait, 0.0), self.retry_wait_cap))
            except Forbidden as error:
                logger.info("telegram: %s refused (%s); the user blocked the bot", method, error)
                return None
            except ChatMigrated as error:
                logger.warning("telegram: chat moved to %s; message dropped", error.new_chat_id)
                return None
            except BadRequest as error:
                logger.warning("telegram: %s rejected: %s", method, error)
                return None
            except InvalidToken:
                logger.error("telegram: the bot token was rejected; check TELEGRAM_BOT_TOKEN")
                return None
            except NetworkError as error:  # includes TimedOut
                if last:
                    logger.warning("telegram: %s failed after %d attempts: %s", method, attempt, error)
                    return None
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_wait_cap)
            except TelegramError as error:
                logger.warning("telegram: %s failed: %s", method, error)
                return None
            except Exception:
                logger.exception("telegram: unexpected error in %s", method)
                return None
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
        await self._send(str(recipient_id), text)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        keyboard = inline_keyboard(buttons or [], self.callbacks) if buttons else None
        await self._send(str(recipient_id), text, keyboard)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(str(recipient_id), image)

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self._send(str(recipient_id), str(attachment))

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        chat_id = str(recipient_id)
        if isinstance(json_message, dict) and json_message.get("request_contact"):
            if await self._send(chat_id, json_message.get("text") or CONTACT_PROMPT, contact_keyboard()):
                if len(self._contact_keyboards) >= SEEN_UPDATES:
                    self._contact_keyboards.clear()  # at worst a keyboard stays until used
                self._contact_keyboards.add(chat_id)
            return
        text = json_message.get("text") if isinstance(json_message, dict) else None
        if text:
            await self._send(chat_id, text)
        else:
            # Raw JSON would mean nothing to a citizen.
            logger.warning("telegram: custom message without text not sent: %s", json_message)


# --- input -----------------------------------------------------------------


class RecentIds:
    """The last ``size`` update ids: Telegram resends an update it thinks was lost."""

    def __init__(self, size: int = SEEN_UPDATES):
        self.size = size
        self._ids: OrderedDict[int, None] = OrderedDict()

    def add(self, update_id: int) -> bool:
        """False if ``update_id`` was already seen."""
        if update_id in self._ids:
            return False
        self._ids[update_id] = None
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True


def _command(text: str) -> Optional[str]:
    """"/start", "/start@SomeBot payload" -> "/start"; None if not a command."""
    if not text.startswith("/"):
        return None
    return text.split(maxsplit=1)[0].split("@", 1)[0].lower()


class TelegramInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        token = str(credentials.get("access_token") or "").strip()
        secret = str(credentials.get("secret_token") or "").strip()
        if not token or not secret:
            # Without a secret anyone who finds the URL could speak for any chat.
            cls.raise_missing_credentials_exception()
        if not SECRET_PATTERN.match(secret):
            raise ValueError(
                "telegram: secret_token may only contain A-Z, a-z, 0-9, _ and - (1-256 chars)"
            )
        return cls(
            access_token=token,
            secret_token=secret,
            base_url=str(credentials.get("base_url") or DEFAULT_BASE_URL),
            base_file_url=credentials.get("base_file_url") or None,
        )

    def __init__(
        self,
        access_token: str,
        secret_token: str,
        base_url: str = DEFAULT_BASE_URL,
        base_file_url: Optional[str] = None,
    ):
        self.access_token = access_token
        self.secret_token = secret_token
        self.base_url = base_url
        self.base_file_url = base_file_url
        self._output: Optional[TelegramOutput] = None
        self._seen = RecentIds()
        # Running turns; asyncio keeps only weak references to tasks.
        self._tasks: Set[asyncio.Task] = set()

    @property
    def output(self) -> TelegramOutput:
        if self._output is None:
            self._output = TelegramOutput(self.access_token, self.base_url, self.base_file_url)
        return self._output

    def get_output_channel(self) -> OutputChannel:
        return self.output

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER) or ""
        return hmac.compare_digest(given.encode("utf-8"), self.secret_token.encode("utf-8"))

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        telegram = Blueprint("telegram_ptb", __name__)

        @telegram.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorized(request):
                return response.json({"ok": False, "description": "Unauthorized"}, status=401)
            try:
                body = request.json
                update = Update.de_json(body, self.output.bot) if isinstance(body, dict) else None
            except Exception:
                update = None
            if update is None:
                return response.json({"ok": False, "description": "Bad Request"}, status=400)
            if not self._seen.add(update.update_id):
                return response.text("ok")
            task = asyncio.create_task(self._handle(update, on_new_message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return response.text("ok")

        @telegram.listener("after_server_stop")
        async def close(app: Any, loop: Any) -> None:
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=10)
            if self._output is not None:
                await self._output.close()

        return telegram

    async def _handle(
        self, update: Update, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        try:
            if update.callback_query is not None:
                await self._callback(update, on_new_message)
            elif update.message is not None:
                await self._message(update.message, on_new_message)
            # Edited messages, channel posts and the rest: the answer was already given.
        except Exception:
            logger.exception("telegram: failed to handle update %s", update.update_id)

    async def _say(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        chat_id: str,
        text: str,
        metadata: Optional[Dict[str, Any]] = None,
        intent: Optional[str] = None,
    ) -> None:
        parse_data = None
        if intent:
            parse_data = {
                "text": text,
                "intent": {"name": intent, "confidence": 1.0},
                "intent_ranking": [{"name": intent, "confidence": 1.0}],
                "entities": [],
            }
        try:
            await on_new_message(
                UserMessage(
                    text,
                    self.output,
                    chat_id,
                    parse_data=parse_data,
                    input_channel=self.name(),
                    metadata={"channel": self.name(), **(metadata or {})},
                )
            )
        except Exception:
            logger.exception("telegram: the assistant failed on a message")
            await self.output.send_text_message(chat_id, FAILURE)

    async def _callback(
        self, update: Update, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        query = update.callback_query
        # Stops the spinner on the button, whatever happens next.
        await self.output.call("answer_callback_query", callback_query_id=query.id)
        message = query.message
        chat_id = str(message.chat.id if message is not None else query.from_user.id)
        payload = self.output.callbacks.decode(query.data or "")
        if not payload:
            await self.output.send_text_message(chat_id, EXPIRED_BUTTON)
            return
        await self._say(on_new_message, chat_id, payload)

    async def _message(
        self, message: Message, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        chat_id = str(message.chat.id)
        if message.contact is not None:
            sender = message.from_user
            if sender is not None and message.contact.user_id == sender.id:
                await self._say(
                    on_new_message,
                    chat_id,
                    CONTACT_TEXT,
                    {"verified_phone": message.contact.phone_number},
                    intent=CONTACT_INTENT,
                )
            else:
                await self.output.send_text_message(chat_id, NOT_OWN_CONTACT)
            return
        if message.text is None:
            if any(getattr(message, kind, None) for kind in UNSUPPORTED_KINDS):
                await self.output.send_text_message(chat_id, TEXT_ONLY)
            return
        text = normalize(message.text)
        if not text:
            return
        if len(text) > MAX_INCOMING_LENGTH:
            await self.output.send_text_message(chat_id, TOO_LONG)
            return
        command = _command(text)
        if command == "/start":
            text = START_PAYLOAD
        elif command == "/help":
            text = HELP_PAYLOAD
        await self._say(on_new_message, chat_id, text)
