"""Names the web modules share: application keys, the request key and cookie names.

Kept apart from ``app`` so that views and middleware can import them without
importing the application that imports them.
"""

from __future__ import annotations

import jinja2
from aiohttp import web

from bot.console.auth import Accounts
from bot.console.db import Database
from bot.console.settings import Settings
from bot.console.tracker_reader import TrackerReader
from bot.console.training import Trainer

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
ACCOUNTS = web.AppKey("accounts", Accounts)
TRAINER = web.AppKey("trainer", Trainer)
READER = web.AppKey("reader", TrackerReader)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
# request[AUTH]: the signed-in Authenticated, set by the authentication middleware.
AUTH = "console_auth"

COOKIE = "console_session"
LOGIN_COOKIE = "console_login_csrf"
