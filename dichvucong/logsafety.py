"""Logs never keep a citizen's identity or phone numbers.

Rasa, Sanic and our own code log user text in places we do not control (a
warning quoting a "/010204078901" payload, a timeout line with the message,
an exception carrying the raw text). Rather than chase each call, every log
record is redacted when it is created, message, arguments and traceback
alike, and so are Python warnings, which Rasa prints outside logging.
Dossier codes stay readable: they are what an operator needs to follow a case.
"""
from __future__ import annotations

import logging
import traceback
import warnings

from dichvucong.privacy import redact

_installed = False


def _redacting_factory(previous):
    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed %-format: keep the template only
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
        return record

    return factory


def install() -> None:
    """Redact every log record and warning of this process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    logging.setLogRecordFactory(_redacting_factory(logging.getLogRecordFactory()))
    show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        show(redact(str(message)), category, filename, lineno, file, line)

    warnings.showwarning = showwarning
