"""rasa-sdk trackers for action tests, and the texts the domain gives responses."""
from __future__ import annotations

import copy
import functools
from typing import Any, Dict, List

import yaml
from rasa_sdk import Tracker

from dichvucong.settings import PROJECT_ROOT

EMPTY_TRACKER: Dict[str, Any] = {
    "sender_id": "test-user",
    "slots": {"procedure": None, "variants": None, "pending_topic": None},
    "latest_message": {},
    "events": [],
    "paused": False,
    "followup_action": None,
    "active_loop": {},
    "latest_action_name": "action_listen",
}


def make_tracker(
    text: str = "",
    intent: str | None = None,
    entities: List[Dict[str, Any]] | None = None,
    slots: Dict[str, Any] | None = None,
    ranking: List[Dict[str, Any]] | None = None,
    metadata: Dict[str, Any] | None = None,
    sender_id: str | None = None,
    input_channel: str | None = None,
) -> Tracker:
    state = copy.deepcopy(EMPTY_TRACKER)
    state["slots"].update(slots or {})
    state["latest_message"] = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99} if intent else {},
        "entities": entities or [],
        "intent_ranking": ranking or [],
        "metadata": metadata or {},
    }
    if sender_id:
        state["sender_id"] = sender_id
    if input_channel:
        state["events"] = [{"event": "user", "text": text, "input_channel": input_channel}]
    return Tracker.from_dict(state)


def procedure_entity(value: str, start: int = 0, end: int = 1) -> Dict[str, Any]:
    return {"entity": "procedure", "value": value, "start": start, "end": end}


@functools.lru_cache(maxsize=1)
def _responses() -> Dict[str, str]:
    texts: Dict[str, str] = {}
    for path in sorted((PROJECT_ROOT / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, variants in (data.get("responses") or {}).items():
            texts.setdefault(name, next(v["text"] for v in variants if "text" in v))
    return texts


def response_text(name: str, **values: Any) -> str:
    """The domain's text for response ``name``, filled as Rasa fills it."""
    return _responses()[name].format(**values)


def rendered(message: Dict[str, Any]) -> str:
    """What the citizen reads for one dispatcher message."""
    if message.get("response"):
        values = {k: v for k, v in message.items() if k not in ("response", "buttons")}
        values.update(message.get("kwargs") or {})
        return response_text(message["response"], **values)
    return message.get("text") or ""
