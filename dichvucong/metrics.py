"""Prometheus metrics, one registry per process.

Every process (Rasa server, action server, staff console) counts what it
sees and serves it at ``/metrics``; Prometheus scrapes each process, so no
shared state is needed between replicas. Labels are closed sets (channel
names, action names, outcomes): never a sender id, a code or a text, which
would leak personal data and grow without bound.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator, Tuple

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

REGISTRY = CollectorRegistry(auto_describe=True)
process_collector.ProcessCollector(registry=REGISTRY)
platform_collector.PlatformCollector(registry=REGISTRY)
gc_collector.GCCollector(registry=REGISTRY)

# A turn is one citizen message through NLU, policies and actions; the
# buckets bracket the 150 ms target and a slow action at a few seconds.
_TURN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

MESSAGES = Counter(
    "assistant_messages", "Citizen messages handed to the assistant.", ["channel"],
    registry=REGISTRY,
)
TURN_SECONDS = Histogram(
    "assistant_turn_seconds", "Time to process one citizen message.", ["channel"],
    buckets=_TURN_BUCKETS, registry=REGISTRY,
)
ERRORS = Counter(
    "assistant_errors", "Failures contained to one request.", ["component"],
    registry=REGISTRY,
)
REFUSED = Counter(
    "assistant_refused_requests", "Inbound requests refused before Rasa saw them.",
    ["channel", "reason"], registry=REGISTRY,
)
ACTIONS = Counter(
    "assistant_actions", "Custom actions run by the action server.", ["action"],
    registry=REGISTRY,
)
FALLBACKS = Counter(
    "assistant_fallbacks", "Messages the assistant did not understand.", registry=REGISTRY,
)
HANDOFFS = Counter(
    "assistant_handoffs", "Requests to talk to a member of staff.", registry=REGISTRY,
)
LOOKUPS = Counter(
    "assistant_dossier_lookups", "Second-factor checks of a dossier lookup.", ["outcome"],
    registry=REGISTRY,
)
LOCKOUTS = Counter(
    "assistant_lockouts", "Throttle scopes that became locked.", ["scope"], registry=REGISTRY,
)

# Which action stands for which operator-level event.
FALLBACK_ACTIONS = frozenset({"action_clarify"})
HANDOFF_ACTIONS = frozenset({"action_handoff"})


def scope_kind(scope: str) -> str:
    """The closed label for a throttle key ("code:ABC" -> "code")."""
    kind = scope.split(":", 1)[0]
    return kind if kind.isidentifier() and len(kind) <= 20 else "other"


def action_ran(name: str) -> None:
    """Count one action, and the fallback or handoff it stands for."""
    ACTIONS.labels(name if name.startswith(("action_", "utter_")) and len(name) <= 60 else "other").inc()
    if name in FALLBACK_ACTIONS:
        FALLBACKS.inc()
    if name in HANDOFF_ACTIONS:
        HANDOFFS.inc()


@contextmanager
def timed_turn(channel: str) -> Iterator[None]:
    """Count a turn and its duration; an exception is counted and re-raised."""
    MESSAGES.labels(channel).inc()
    start = time.perf_counter()
    try:
        yield
    except BaseException:
        ERRORS.labels(f"channel:{channel}").inc()
        raise
    finally:
        TURN_SECONDS.labels(channel).observe(time.perf_counter() - start)


def exposition() -> Tuple[bytes, str]:
    """The body and content type of a ``/metrics`` response."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
