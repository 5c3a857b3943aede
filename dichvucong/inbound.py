"""What every channel checks before a message reaches Rasa.

A channel hands Rasa three things a client controls: the conversation id, the
text, and sometimes a button payload. Each is checked here once, for every
channel:

* bodies are bounded and parsed defensively (size, UTF-8, nesting, object);
* conversation ids are namespaced by channel, so a client of one channel can
  never address a conversation of another ("telegram:42" typed into the REST
  channel becomes "rest:telegram:42", a different conversation);
* texts lose control and zero-width characters, lone surrogates are refused
  (SQLite and the JSON encoders cannot write them), and long texts are refused
  with a polite reply instead of stalling the event loop in NLU;
* a text that Rasa would read as an intent payload ("/intent{...}") passes only
  for citizen intents with known entity values; a system intent such as
  ``/EXTERNAL_dossier_update`` loses its slash and is read as words.
"""
from __future__ import annotations

import functools
import json
import re
import unicodedata
from typing import Any, Callable, Dict, FrozenSet, Mapping, Optional

from dichvucong import contract
from dichvucong.knowledge.base import PROCEDURE_IDS, default_knowledge_base
from dichvucong.life_events import default_life_events

MAX_TEXT_LENGTH = 2000
MAX_SENDER_LENGTH = 128
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 20

TOO_LONG = (
    f"Tin nhắn quá dài (tối đa {MAX_TEXT_LENGTH} ký tự). Bạn vui lòng hỏi ngắn gọn hơn."
)
EMPTY = "Bạn chưa nhập nội dung tin nhắn."
NOT_JSON = "Yêu cầu không hợp lệ: nội dung phải là một đối tượng JSON."
BODY_TOO_LARGE = "Yêu cầu quá lớn. Bạn vui lòng gửi tin nhắn ngắn gọn hơn."
BAD_SENDER = "Thiếu hoặc sai mã cuộc trò chuyện (sender)."
BAD_TEXT = "Tin nhắn có ký tự không hợp lệ. Bạn vui lòng gõ lại."

# Platform ids (Telegram chat ids, Zalo user ids, web chat UUIDs) and REST
# clients' ids all fit this; anything else (spaces, control characters,
# surrogates, markup) is refused rather than stored.
_SENDER = re.compile(rf"[A-Za-z0-9_.:@-]{{1,{MAX_SENDER_LENGTH}}}")
# Zero-width and bidi controls hide text from staff reading a transcript.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_PAYLOAD = re.compile(r"^/+(?P<intent>[^{@\s]*)(?:@[0-9.]+)?(?P<entities>\{.*\})?\s*$", re.S)

# The entities a button may carry, each with the check of its value: what
# the answers' buttons send (a procedure, its variant, the full details, a
# life event's journey, a new commune after a split) and nothing an action
# owns. The locality is free text the NLU reads anyway; it is only kept sane.
PAYLOAD_ENTITIES: Mapping[str, Callable[[str], bool]] = {
    "procedure": lambda value: value in _procedure_ids(),
    "variant": lambda value: value in _variant_ids(),
    "detail": lambda value: value == "full",
    "life_event": lambda value: value in _life_event_ids(),
    "locality": lambda value: 0 < len(value) <= 120 and not _UNSAFE_LOCALITY.search(value),
    "rating": lambda value: value in ("up", "down"),
}
_UNSAFE_LOCALITY = re.compile(r"[{}\[\]\"\\/<>]|[\x00-\x1f\x7f]")


