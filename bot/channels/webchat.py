"""Local web chat: a page served by the Rasa server itself, no CDN, works offline.

GET  /webhooks/webchat/          the chat page
POST /webhooks/webchat/webhook   {"sender": "...", "message": "..."} -> list of bot messages
GET  /webhooks/webchat/updates   ?sender=...&after=<timestamp> -> notices sent to the
                                 conversation without a question (dossier updates)

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

from bot.text import normalize

logger = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent.parent / "webchat" / "index.html"
MAX_MESSAGE_LENGTH = 2000
MAX_SENDER_LENGTH = 128


def _error(status: int, text: str) -> HTTPResponse:
    return response.json([{"recipient_id": None, "text": text, "error": True}], status=status)


class WebChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "webchat"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webchat = Blueprint("webchat", __name__)

        @webchat.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            return response.html(PAGE.read_text(encoding="utf-8"))

        @webchat.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body: Dict[str, Any] | None = request.json
            except Exception:  # sanic raises on malformed JSON
                body = None
            if not isinstance(body, dict):
                return _error(400, "Yêu cầu không hợp lệ: nội dung phải là JSON.")
            text = body.get("message")
            if not isinstance(text, str) or not normalize(text):
                return _error(400, "Bạn chưa nhập nội dung tin nhắn.")
            if len(text) > MAX_MESSAGE_LENGTH:
                return _error(
                    413,
                    f"Tin nhắn quá dài (tối đa {MAX_MESSAGE_LENGTH} ký tự). "
                    "Bạn vui lòng hỏi ngắn gọn hơn.",
                )
            sender = body.get("sender")
            if not isinstance(sender, str) or not sender or len(sender) > MAX_SENDER_LENGTH:
                sender = uuid.uuid4().hex
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        normalize(text),
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata={"channel": self.name()},
                    )
                )
            except Exception:
                logger.exception("webchat: failed to handle a message")
                return _error(
                    500,
                    "Xin lỗi, hệ thống đang gặp sự cố. Bạn vui lòng thử lại sau ít phút.",
                )
            return response.json(collector.messages)

        @webchat.route("/updates", methods=["GET"])
        async def updates(request: Request) -> HTTPResponse:
            sender = request.args.get("sender") or ""
            try:
                after = float(request.args.get("after") or 0)
            except ValueError:
                return _error(400, "Tham số after không hợp lệ.")
            if not sender or len(sender) > MAX_SENDER_LENGTH:
                return _error(400, "Thiếu mã cuộc trò chuyện.")
            agent = request.app.ctx.agent
            tracker = await agent.tracker_store.retrieve(sender) if agent else None
            events = tracker.events if tracker else []
            return response.json(proactive_messages(events, after))

        return webchat


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
