import os

# Set before anything imports rasa or tensorflow.
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("ASSISTANT_TODAY", "2026-11-26")

import copy  # noqa: E402
from typing import Any, Dict, List  # noqa: E402

import pytest  # noqa: E402
from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

from dichvucong.knowledge.base import default_knowledge_base  # noqa: E402

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


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture
def domain() -> Dict[str, Any]:
    return {}


@pytest.fixture(scope="session")
def kb():
    return default_knowledge_base()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory):
    """The real assistant (trained model, action server, SQLite tracker) over HTTP."""
    from tests.servers import MODEL, Assistant

    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test trains it first)")
    running = Assistant(tmp_path_factory.mktemp("assistant")).start()
    yield running
    running.stop()
