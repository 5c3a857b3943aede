"""The Telegram channel (docs/telegram.md).

    constants   limits, addresses, Vietnamese texts, the secret-token rule
    format      escaping, splitting, buttons, the callback table, keyboards
    output      TelegramOutput: sending, flood control, errors
    input       TelegramInput: the webhook, updates to Rasa messages
    polling     ``python -m bot.channels.telegram.polling``
    admin       ``python -m bot.channels.telegram.admin``

Names are loaded on first use, so the two commands start without importing
Rasa; ``bot.channels.telegram.TelegramInput`` (what credentials.yml names)
resolves as before.
"""
from __future__ import annotations

import importlib
from typing import Any, Dict

_EXPORTS: Dict[str, str] = {
    "TelegramInput": "input",
    "parse_update": "input",
    "TelegramOutput": "output",
    "CallbackTable": "format",
    "button_title": "format",
    "contact_keyboard": "format",
    "escape": "format",
    "inline_keyboard": "format",
    "split_message": "format",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        constants = importlib.import_module(f"{__name__}.constants")
        if hasattr(constants, name) and name.isupper():
            return getattr(constants, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
