"""What every channel does around a turn: correlation id, metrics, refusals.

Each channel wraps Rasa's ``on_new_message`` once with :func:`observed`, so
the id, the count and the latency of a turn are taken in one place whatever
the platform. The id goes into the message's metadata: Rasa keeps it on the
user event and sends it to the action server with the tracker, which logs
under the same id (``dichvucong.jsonlog``).
"""
from __future__ import annotations

import logging
import time
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import UserMessage

from dichvucong import jsonlog, logsafety, metrics
from dichvucong.settings import settings

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def install_process_logging() -> None:
    """Redacted records, and JSON lines when ``LOG_FORMAT=json`` (idempotent).

    Every channel calls it when Rasa builds it, which is after Rasa has set
    up its own log handlers, whichever channels a deployment lists."""
    logsafety.install()
    jsonlog.use_json("rasa", settings().operations.json_logs)


def request_metadata(channel: str, request: Any = None) -> Dict[str, str]:
    """The metadata a channel puts on a message: its name and the caller's
    ``X-Request-ID`` when it is a sane id (else the turn gets a new one)."""
    metadata = {"channel": channel}
    headers = getattr(request, "headers", None)
    given = jsonlog.accept(headers.get(jsonlog.HEADER)) if headers is not None else None
    if given:
        metadata[jsonlog.METADATA_KEY] = given
    return metadata


def observed(on_new_message: OnNewMessage, channel: str) -> OnNewMessage:
    async def handle(message: UserMessage) -> Any:
        metadata = dict(message.metadata or {})
        correlation_id = jsonlog.accept(metadata.get(jsonlog.METADATA_KEY)) or jsonlog.new_id()
        metadata[jsonlog.METADATA_KEY] = correlation_id
        message.metadata = metadata
        token = jsonlog.bind(correlation_id)
        start = time.perf_counter()
        try:
            with metrics.timed_turn(channel):
                return await on_new_message(message)
        finally:
            # One line per turn, without the text: it may hold personal data.
            logger.info("%s: turn handled in %.0f ms", channel, (time.perf_counter() - start) * 1000)
            jsonlog.reset(token)

    return handle


def refused(channel: str, reason: str) -> None:
    """Count a request refused before Rasa saw it (reason: a short closed label)."""
    metrics.REFUSED.labels(channel, reason).inc()


def correlation_id() -> Optional[str]:
    return jsonlog.current()
