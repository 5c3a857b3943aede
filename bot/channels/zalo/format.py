"""Zalo message formatting: text chunks, query buttons, and taps mapped back to payloads."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from rasa.shared.core.events import BotUttered

from bot.channels import common
from dichvucong.text import normalize

# Zalo rejects a longer text with -210 instead of truncating it. The official
# page was not reachable while writing this; 2000 is what integrators report
# after hitting the error in production, and it is the usual figure quoted.
TEXT_LIMIT = 2000
# Limits of a consultation message with buttons, as integrators report them
# (the official page was not reachable): at most 5 buttons, titles of at most
# 100 characters, payloads of at most 1000.
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100

CHOOSE_TEXT = "Mời bạn chọn:"
MORE_CHOICES_TEXT = "Các lựa chọn khác:"


def split_text(text: str, limit: int = TEXT_LIMIT) -> List[str]:
    """Chunks of at most ``limit`` UTF-16 units, cut between paragraphs, lines or words."""
    return common.split_text(text, limit)


def button_title(title: Any) -> str:
    return common.button_title(title, MAX_BUTTON_TITLE)


def zalo_buttons(buttons: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Rasa buttons as Zalo "oa.query.show" buttons.

    A tap on such a button sends its payload back as an ordinary, visible
    user_send_text message. Rasa payloads (``/ask_fee{"procedure": ...}``)
    would then show up in the citizen's chat, so the payload is the button's
    title and the title is mapped back to the Rasa payload on the way in
    (``choice_from_events``).
    """
    result, titles = [], set()
    for button in buttons or []:
        if not isinstance(button, dict):
            continue
        title = button_title(button.get("title"))
        if not title or title.casefold() in titles:
            continue
        url = button.get("url")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            result.append({"title": title, "type": "oa.open.url", "payload": {"url": url}})
        elif button.get("payload"):
            result.append({"title": title, "type": "oa.query.show", "payload": title})
        else:
            continue
        titles.add(title.casefold())
    return result


def compose_messages(text: str, buttons: Iterable[Dict[str, Any]] = ()) -> List[Dict[str, Any]]:
    """The Zalo ``message`` objects that carry one Rasa message, in order."""
    chunks = split_text(text)
    choices = zalo_buttons(buttons)
    if not choices:
        return [{"text": chunk} for chunk in chunks]
    if not chunks:
        chunks = [CHOOSE_TEXT]
    groups = [choices[i:i + MAX_BUTTONS] for i in range(0, len(choices), MAX_BUTTONS)]
    messages: List[Dict[str, Any]] = [{"text": chunk} for chunk in chunks[:-1]]
    # The buttons go under the last chunk: they follow what the citizen reads last.
    for index, group in enumerate(groups):
        messages.append(
            {
                "text": chunks[-1] if index == 0 else MORE_CHOICES_TEXT,
                "attachment": {"type": "template", "payload": {"buttons": group}},
            }
        )
    return messages


def _same_choice(a: str, b: str) -> bool:
    return normalize(a).casefold() == normalize(b).casefold()


def choice_from_events(text: str, events: Iterable[Any]) -> Optional[str]:
    """The Rasa payload of the button titled ``text`` in the latest bot messages."""
    if not text or len(text) > MAX_BUTTON_TITLE:
        return None
    for event in reversed(list(events)):
        if not isinstance(event, BotUttered):
            continue
        for button in (event.data or {}).get("buttons") or []:
            payload = button.get("payload") if isinstance(button, dict) else None
            if payload and _same_choice(text, button_title(button.get("title"))):
                return str(payload)
    return None
