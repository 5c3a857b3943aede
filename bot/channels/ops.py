"""Operators' endpoints on the Rasa server: liveness, readiness, metrics.

Listed in credentials.yml like a channel (Rasa has no other hook for extra
routes), but it takes no messages:

GET /webhooks/ops/health   the process is up (cheap, for a supervisor)
GET /webhooks/ops/ready    the model is loaded and the tracker store, the
                           action server and the lock store answer (200/503)
GET /webhooks/ops/metrics  Prometheus metrics of this process

The answers name each check and its state, never a URL or an error text.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.observe import OnNewMessage, install_process_logging
from dichvucong import health, metrics


def _inner(store: Any) -> Any:
    # Rasa wraps the configured tracker store in a FailSafeTrackerStore.
    return getattr(store, "_tracker_store", store)


def checks_for(agent: Any) -> Dict[str, health.Check]:
    checks: Dict[str, health.Check] = {
        "model": health.truthy(lambda: bool(agent and agent.is_ready()), "not loaded"),
    }
    store = _inner(getattr(agent, "tracker_store", None))
    if getattr(store, "engine", None) is not None:
        checks["tracker_store"] = health.database(store.engine)
    else:
        # Rasa falls back to memory, with only a warning, when the configured
        # store cannot be imported: conversations would vanish on restart and
        # skip the redaction. That is not a ready assistant.
        checks["tracker_store"] = health.truthy(lambda: False, "not persistent")
    endpoint = getattr(agent, "action_endpoint", None)
    url = getattr(endpoint, "url", "") or ""
    if url:
        base = url[: -len("/webhook")] if url.endswith("/webhook") else url.rstrip("/")
        checks["action_server"] = health.http_ok(base + "/health")
    redis = getattr(getattr(agent, "lock_store", None), "red", None)
    if redis is not None:
        checks["lock_store"] = redis.ping
    return checks


class OpsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "ops"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        return cls()

    def __init__(self) -> None:
        install_process_logging()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        ops = Blueprint("ops", __name__)

        @ops.route("/health", methods=["GET"])
        async def alive(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @ops.route("/ready", methods=["GET"])
        async def ready(request: Request) -> HTTPResponse:
            status, body = await health.run(checks_for(getattr(request.app.ctx, "agent", None)))
            return response.json(body, status=status)

        @ops.route("/metrics", methods=["GET"])
        async def metrics_endpoint(request: Request) -> HTTPResponse:
            body, content_type = metrics.exposition()
            return response.raw(body, content_type=content_type)

        return ops
