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
from tests.support.postgres import postgres_server  # noqa: E402,F401  (a shared fixture)

# Tests are laid out by what they need; each folder is also a marker, so
# `pytest -m unit` (make test-unit) needs no model, PostgreSQL or Chromium.
TIERS = ("unit", "integration", "browser")


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = item.path.parts
        for tier in TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


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
    from tests.support.servers import MODEL, Assistant

    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test trains it first)")
    running = Assistant(tmp_path_factory.mktemp("assistant")).start()
    yield running
    running.stop()
