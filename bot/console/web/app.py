"""Assembling the console's web application (aiohttp) and running it.

The application holds the shared objects (settings, database, accounts,
trainer, tracker reader, templates) under the keys of ``web.keys``; the routes
come from the modules of ``web.views``, the request checks from
``web.middleware``.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.console.auth import Accounts
from bot.console.db import Database
from bot.console.settings import Settings
from bot.console.tracker_reader import TrackerReader
from bot.console.training import Trainer
from bot.console.web.keys import ACCOUNTS, DB, READER, SETTINGS, TEMPLATES, TRAINER
from bot.console.web.middleware import authentication, security_headers
from bot.console.web.responses import blocking, error_response
from bot.console.web.templating import CONSOLE_DIR, STATIC_DIR, templates
from bot.console.web.views import (
    auth,
    conversations,
    handoff,
    intents,
    operations,
    overview,
    quality,
    review,
    training,
)

__all__ = ["CONSOLE_DIR", "create_app", "run"]

logger = logging.getLogger(__name__)

# quality before conversations: /conversations/export must win over /conversations/{key}.
VIEWS = (auth, overview, quality, conversations, review, intents, training, handoff,
         operations)


async def _not_found(request: web.Request) -> web.Response:
    return error_response(request, 404, "Không tìm thấy", "Không có trang này.",
                          "Không có địa chỉ này.")


def create_app(settings: Settings, db: Database | None = None) -> web.Application:
    app = web.Application(middlewares=[security_headers, authentication],
                          client_max_size=2 * 1024 * 1024)
    database = db or Database(settings.database_url, auto_migrate=settings.auto_migrate)
    app[SETTINGS] = settings
    app[DB] = database
    app[ACCOUNTS] = Accounts(
        database,
        session_hours=settings.session_hours,
        idle_minutes=settings.session_idle_minutes,
        max_failures=settings.login_max_failures,
        lock_minutes=settings.login_lock_minutes,
        max_failures_per_ip=settings.login_max_failures_per_ip,
    )
    app[TRAINER] = Trainer(settings, database)
    app[READER] = TrackerReader(settings.tracker_url, settings.tracker_db)
    app[TEMPLATES] = templates()
    handoff.install(app)

    async def on_startup(app: web.Application) -> None:
        interrupted = await blocking(app[TRAINER].mark_interrupted)
        if interrupted:
            logger.warning("%d training job(s) marked as interrupted", interrupted)

    async def on_cleanup(app: web.Application) -> None:
        await blocking(app[TRAINER].shutdown)
        app[READER].dispose()
        if db is None:
            database.dispose()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)

    for view in VIEWS:
        app.add_routes(view.routes)
    app.add_routes([web.static("/static", str(STATIC_DIR), append_version=False)])
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app


def run(settings: Settings) -> None:
    app = create_app(settings)
    # The address first: `make console` users look for it, not for migration logs.
    print(f"Bảng điều khiển cho cán bộ: {settings.url}", flush=True)
    print("Tạo tài khoản: python -m bot.console users add TÊN --role reviewer|trainer|operator",
          flush=True)
    web.run_app(app, host=settings.host, port=settings.port, print=None,
                access_log_format='%a "%r" %s %b %Tf')
