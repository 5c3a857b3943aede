"""Signing in and out: the login form (with its own CSRF cookie), logout, /api/me."""

from __future__ import annotations

import secrets

from aiohttp import web

from bot.console import audit
from bot.console.auth import Authenticated, AuthError, LoginThrottled, csrf_ok
from bot.console.web.keys import ACCOUNTS, AUTH, COOKIE, DB, LOGIN_COOKIE, SETTINGS
from bot.console.web.middleware import same_origin
from bot.console.web.responses import blocking, render, safe_next


def _set_login_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="Strict", path="/login", max_age=3600,
        secure=request.app[SETTINGS].secure_cookie,
    )


async def login_page(request: web.Request) -> web.Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request, "login.html", login_csrf=token, next=safe_next(request.query.get("next")),
        error=None, username="",
    )
    _set_login_cookie(request, response, token)
    return response


async def login_submit(request: web.Request) -> web.Response:
    form = await request.post()
    expected = request.cookies.get(LOGIN_COOKIE)
    next_url = safe_next(form.get("next"))
    username = str(form.get("username") or "")
    if not same_origin(request) or not csrf_ok(expected, form.get("csrf_token")):
        token = secrets.token_urlsafe(32)
        response = render(
            request, "login.html", status=403, login_csrf=token, next=next_url,
            error="Phiên đăng nhập đã hết hạn, vui lòng thử lại.", username=username,
        )
        _set_login_cookie(request, response, token)
        return response
    settings = request.app[SETTINGS]
    try:
        token, _ = await blocking(
            request.app[ACCOUNTS].login, username, str(form.get("password") or ""),
            request.remote,
        )
    except AuthError as error:
        status = 429 if isinstance(error, LoginThrottled) else 401
        await blocking(
            audit.record, request.app[DB], username.strip(), audit.LOGIN_FAILED,
            "throttled" if status == 429 else None, request.remote,
        )
        return render(
            request, "login.html", status=status, login_csrf=expected, next=next_url,
            error=str(error), username=username,
        )
    await blocking(audit.record, request.app[DB], username.strip(), audit.LOGIN, None,
                   request.remote)
    response = web.HTTPSeeOther(next_url)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Strict", path="/",
        max_age=int(settings.session_hours * 3600), secure=settings.secure_cookie,
    )
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


async def logout(request: web.Request) -> web.Response:
    await blocking(request.app[ACCOUNTS].logout, request.cookies.get(COOKIE))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


async def me(request: web.Request) -> web.Response:
    auth: Authenticated = request[AUTH]
    return web.json_response(
        {"username": auth.username, "role": auth.role, "csrf_token": auth.csrf_token}
    )


routes = [
    web.get("/login", login_page),
    web.post("/login", login_submit),
    web.post("/logout", logout),
    web.get("/api/me", me),
]
