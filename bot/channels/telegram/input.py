"""Telegram channel on python-telegram-bot, used only as a typed Bot API client.

POST /webhooks/telegram/webhook   an Update from Telegram (webhook mode) or from
                                  ``bot.channels.telegram.polling`` (polling mode)
GET  /webhooks/telegram/          health check

credentials.yml::

    bot.channels.telegram.TelegramInput:
      access_token: ${TELEGRAM_BOT_TOKEN}
      secret_token: ${TELEGRAM_SECRET_TOKEN}
      base_url: ${TELEGRAM_API_BASE_URL}     # optional, https://api.telegram.org/bot
      base_file_url: ${TELEGRAM_FILE_BASE_URL}  # optional
      database_url: ...                      # optional, DATABASE_URL (delivery de-duplication)

Rasa's built-in channel (aiogram) is not used: it registers the webhook as a
side effect of server start, calls getMe on every update instead of checking
Telegram's secret header, and answers only after the whole turn, so a slow turn
makes Telegram resend the update. Here the webhook is answered at once and the
turn runs in a background task.

Every conversation is "telegram:<chat id>", so no other channel can reach it.
Every text and button payload is cleaned and guarded (``dichvucong.inbound``)
before Rasa sees it: "/EXTERNAL_dossier_update{...}" typed or forged into a
callback is read as words, never as the system intent.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Message, Update

from bot.channels.common import BackgroundTurns, SeenDeliveries
from bot.channels.observe import install_process_logging, observed, refused
from bot.channels.telegram.constants import (
    CONTACT_INTENT,
    CONTACT_TEXT,
    DEFAULT_BASE_URL,
    EXPIRED_BUTTON,
    FAILURE,
    HELP_PAYLOAD,
    NOT_OWN_CONTACT,
    SECRET_HEADER,
    SEEN_UPDATES,
    START_PAYLOAD,
    TEXT_ONLY,
    UNSUPPORTED_KINDS,
    check_secret_token,
    secret_matches,
)
from bot.channels.telegram.output import TelegramOutput
from dichvucong.contract import METADATA_VERIFIED_PHONE
from dichvucong.deliveries import Deliveries
from dichvucong.inbound import (
    InvalidInput,
    clean_text,
    conversation_id,
    guard_payload,
    parse_json_object,
)

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
CHANNEL = "telegram"
# Telegram keeps an undelivered update for 24 hours; two days covers its resends.
DELIVERY_RETENTION = 48 * 3600


def _command(text: str) -> Optional[str]:
    """"/start", "/start@SomeBot payload" -> "/start"; None if not a command."""
    if not text.startswith("/"):
        return None
    return text.split(maxsplit=1)[0].split("@", 1)[0].lower()


def _bad_request() -> HTTPResponse:
    return response.json({"ok": False, "description": "Bad Request"}, status=400)


def parse_update(raw: bytes, bot: Any) -> Optional[Update]:
    """The Update in a webhook body, or None for anything that is not one."""
    try:
        body = parse_json_object(raw)
    except InvalidInput:
        return None
    update_id = body.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int):
        return None
    try:
        return Update.de_json(body, bot)
    except Exception:  # missing or mistyped fields deep inside
        return None


class TelegramInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        token = str(credentials.get("access_token") or "").strip()
        secret = str(credentials.get("secret_token") or "").strip()
        if not token or not secret:
            # Without a secret anyone who finds the URL could speak for any chat.
            cls.raise_missing_credentials_exception()
        return cls(
            access_token=token,
            secret_token=check_secret_token(secret),
            base_url=str(credentials.get("base_url") or DEFAULT_BASE_URL),
            base_file_url=credentials.get("base_file_url") or None,
            database_url=credentials.get("database_url") or None,
        )

    def __init__(
        self,
        access_token: str,
        secret_token: str,
        base_url: str = DEFAULT_BASE_URL,
        base_file_url: Optional[str] = None,
        database_url: Optional[str] = None,
        deliveries: Optional[Deliveries] = None,
    ):
        install_process_logging()
        self.access_token = access_token
        self.secret_token = secret_token
        self.base_url = base_url
        self.base_file_url = base_file_url
        self._output: Optional[TelegramOutput] = None
        # Telegram resends an update it thinks was lost, to this replica or another.
        self._seen = SeenDeliveries(
            CHANNEL, SEEN_UPDATES, DELIVERY_RETENTION, deliveries, database_url
        )
        # Update ids count per bot: the bot id (the token's first part) keeps
        # two bots on one database apart.
        self._bot_id = access_token.split(":", 1)[0]
        self._turns = BackgroundTurns(CHANNEL)

    @property
    def output(self) -> TelegramOutput:
        if self._output is None:
            self._output = TelegramOutput(self.access_token, self.base_url, self.base_file_url)
        return self._output

    def get_output_channel(self) -> OutputChannel:
        return self.output

    async def first_delivery(self, update_id: int) -> bool:
        """False for an update accepted before (by any replica, or before a restart)."""
        return await self._seen.first_time(f"update:{self._bot_id}:{update_id}")

    def _authorized(self, request: Request) -> bool:
        return secret_matches(request.headers.get(SECRET_HEADER) or "", self.secret_token)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        telegram = Blueprint("telegram_ptb", __name__)
        on_new_message = observed(on_new_message, self.name())

        @telegram.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorized(request):
                refused(self.name(), "secret")
                return response.json({"ok": False, "description": "Unauthorized"}, status=401)
            try:
                update = parse_update(request.body or b"", self.output.bot)
                if update is None:
                    return _bad_request()
                if await self.first_delivery(update.update_id):
                    self._turns.start(self.handle(update, on_new_message))
            except Exception:
                # Whatever a body holds, Telegram gets an answer, not a 500 to resend.
                logger.exception("telegram: webhook body not handled")
                return _bad_request()
            return response.text("ok")

        @telegram.listener("after_server_stop")
        async def close(app: Any, loop: Any) -> None:
            await self._turns.drain()
            if self._output is not None:
                await self._output.close()

        return telegram

    async def handle(self, update: Update, on_new_message: OnNewMessage) -> None:
        """Act on one update; never raises."""
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
        on_new_message: OnNewMessage,
        chat_id: str,
        text: str,
        metadata: Optional[Dict[str, Any]] = None,
        intent: Optional[str] = None,
    ) -> None:
        """Hand ``text`` to Rasa for chat ``chat_id``, or tell the citizen why not."""
        try:
            text = guard_payload(clean_text(text))
        except InvalidInput as refused:
            await self.output.send_text_message(chat_id, refused.message)
            return
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
                    conversation_id(CHANNEL, chat_id),
                    parse_data=parse_data,
                    input_channel=CHANNEL,
                    metadata={"channel": CHANNEL, **(metadata or {})},
                )
            )
        except Exception:
            logger.exception("telegram: the assistant failed on a message")
            await self.output.send_text_message(chat_id, FAILURE)

    async def _callback(self, update: Update, on_new_message: OnNewMessage) -> None:
        query = update.callback_query
        # Stops the spinner on the button, whatever happens next.
        await self.output.call("answer_callback_query", callback_query_id=query.id)
        message = query.message
        chat_id = str(message.chat.id if message is not None else query.from_user.id)
        payload = self.output.callbacks.decode(query.data or "")
        if not payload:
            await self.output.send_text_message(chat_id, EXPIRED_BUTTON)
            return
        # callback_data is whatever the client sends, not only what our buttons held.
        await self._say(on_new_message, chat_id, payload)

    async def _message(self, message: Message, on_new_message: OnNewMessage) -> None:
        chat_id = str(message.chat.id)
        if message.contact is not None:
            await self._contact(message, on_new_message)
            return
        if message.text is None:
            if any(getattr(message, kind, None) for kind in UNSUPPORTED_KINDS):
                await self.output.send_text_message(chat_id, TEXT_ONLY)
            return
        text = message.text
        command = _command(text.strip())
        if command == "/start":
            text = START_PAYLOAD
        elif command == "/help":
            text = HELP_PAYLOAD
        await self._say(on_new_message, chat_id, text)

    async def _contact(self, message: Message, on_new_message: OnNewMessage) -> None:
        """A shared contact counts as a verified phone only if it is the sender's own.

        Telegram fills contact.user_id only for a Telegram user, and the "share
        my number" button sends the sender's; a forwarded or typed contact of
        someone else has another user_id or none. Only in a private chat: a
        group's conversation is shared by all its members.
        """
        chat_id = str(message.chat.id)
        sender = message.from_user
        own = (
            sender is not None
            and message.contact.user_id is not None
            and message.contact.user_id == sender.id
            and message.chat.type == "private"
        )
        if not own:
            await self.output.send_text_message(chat_id, NOT_OWN_CONTACT)
            return
        await self._say(
            on_new_message,
            chat_id,
            CONTACT_TEXT,
            {METADATA_VERIFIED_PHONE: str(message.contact.phone_number)},
            intent=CONTACT_INTENT,
        )
