"""Local web chat: a page served by the Rasa server itself, no CDN, works offline.

GET  /webhooks/webchat/          the chat page
POST /webhooks/webchat/session   -> {"sender", "token"}: a new conversation and its proof
POST /webhooks/webchat/webhook   {"sender", "token", "message"} -> list of bot messages
GET  /webhooks/webchat/updates   ?sender=...&after=<timestamp>, header X-Webchat-Token:
                                 notices sent to the conversation without a question
                                 (dossier updates)

The server, not the page, chooses the conversation id, and signs it: a client
can continue only a conversation whose token it was given, so knowing someone
else's id is not enough to write into it or read its dossier notices. The
tracker id is "webchat:<sender>", apart from every other channel's.

A browser cannot be pushed to, so proactive messages (the notifier's
trigger_intent calls) are stored in the tracker like any other and the page
polls for the ones that followed an external event.
"""
from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.constants import IS_EXTERNAL
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.observe import install_process_logging, observed, refused, request_metadata
from bot.channels.safety import error_reply, handle_turn
from dichvucong import contract, inbound, keys

logger = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent.parent / "webchat" / "index.html"
TOKEN_HEADER = "X-Webchat-Token"
FORWARDED = "Tin nhắn của bạn đã được chuyển tới cán bộ đang hỗ trợ."
BAD_SESSION = "Phiên trò chuyện không hợp lệ hoặc đã hết hạn. Bạn vui lòng tải lại trang."


class WebChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "webchat"

    def __init__(self) -> None:
        install_process_logging()

    def conversation(self, sender: str) -> str:
        return inbound.conversation_id(self.name(), sender)

    def _owned(self, sender: Any, token: Any) -> str:
        """The checked sender, or :class:`inbound.InvalidInput` (401)."""
        try:
            sender = inbound.clean_sender(sender)
        except inbound.InvalidInput:
            raise inbound.InvalidInput(401, BAD_SESSION) from None
        if not keys.owns_conversation(self.conversation(sender), token):
            raise inbound.InvalidInput(401, BAD_SESSION)
        return sender

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webchat = Blueprint("webchat", __name__)
        on_new_message = observed(on_new_message, self.name())

        @webchat.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            return response.html(PAGE.read_text(encoding="utf-8"))

        @webchat.route("/session", methods=["POST"])
        async def session(request: Request) -> HTTPResponse:
            sender = uuid.uuid4().hex
            token = keys.conversation_token(self.conversation(sender))
            return response.json({"sender": sender, "token": token})

        @webchat.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = inbound.parse_json_object(request.body)
                text = inbound.guard_payload(inbound.clean_text(body.get("message")))
                sender = self._owned(body.get("sender"), body.get("token"))
            except inbound.InvalidInput as invalid:
                refused(self.name(), str(invalid.status))
                return error_reply(invalid.status, invalid.message)
            collector = CollectingOutputChannel()
            message = UserMessage(
                text,
                collector,
                self.conversation(sender),
                input_channel=self.name(),
                metadata=request_metadata(self.name(), request),
            )
            failed = await handle_turn(on_new_message, message, self.name())
            return failed or response.json(await self._reply(request, sender, collector.messages))

        @webchat.route("/updates", methods=["GET"])
        async def updates(request: Request) -> HTTPResponse:
            try:
                sender = self._owned(request.args.get("sender"), request.headers.get(TOKEN_HEADER))
                after = float(request.args.get("after") or 0)
            except inbound.InvalidInput as refused:
                return error_reply(refused.status, refused.message)
            except ValueError:
                return error_reply(400, "Tham số after không hợp lệ.")
            agent = request.app.ctx.agent
            try:
                tracker = await agent.tracker_store.retrieve(self.conversation(sender))
            except Exception:
                logger.exception("webchat: tracker unavailable for updates")
                return response.json({"messages": [], "after": after})
            events = tracker.events if tracker else []
            return response.json(proactive_messages(events, after))

        return webchat

    async def _reply(self, request: Request, sender: str, messages: list) -> list:
        """The turn's messages; a silent turn while staff answer says so, not "no answer"."""
        if messages:
            return messages
        try:
            tracker = await request.app.ctx.agent.tracker_store.retrieve(self.conversation(sender))
        except Exception:
            logger.exception("webchat: tracker unavailable after a silent turn")
            return messages
        if tracker and tracker.get_slot(contract.SLOT_HANDOFF_STATE) == "active":
            return [{"recipient_id": sender, "text": FORWARDED, "notice": True}]
        return messages


def proactive_messages(events, after: float) -> Dict[str, Any]:
    """Bot messages that answered an external event, newer than ``after``."""
    messages, newest, external = [], after, False
    for event in events:
        if isinstance(event, UserUttered):
            external = bool((event.metadata or {}).get(IS_EXTERNAL))
        elif isinstance(event, BotUttered) and external and event.timestamp > after:
            message = {"text": event.text, "timestamp": event.timestamp}
            buttons = (event.data or {}).get("buttons")
            if buttons:
                message["buttons"] = buttons
            messages.append(message)
            newest = max(newest, event.timestamp)
    return {"messages": messages, "after": newest}
