"""Structured logs with a correlation id that follows a message.

A channel gives each citizen message a correlation id (or keeps a sane
``X-Request-ID`` the caller sent), puts it in the message's metadata, and the
id travels with the tracker to the action server, which reads it back from
the last user event. Each process keeps the id of the turn it is working on
in a context variable, so every log line written during that turn, by our
code or by Rasa's, carries it. ``LOG_FORMAT=json`` writes one JSON object per
line for a log shipper; the default stays readable for a person at a terminal.
Log records are already redacted by :mod:`dichvucong.logsafety`.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import secrets
from typing import Any, Iterable, Mapping, Optional

METADATA_KEY = "correlation_id"
HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

_current: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar(
    "correlation_id", default=None
)


def new_id() -> str:
    return secrets.token_hex(8)


def accept(candidate: Any) -> Optional[str]:
    """A caller-supplied id if it is safe to log (no spaces, markup or personal data)."""
    if isinstance(candidate, str) and _SANE_ID.match(candidate):
        return candidate
    return None


def current() -> Optional[str]:
    return _current.get()


def bind(correlation_id: Optional[str]) -> contextvars.Token:
    """Make ``correlation_id`` the id of this task's log lines (reset with the token)."""
    return _current.set(correlation_id)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


def from_events(events: Iterable[Mapping[str, Any]]) -> Optional[str]:
    """The correlation id of the last user event of a serialised tracker."""
    for event in reversed(list(events or [])):
        if isinstance(event, Mapping) and event.get("event") == "user":
            metadata = event.get("metadata")
            return accept(metadata.get(METADATA_KEY)) if isinstance(metadata, Mapping) else None
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, correlation id."""

    def __init__(self, *args: Any, process_name: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.process_name = process_name

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": current(),
        }
        if self.process_name:
            entry["process"] = self.process_name
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def use_json(process_name: str, enabled: bool) -> None:
    """Switch every handler of the root logger to JSON lines (when ``enabled``).

    Rasa and rasa_sdk install their own handlers at start-up; replacing the
    formatters afterwards keeps their levels and streams and changes only the
    shape of the lines.
    """
    if not enabled:
        return
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter(process_name=process_name))
