import os

# Set before anything imports rasa or tensorflow.
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("ASSISTANT_TODAY", "2026-11-26")

from typing import Any, Dict  # noqa: E402

import pytest  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

from dichvucong.knowledge.base import default_knowledge_base  # noqa: E402


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
