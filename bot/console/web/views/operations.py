"""Operators' endpoints of the console: /health, /ready, /metrics.

Open without a session (a load balancer or Prometheus has none) and they
disclose nothing: check names and states, and process-level figures.
"""
from __future__ import annotations

from aiohttp import web

from bot.console.web.keys import DB, READER
from dichvucong import health, metrics

routes = web.RouteTableDef()


@routes.get("/health")
async def alive(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/ready")
async def ready(request: web.Request) -> web.Response:
    status, body = await health.run({
        "console_database": health.database(request.app[DB].engine),
        "tracker_store": health.database(request.app[READER].engine),
    })
    return web.json_response(body, status=status)


@routes.get("/metrics")
async def metrics_endpoint(request: web.Request) -> web.Response:
    body, content_type = metrics.exposition()
    # aiohttp wants the charset apart from the media type.
    media, _, _ = content_type.partition(";")
    return web.Response(body=body, content_type=media, charset="utf-8")
