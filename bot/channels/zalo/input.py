"""Zalo Official Account channel (OA API v3.0, OAuth v4), set up in docs/zalo.md.

POST /webhooks/zalo/webhook   events from Zalo, signed with the OA Secret Key
                              (and Zalo's unsigned ``{}`` check of a new URL)
GET  /webhooks/zalo/          health check

Zalo shows the OA Secret Key only after the webhook URL was saved once, and
saves it only when the URL answers its ``{}`` check with 200. Without
``oa_secret_key`` the channel therefore starts in verify-only mode: it answers
that check and refuses every event until the key is added and Rasa restarted.

Zalo gives a webhook about two seconds to answer 200 before it retries and,
after repeated failures, disables it. NLU, the action server and the outbound
Zalo calls take longer than that, so the request is only authenticated and
acknowledged; the conversation turn runs in a background task and the replies
go out through the OA API (``ZaloOutput``). Zalo resends what it thinks was
lost, for up to two hours: a delivery is handled once, across replicas and
restarts (``SeenDeliveries``, the ``channel_deliveries`` table).

Zalo ids are large integers sent as strings; they stay strings here, because a
round trip through a float or a JavaScript number would change them. Every
conversation is "zalo:<user id>", so no other channel can reach it, and every
text is cleaned and guarded (``dichvucong.inbound``) before Rasa sees it.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import common
from bot.channels.common import BackgroundTurns, SeenDeliveries
from bot.channels.observe import install_process_logging, observed, refused
from bot.channels.zalo.format import MAX_BUTTON_TITLE, choice_from_events
from bot.channels.zalo.output import DEFAULT_API_BASE_URL, ZaloOutput
from bot.channels.zalo.signature import (
    DEFAULT_MAX_SKEW_SECONDS,
    SIGNATURE_HEADER,
    authenticate,
    is_verification,
)
from bot.channels.zalo.tokens import DEFAULT_OAUTH_BASE_URL, DEFAULT_TOKEN_FILE, ZaloTokenManager
from dichvucong.deliveries import Deliveries
from dichvucong.inbound import (
    InvalidInput,
    clean_sender,
    clean_text,
    conversation_id,
    guard_payload,
)

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
CHANNEL = "zalo"

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
SEEN_DELIVERIES = 50_000
VERIFY_ONLY = "verify-only mode: add ZALO_OA_SECRET_KEY and restart"

TEXT_ONLY_REPLY = common.TEXT_ONLY
FAILURE_REPLY = common.FAILURE


def _field(container: Any, key: str) -> Any:
    """``container[key]`` if ``container`` is an object; a forged event may hold anything."""
    return container.get(key) if isinstance(container, dict) else None


def _id(value: Any) -> Optional[str]:
    """A Zalo id (user, message) as a string, or None if it is not a plausible one."""
    try:
        return clean_sender(value.strip() if isinstance(value, str) else value)
    except InvalidInput:
        return None


def _optional_str(value: Any) -> Optional[str]:
    return str(value) if value not in (None, "") else None


def delivery_key(event: Dict[str, Any]) -> Optional[str]:
    """What makes a delivery the same delivery: its msg_id, else its content and timestamp.

    A retry keeps the msg_id and the original timestamp. An event without a
    msg_id (follow, unfollow, some attachments) is keyed on the SHA-256 of its
    event name, sender (or follower), text and timestamp.
    """
    name = str(event.get("event_name") or "")
    if not (name.startswith("user_send_") or name in ("follow", "unfollow")):
        return None  # echoes and receipts are ignored anyway; no need to remember them
    message = event.get("message")
    msg_id = _id(_field(message, "msg_id"))
    if msg_id:
        return f"msg:{msg_id}"
    sender = _field(event.get("sender"), "id") or _field(event.get("follower"), "id")
    parts = (name, sender, _field(message, "text"), event.get("timestamp"))
    content = "\x1f".join("" if part is None else str(part) for part in parts)
    return "event:" + hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()


class ZaloInput(InputChannel):
    """Webhook for one Official Account."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> ZaloInput:
        if not credentials:
            cls.raise_missing_credentials_exception()
        missing = [k for k in ("app_id", "access_token") if not credentials.get(k)]
        if missing:
            raise ValueError(f"zalo channel: missing {', '.join(missing)} in credentials")
        return cls(
            app_id=str(credentials["app_id"]),
            # Empty until the webhook URL was saved once (verify-only mode, docs/zalo.md).
            oa_secret_key=_optional_str(credentials.get("oa_secret_key")),
            access_token=str(credentials["access_token"]),
            refresh_token=_optional_str(credentials.get("refresh_token")),
            app_secret=_optional_str(credentials.get("app_secret")),
            api_base_url=str(credentials.get("api_base_url") or DEFAULT_API_BASE_URL),
            oauth_base_url=str(credentials.get("oauth_base_url") or DEFAULT_OAUTH_BASE_URL),
            token_file=str(credentials.get("token_file") or DEFAULT_TOKEN_FILE),
            token_store=_optional_str(credentials.get("token_store")),
            max_skew_seconds=float(credentials.get("max_skew_seconds") or DEFAULT_MAX_SKEW_SECONDS),
            database_url=_optional_str(credentials.get("database_url")),
        )

    def __init__(
        self,
        app_id: str,
        oa_secret_key: Optional[str],
        access_token: str,
        refresh_token: Optional[str] = None,
        app_secret: Optional[str] = None,
        api_base_url: str = DEFAULT_API_BASE_URL,
        oauth_base_url: str = DEFAULT_OAUTH_BASE_URL,
        token_file: str = DEFAULT_TOKEN_FILE,
        token_store: Optional[str] = None,
        max_skew_seconds: float = DEFAULT_MAX_SKEW_SECONDS,
        database_url: Optional[str] = None,
        deliveries: Optional[Deliveries] = None,
    ):
        install_process_logging()
        self.app_id = app_id
        self.oa_secret_key = (oa_secret_key or "").strip() or None
        self.max_skew_seconds = max_skew_seconds
        if self.verify_only:
            logger.warning("zalo: no oa_secret_key: %s (only Zalo's URL check is answered; "
                           "every event is refused)", VERIFY_ONLY)
        self.tokens = ZaloTokenManager(
            app_id, app_secret, access_token, refresh_token, oauth_base_url, token_file,
            token_store=token_store,
        )
        if not self.tokens.can_refresh:
            logger.warning("zalo: no refresh_token/app_secret: replies stop when the access "
                           "token expires")
        self.output = ZaloOutput(self.tokens, api_base_url)
        # A retry must still be recognised as one after the replay window.
        self.seen = SeenDeliveries(
            CHANNEL, SEEN_DELIVERIES, max(24 * 3600, 2 * max_skew_seconds), deliveries, database_url
        )
        self._turns = BackgroundTurns(CHANNEL)

    @property
    def verify_only(self) -> bool:
        return self.oa_secret_key is None

    def get_output_channel(self) -> OutputChannel:
        return self.output

    def authenticate(
        self, raw_body: bytes, signature: Optional[str], now_ms: Optional[float] = None
    ) -> Tuple[int, Optional[Dict[str, Any]], str]:
        if self.oa_secret_key is None:
            return 401, None, VERIFY_ONLY  # a MAC over an empty key anyone could compute
        return authenticate(
            raw_body, signature, self.app_id, self.oa_secret_key, self.max_skew_seconds, now_ms
        )

    async def is_duplicate(self, event: Dict[str, Any]) -> bool:
        """True if this delivery was accepted before (here, by a replica, before a restart)."""
        key = delivery_key(event)
        return key is not None and not await self.seen.first_time(key)

    async def webhook(
        self,
        raw_body: bytes,
        signature: Optional[str],
        on_new_message: OnNewMessage,
        agent: Any = None,
    ) -> Tuple[int, Dict[str, Any]]:
        """One webhook request: (HTTP status, JSON answer); the turn, if any, runs in the background."""
        if is_verification(raw_body, signature):
            logger.info("zalo: webhook URL check answered")
            return 200, {"status": "ok"}
        status, event, reason = self.authenticate(raw_body, signature)
        if event is None:
            logger.warning("zalo: webhook rejected (%s): %s", status, reason)
            refused(CHANNEL, "signature")
            return status, {"error": reason}
        if await self.is_duplicate(event):
            logger.info("zalo: duplicate delivery ignored")
            return 200, {"status": "duplicate"}
        self._turns.start(self.process(event, on_new_message, agent))
        return 200, {"status": "accepted"}

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        zalo = Blueprint("zalo_webhook", __name__)
        on_new_message = observed(on_new_message, self.name())

        @zalo.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @zalo.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                status, answer = await self.webhook(
                    request.body or b"",
                    request.headers.get(SIGNATURE_HEADER),
                    on_new_message,
                    getattr(request.app.ctx, "agent", None),
                )
            except Exception:
                # Whatever a body holds, the answer is a 4xx, never a 500.
                logger.exception("zalo: webhook body not handled")
                return response.json({"error": "bad request"}, status=400)
            return response.json(answer, status=status)

        @zalo.listener("before_server_stop")
        async def finish_turns(app: Any, loop: Any) -> None:
            await self._turns.drain()

        return zalo

    async def process(
        self, event: Dict[str, Any], on_new_message: OnNewMessage, agent: Any = None
    ) -> None:
        """Act on one authenticated event; never raises."""
        try:
            await self._process(event, on_new_message, agent)
        except Exception:
            logger.exception("zalo: failed to handle %s", _field(event, "event_name"))

    async def _process(self, event: Dict[str, Any], on_new_message: OnNewMessage, agent: Any) -> None:
        name = str(event.get("event_name") or "")
        if name == "user_send_text":
            sender = _id(_field(event.get("sender"), "id"))
            message = event.get("message")
            text = _field(message, "text")
            if not sender or not isinstance(text, str):
                logger.info("zalo: user_send_text without sender or text ignored")
                return
            await self._text(text, sender, message, on_new_message, agent)
        elif name == "follow":
            follower = _id(_field(event.get("follower"), "id"))
            if follower:
                await self._say("/greet", follower, {}, on_new_message)
        elif name == "unfollow":
            logger.info("zalo: a user unfollowed the OA")
        elif name in NON_TEXT_EVENTS:
            sender = _id(_field(event.get("sender"), "id"))
            if sender:
                await self.output.send_text_message(sender, TEXT_ONLY_REPLY)
        elif name.startswith("oa_") or name in RECEIPT_EVENTS:
            logger.debug("zalo: %s ignored", name)
        else:
            logger.info("zalo: unsupported event %r ignored", name)

    async def _text(
        self, text: str, sender: str, message: Any, on_new_message: OnNewMessage, agent: Any
    ) -> None:
        try:
            text = clean_text(text)
        except InvalidInput as refused:
            await self.output.send_text_message(sender, refused.message)
            return
        choice = await self._button_choice(text, sender, agent)
        await self._say(choice or text, sender, message, on_new_message)

    async def _say(
        self, text: str, sender: str, message: Any, on_new_message: OnNewMessage
    ) -> None:
        """Hand ``text`` to Rasa for Zalo user ``sender``, guarded like every channel."""
        try:
            text = guard_payload(clean_text(text))
        except InvalidInput as refused:
            await self.output.send_text_message(sender, refused.message)
            return
        user_message = UserMessage(
            text,
            self.output,
            conversation_id(CHANNEL, sender),
            input_channel=CHANNEL,
            message_id=_id(_field(message, "msg_id")),
            metadata={"channel": CHANNEL},
        )
        try:
            await on_new_message(user_message)
        except Exception:
            logger.exception("zalo: failed to handle a message; the assistant failed")
            await self.output.send_text_message(sender, FAILURE_REPLY)

    async def _button_choice(self, text: str, sender: str, agent: Any) -> Optional[str]:
        # The tracker store is the memory of which buttons were offered: it is
        # shared by every replica and survives restarts, unlike this process.
        if agent is None or len(text) > MAX_BUTTON_TITLE or text.startswith("/"):
            return None
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return None
        try:
            tracker = await store.retrieve(conversation_id(CHANNEL, sender))
        except Exception:
            logger.exception("zalo: tracker unavailable; the text goes to NLU as typed")
            return None
        return choice_from_events(text, tracker.events) if tracker else None
