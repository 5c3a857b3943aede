"""What the HTTP channels (REST, web chat) share: error replies and contained turns.

A turn that fails (a bug, the tracker store down) must cost that one request
only: the exception is logged with a short reference the citizen can quote to
staff, and the reply is a polite Vietnamese message, never a 5xx page or a
dead process.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from sanic import response
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

SYSTEM_FAILURE = (
    "Xin lỗi, hệ thống đang gặp sự cố. Bạn vui lòng thử lại sau ít phút (mã lỗi: {ref})."
)


def error_reply(status: int, text: str) -> HTTPResponse:
    """The channels' error shape: one bot message flagged as an error."""
    return response.json([{"recipient_id": None, "text": text, "error": True}], status=status)


async def handle_turn(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    message: UserMessage,
    channel: str,
) -> Optional[HTTPResponse]:
    """Run one turn; None when it succeeded, else the reply to send instead."""
    try:
        await on_new_message(message)
    except (Exception, asyncio.CancelledError):
        ref = secrets.token_hex(4)
        # The text is not logged: it may hold personal data.
        logger.exception("%s: turn failed (ref %s)", channel, ref)
        return error_reply(200, SYSTEM_FAILURE.format(ref=ref))
    return None