class InvalidInput(ValueError):
    """A request refused before Rasa saw it; ``message`` is Vietnamese."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _depth_ok(raw: str, limit: int) -> bool:
    """True if no array/object nests deeper than ``limit`` (strings skipped)."""
    depth, in_string, escaped = 0, False, False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


def parse_json_object(
    raw: bytes, max_bytes: int = MAX_BODY_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> Dict[str, Any]:
    """The JSON object in ``raw``, or :class:`InvalidInput` (413 or 400)."""
    if len(raw or b"") > max_bytes:
        raise InvalidInput(413, BODY_TOO_LARGE)
    try:
        text = (raw or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(400, NOT_JSON) from None
    if not _depth_ok(text, max_depth):
        raise InvalidInput(400, NOT_JSON)
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidInput(400, NOT_JSON) from None
    if not isinstance(body, dict):
        raise InvalidInput(400, NOT_JSON)
    return body


def clean_sender(value: Any) -> str:
    """A client-given conversation id, checked; :class:`InvalidInput` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidInput(400, BAD_SENDER)
    value = str(value)
    if not _SENDER.fullmatch(value):
        raise InvalidInput(400, BAD_SENDER)
    return value


def has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clean_text(value: Any, max_length: int = MAX_TEXT_LENGTH) -> str:
    """The citizen's text in NFC without control or invisible characters.

    Raises :class:`InvalidInput` for a non-string, an unencodable string, an
    empty text (400) or one over ``max_length`` (413).
    """
    if not isinstance(value, str):
        raise InvalidInput(400, EMPTY)
    if has_lone_surrogate(value):
        raise InvalidInput(400, BAD_TEXT)
    # Measured before cleaning too: normalising a megabyte is itself the stall.
    if len(value) > 4 * max_length:
        raise InvalidInput(413, TOO_LONG)
    text = unicodedata.normalize("NFC", value)
    text = _INVISIBLE.sub("", text)
    text = "".join(
        " " if unicodedata.category(char) == "Cc" and char not in "\n" else char for char in text
    )
    text = re.sub(r"[ \t]+", " ", text).strip()
    if not text:
        raise InvalidInput(400, EMPTY)
    if len(text) > max_length:
        raise InvalidInput(413, TOO_LONG)
    return text


def conversation_id(channel: str, platform_id: Any) -> str:
    """The tracker's id for ``platform_id`` on ``channel``: "telegram:42"."""
    return f"{channel}:{platform_id}"


def platform_id(channel: str, conversation: str) -> str:
    """The platform's own id back from a conversation id (legacy ids pass as they are)."""
    prefix = f"{channel}:"
    return conversation[len(prefix):] if conversation.startswith(prefix) else conversation


@functools.lru_cache(maxsize=1)
def _procedure_ids() -> FrozenSet[str]:
    return frozenset(PROCEDURE_IDS)


@functools.lru_cache(maxsize=1)
def _variant_ids() -> FrozenSet[str]:
    return frozenset(v.id for p in default_knowledge_base() for v in p.variants)


@functools.lru_cache(maxsize=1)
def _life_event_ids() -> FrozenSet[str]:
    return frozenset(default_life_events().events)


def _allowed_value(entity: str, value: Any) -> bool:
    check = PAYLOAD_ENTITIES.get(entity)
    return check is not None and isinstance(value, str) and check(value)


def guard_payload(text: str, intents: Optional[FrozenSet[str]] = None) -> str:
    """``text`` unless Rasa would read it as a payload a citizen may not send.

    A payload of a citizen intent comes back in canonical form with only the
    entities a button could carry; any other "/..." text loses its leading
    slashes, so NLU reads it as words and no intent, entity or slot is forced.
    """
    if not text.lstrip().startswith("/"):
        return text
    stripped = text.strip()
    match = _PAYLOAD.match(stripped)
    intents = contract.citizen_intents() if intents is None else intents
    if match and match.group("intent") in intents:
        entities: Dict[str, Any] = {}
        if match.group("entities"):
            try:
                given = json.loads(match.group("entities"))
            except (ValueError, RecursionError):
                given = None
            if isinstance(given, dict):
                entities = {k: v for k, v in given.items() if _allowed_value(k, v)}
        suffix = json.dumps(entities, ensure_ascii=False, separators=(",", ":")) if entities else ""
        return f"/{match.group('intent')}{suffix}"
    return stripped.lstrip("/").strip()
