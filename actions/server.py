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

    python -m actions.server [--port 5055] [--interface 127.0.0.1]
"""
from __future__ import annotations

import argparse
import hmac
import ipaddress
import logging
import sys
from typing import Optional

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request

from dichvucong import logsafety
from dichvucong.settings import settings

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Action-Token"
OPEN_PATHS = frozenset({"/health"})


def is_loopback(interface: str) -> bool:
    if interface == "localhost":
        return True
    try:
        return ipaddress.ip_address(interface).is_loopback
    except ValueError:
        return False


def build_app(token: Optional[str], package: str = "actions") -> Sanic:
    app = create_app(package, cors_origins="")

    @app.on_request
    async def authenticate(request: Request):
        if not token or request.path in OPEN_PATHS:
            return None
        given = request.headers.get(TOKEN_HEADER) or ""
        if not hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8")):
            return response.json({"error": "unauthorized"}, status=401)
        return None

    async def failed(request: Request, exception: Exception):
        # rasa_sdk's own handler returns the whole tracker in the error body.
        logger.error("action server: request failed", exc_info=exception)
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
    app = build_app(token)
    logger.info("action server on %s:%s (token %s)", args.interface, args.port,
                "required" if token else "not set")
    app.run(args.interface, args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
