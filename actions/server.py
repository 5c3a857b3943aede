"""The action server: rasa_sdk's app, on loopback, answering only the Rasa server.

``rasa run actions`` listens on every interface with no authentication and
CORS open to any origin: anyone who can reach the port (or a web page in a
citizen's browser on the same machine) could post a forged tracker to
``/webhook`` and have ``action_dossier_status`` read a dossier for a
"verified" slot that no second factor ever set. Here:

* the server binds 127.0.0.1 unless ``ACTION_INTERFACE`` says otherwise, and
  refuses to bind anything else without a token;
* with ``ACTION_SERVER_TOKEN`` set, every call but ``/health`` must carry it in
  the ``X-Action-Token`` header (``endpoints.yml`` sends it);
* CORS is off and errors do not echo the request body (the tracker).

It also serves ``/ready`` (the dossier database and the knowledge base) and
``/metrics`` (Prometheus), counts the actions it runs, and binds each call to
the correlation id the channel gave the citizen's message, so its log lines
can be joined with the Rasa server's.

    python -m actions.server [--port 5055] [--interface 127.0.0.1]
"""
from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from typing import Optional

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request

from dichvucong import health, jsonlog, keys, logsafety, metrics
from dichvucong.knowledge.base import default_knowledge_base
from dichvucong.settings import settings

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Action-Token"
OPEN_PATHS = frozenset({"/health", "/ready", "/metrics"})


def is_loopback(interface: str) -> bool:
    if interface == "localhost":
        return True
    try:
        return ipaddress.ip_address(interface).is_loopback
    except ValueError:
        return False


def _observe(request: Request) -> None:
    """Bind the call to its correlation id and count the action it asks for."""
    try:
        body = request.json
    except Exception:  # rasa_sdk answers a malformed body itself
        return
    if not isinstance(body, dict):
        return
    tracker = body.get("tracker")
    events = tracker.get("events") if isinstance(tracker, dict) else None
    jsonlog.bind(jsonlog.from_events(events if isinstance(events, list) else []))
    if isinstance(body.get("next_action"), str):
        metrics.action_ran(body["next_action"])
        logger.info("action server: running %s", body["next_action"][:60])


def _dossier_engine():
    # Imported here: the action package is only loaded by rasa_sdk's create_app.
    from actions.dossier_lookup import repository

    return repository().engine


def _add_operator_routes(app: Sanic) -> None:
    @app.get("/ready")
    async def ready(request: Request):
        status, body = await health.run({
            "dossier_database": lambda: health.database(_dossier_engine())(),
            "knowledge_base": health.truthy(
                lambda: len(default_knowledge_base().procedures) > 0, "empty"),
        })
        return response.json(body, status=status)

    @app.get("/metrics")
    async def metrics_endpoint(request: Request):
        body, content_type = metrics.exposition()
        return response.raw(body, content_type=content_type)


def build_app(token: Optional[str], package: str = "actions") -> Sanic:
    app = create_app(package, cors_origins="")
    _add_operator_routes(app)

    @app.on_request
    async def authenticate(request: Request):
        if not token or request.path in OPEN_PATHS:
            return None
        given = request.headers.get(TOKEN_HEADER) or ""
        if not keys.same_secret(given, token):
            metrics.REFUSED.labels("action_server", "token").inc()
            return response.json({"error": "unauthorized"}, status=401)
        if request.path == "/webhook":
            _observe(request)
        return None

    async def failed(request: Request, exception: Exception):
        # rasa_sdk's own handler returns the whole tracker in the error body.
        logger.error("action server: request failed", exc_info=exception)
        metrics.ERRORS.labels("action_server").inc()
        return response.json({"error": "action failed"}, status=500)

    app.error_handler.add(Exception, failed)
    return app


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    config = settings().action_server
    parser.add_argument("--port", type=int, default=config.port)
    parser.add_argument("--interface", default=config.interface)
    args = parser.parse_args(argv)
    token = config.token or None
    if not is_loopback(args.interface) and not token:
        print(
            f"Refusing to listen on {args.interface} without ACTION_SERVER_TOKEN: anyone "
            "reaching the port could ask for any dossier.",
            file=sys.stderr,
        )
        return 2
    logsafety.install()
    utils.configure_colored_logging(config.log_level)
    jsonlog.use_json("actions", settings().operations.json_logs)
    app = build_app(token)
    logger.info("action server on %s:%s (token %s)", args.interface, args.port,
                "required" if token else "not set")
    app.run(args.interface, args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
