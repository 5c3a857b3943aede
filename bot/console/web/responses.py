"""What handlers answer with: pages, JSON, notices after actions, errors, pagination.

Most routes serve both a page and the JSON API (``/api/…``); the helpers here
pick the form from the path, so that a handler says what happened once.
Also ``safe_next``: the only way a handler turns a client-given address into
a redirect.
"""

from __future__ import annotations

import asyncio
import functools
import math
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional

from aiohttp import web

from bot.console.auth import Authenticated
from bot.console.web.keys import ACCOUNTS, AUTH, TEMPLATES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


async def blocking(function, *args, **kwargs):
    """Run slow work (hashing, subprocesses, big scans) off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(function, *args, **kwargs))


# --- redirects to client-given addresses ----------------------------------------------

# ASCII controls, space and backslash; other Unicode whitespace is checked with isspace().
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\]")
_MAX_DECODINGS = 8


def _local_path(form: str) -> bool:
    """One leading "/" not followed by another "/" or "\\", nothing a browser would drop
    or reinterpret, and nothing ``urlsplit`` reads as a scheme or a host."""
    if not form.startswith("/") or form.startswith("//"):
        return False
    if _UNSAFE_CHARS.search(form) or any(c.isspace() for c in form):
        return False
    parts = urllib.parse.urlsplit(form)
    return not parts.scheme and not parts.netloc


def safe_next(value: str | None, default: str = "/") -> str:
    r"""Only the console's own paths, else ``default``: a crafted link must not send
    staff to another site after login. Browsers drop tabs and newlines and read "\"
    as "/", so ``/\t/evil.example`` or ``/\evil.example`` would leave the site, and so
    would their percent-encoded forms (``/%09/evil.example``, ``/%2F%2Fevil.example``)
    once something decodes them; the value and each decoding of it must be local."""
    if not value or not isinstance(value, str):
        return default
    form = value
    for _ in range(_MAX_DECODINGS):
        if not _local_path(form):
            return default
        decoded = urllib.parse.unquote(form)
        if decoded == form:
            return value
        form = decoded
    return default  # still changing after this many decodings: not a link of ours


# --- answers ----------------------------------------------------------------------------


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def render(request: web.Request, name: str, status: int = 200, **context) -> web.Response:
    env = request.app[TEMPLATES]
    auth: Optional[Authenticated] = request.get(AUTH)
    context.setdefault("flash", auth.flash if auth else [])
    body = env.get_template(name).render(
        auth=auth,
        csrf=auth.csrf_token if auth else "",
        path=request.path,
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def error_response(
    request: web.Request, status: int, title: str, message: str, api_message: str | None = None
) -> web.Response:
    """The error page, or ``{"error": …}`` for the API (``api_message`` if it differs)."""
    if is_api(request):
        return json_error(status, api_message or message)
    return render(request, "error.html", status=status, title=title, message=message)


def forbidden(request: web.Request, message: str) -> web.Response:
    return error_response(request, 403, "Không có quyền", message)


def flash(request: web.Request, kind: str, text: str) -> None:
    auth: Authenticated = request[AUTH]
    request.app[ACCOUNTS].add_flash(auth.session_id, kind, text)


def done(
    request: web.Request,
    redirect: str,
    message: str,
    *,
    data: Dict[str, Any] | None = None,
    kind: str = "ok",
    status: int = 200,
) -> web.Response:
    """The answer to a successful action: JSON for the API, a redirect with a notice for pages."""
    if is_api(request):
        return web.json_response({"ok": kind != "error", "message": message, **(data or {})},
                                 status=status)
    flash(request, kind, message)
    raise web.HTTPSeeOther(redirect)


def failed(request: web.Request, redirect: str, message: str, status: int = 400):
    if is_api(request):
        return json_error(status, message)
    flash(request, "error", message)
    raise web.HTTPSeeOther(redirect)


def trainer_only(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if not request[AUTH].is_trainer:
            return forbidden(
                request, "Chỉ người huấn luyện (vai trò trainer) mới được làm việc này."
            )
        return await handler(request)

    return wrapper


# --- reading requests -------------------------------------------------------------------


async def form_or_json(request: web.Request) -> Dict[str, Any]:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
    return dict(await request.post())


def int_in_path(request: web.Request, name: str) -> int:
    """An integer from the route (``/conversations/{key}``); 404 when it is not one."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise web.HTTPNotFound() from None


@dataclass
class Page:
    """One page of a long list, and the query string to link to the others."""

    items: List[Any]
    number: int
    pages: int
    total: int
    base_query: str

    def as_dict(self) -> Dict[str, int]:
        return {"total": self.total, "page": self.number, "pages": self.pages}


def paginate(request: web.Request, items: List[Any], size: int) -> Page:
    try:
        number = max(1, int(request.query.get("page", "1")))
    except ValueError:
        number = 1
    base_query = urllib.parse.urlencode([(k, v) for k, v in request.query.items() if k != "page"])
    return Page(
        items=items[(number - 1) * size : number * size],
        number=number,
        pages=max(1, math.ceil(len(items) / size)),
        total=len(items),
        base_query=base_query,
    )
