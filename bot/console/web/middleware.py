"""What every request goes through: security headers, then the session and CSRF checks.

Every route except /login and /static/ needs a session: pages redirect to
/login, the API answers 401. Every POST carries the session's CSRF token (a
form field or the X-CSRF-Token header) and must come from this origin;
otherwise 403.
"""

from __future__ import annotations

import urllib.parse

from aiohttp import web

from bot.console.auth import csrf_ok
from bot.console.web.keys import ACCOUNTS, AUTH, COOKIE
from bot.console.web.responses import Handler, blocking, error_response, is_api, json_error

# Without a session: the login page, and the operators' probes (views/operations.py).
OPEN_PATHS = frozenset({"/login", "/health", "/ready", "/metrics"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
CSRF_REFUSED = "Yêu cầu bị từ chối: thiếu hoặc sai mã chống giả mạo (CSRF). Hãy tải lại trang."


def same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        # Browsers send Origin on every cross-site POST; its absence means a
        # same-origin navigation or a non-browser client (curl, tests).
        return origin is None
    parsed = urllib.parse.urlsplit(origin)
    return parsed.netloc == request.host


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        # Redirects and errors raised as exceptions get the same headers.
        response = error
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/static/") or request.path in OPEN_PATHS:
        return await handler(request)
    auth = await blocking(request.app[ACCOUNTS].authenticate, request.cookies.get(COOKIE))
    if auth is None:
        if is_api(request):
            return json_error(401, "Cần đăng nhập.")
        if request.method != "GET":
            raise web.HTTPSeeOther("/login")
        raise web.HTTPSeeOther("/login?next=" + urllib.parse.quote(request.path_qs, safe=""))
    request[AUTH] = auth
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        given = request.headers.get("X-CSRF-Token")
        if given is None and request.content_type != "application/json":
            given = (await request.post()).get("csrf_token")
        if not same_origin(request) or not csrf_ok(auth.csrf_token, given):
            return error_response(request, 403, "Yêu cầu bị từ chối", CSRF_REFUSED)
    return await handler(request)
