"""The REST channel for internal clients (load tests, an office's own front end).

POST /webhooks/rest/webhook   {"sender": "...", "message": "..."} -> bot messages
GET  /webhooks/rest/          health check

It replaces Rasa's built-in ``rest`` channel, which trusted everything a client
sent: any ``sender`` (so a REST client could write into a Telegram chat's
conversation and read its replies), any ``metadata`` (so a forged "shared
contact" skipped the second factor), any text (a payload typed as
``/EXTERNAL_...``), bodies of any size and shape (lists, lone surrogates: 500s
and worse). Here the conversation id is always "rest:<sender>", client
metadata is dropped, and the body passes ``dichvucong.inbound`` first.

It is meant for internal use: in production keep it out of credentials.yml,
or set ``token`` so that only callers presenting it (header
``Authorization: Bearer <token>``) are served.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.observe import install_process_logging, observed, refused, request_metadata
from bot.channels.safety import error_reply, handle_turn
from dichvucong import inbound, keys

logger = logging.getLogger(__name__)


class RestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        token = str((credentials or {}).get("token") or "").strip()
        return cls(token=token or None)

    def __init__(self, token: Optional[str] = None):
        self.token = token
        install_process_logging()

    def _authorized(self, request: Request) -> bool:
        if not self.token:
            return True
        given = request.headers.get("Authorization") or ""
        expected = f"Bearer {self.token}"
        return keys.same_secret(given, expected)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        rest = Blueprint("rest_checked", __name__)
        on_new_message = observed(on_new_message, self.name())

        @rest.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorized(request):
                refused(self.name(), "token")
                return error_reply(401, "Yêu cầu chưa được xác thực.")
            try:
                body = inbound.parse_json_object(request.body)
                sender = inbound.clean_sender(body.get("sender"))
                text = inbound.guard_payload(inbound.clean_text(body.get("message")))
            except inbound.InvalidInput as invalid:
                refused(self.name(), str(invalid.status))
                return error_reply(invalid.status, invalid.message)
            collector = CollectingOutputChannel()
            message = UserMessage(
                text,
                collector,
                inbound.conversation_id(self.name(), sender),
                input_channel=self.name(),
                metadata=request_metadata(self.name(), request),
            )
            failed = await handle_turn(on_new_message, message, self.name())
            if failed is not None:
                return failed
            # Clients address the conversation by the sender they gave.
            for item in collector.messages:
                item["recipient_id"] = sender
            return response.json(collector.messages)

        return rest
