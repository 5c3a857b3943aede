"""Telegram message formatting: HTML escaping, splitting, buttons and keyboards."""
from __future__ import annotations

import hashlib
import html
import re
from collections import OrderedDict
from typing import Any, Dict, List, Optional

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.channels import common
from bot.channels.telegram.constants import (
    CALLBACK_TABLE_SIZE,
    CONTACT_BUTTON,
    MAX_BUTTON_TITLE,
    MAX_CALLBACK_BYTES,
    MAX_MESSAGE_LENGTH,
)


def split_message(text: str, limit: int = MAX_MESSAGE_LENGTH) -> List[str]:
    """Split already escaped ``text`` into pieces of at most ``limit`` UTF-16 units.

    Cuts prefer a paragraph break, then a line break, then a space; only a single
    word longer than ``limit`` is cut inside, and never inside an HTML entity.
    """
    return common.split_text(text, limit, html_entities=True)


def escape(text: str) -> str:
    """Safe for parse_mode HTML: our texts are plain, "<" and "&" must stay literal."""
    return html.escape(text or "", quote=False)


def button_title(title: Any) -> str:
    return common.button_title(title, MAX_BUTTON_TITLE, empty="…")


class CallbackTable:
    """Button payloads longer than Telegram's 64-byte callback_data, by short key.

    Keys are derived from the payload, so the same button always gets the same
    key. The table is in memory and bounded: after a restart or eviction an old
    button resolves to None and the citizen is asked to type again.
    """

    PREFIX = "~"

    def __init__(self, size: int = CALLBACK_TABLE_SIZE):
        self.size = size
        self._payloads: OrderedDict[str, str] = OrderedDict()

    def encode(self, payload: str) -> str:
        if len(payload.encode("utf-8")) <= MAX_CALLBACK_BYTES and not payload.startswith(
            self.PREFIX
        ):
            return payload
        key = self.PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self.size:
            self._payloads.popitem(last=False)
        return key

    def decode(self, data: str) -> Optional[str]:
        if not data.startswith(self.PREFIX):
            return data
        payload = self._payloads.get(data)
        if payload is not None:
            self._payloads.move_to_end(data)
        return payload


def inline_keyboard(buttons: List[Dict[str, Any]], table: CallbackTable) -> InlineKeyboardMarkup:
    rows = []
    for button in buttons:
        title = button_title(button.get("title", ""))
        url = button.get("url")
        payload = str(button.get("payload") or button.get("title") or "")
        if not url and re.match(r"^https?://", payload):
            url = payload
        if url:
            rows.append([InlineKeyboardButton(title, url=url)])
        else:
            rows.append([InlineKeyboardButton(title, callback_data=table.encode(payload))])
    return InlineKeyboardMarkup(rows)


def contact_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(CONTACT_BUTTON, request_contact=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )
