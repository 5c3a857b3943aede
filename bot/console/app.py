"""The console's web application (aiohttp): pages for staff and a JSON API.

Every route except /login and /static/ needs a session: pages redirect to
/login, the API answers 401. Every POST carries the session's CSRF token (a
form field or the X-CSRF-Token header) and must come from this origin;
otherwise 403. Trainer-only actions answer 403 to reviewers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import math
import re
import secrets
import urllib.parse
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional

import jinja2
import yaml
from aiohttp import web

from actions.dossiers.models import VIETNAM_TZ
from actions.knowledge_base import PROCEDURE_IDS
from bot.console import analytics as analytics_module
from bot.console import charts, nludata, review, transcripts
from bot.console.auth import Accounts, Authenticated, AuthError, LoginThrottled, csrf_ok
from bot.console.db import DECISION_LABELS, ROLE_LABELS, Database
from bot.console.settings import ROOT, Settings
from bot.console.training import (
    Trainer,
    TrainingError,
    current_status,
    job_dict,
    version_dict,
)

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COOKIE = "console_session"
LOGIN_COOKIE = "console_login_csrf"
PAGE_SIZE = 50
INBOX_PAGE_SIZE = 25

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
ACCOUNTS = web.AppKey("accounts", Accounts)
TRAINER = web.AppKey("trainer", Trainer)
READER = web.AppKey("reader", transcripts.TrackerReader)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
AUTH = "console_auth"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --- helpers ------------------------------------------------------------------------


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def fmt_time(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M")


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else charts.percent(value)


def fmt_delta(value: float | None) -> str:
    if value is None:
        return "—"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return sign + f"{abs(value) * 100:.1f}".replace(".", ",")


@functools.lru_cache(maxsize=1)
def procedure_labels() -> Dict[str, str]:
    labels = {}
    for pid in PROCEDURE_IDS:
        path = ROOT / "data" / "procedures" / f"{pid}.yml"
        try:
            labels[pid] = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(
                "short_name"
            ) or pid
        except (OSError, yaml.YAMLError):
            labels[pid] = pid
    return labels


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        time=fmt_time,
        pct=fmt_pct,
        delta=fmt_delta,
        procedure=lambda pid: procedure_labels().get(pid, pid or "—"),
        conf=lambda c: "—" if c is None else f"{c:.2f}".replace(".", ","),
        quote=lambda s: urllib.parse.quote(str(s), safe=""),
    )
    env.globals.update(
        PROCEDURES=PROCEDURE_IDS,
        ROLE_LABELS=ROLE_LABELS,
        DECISION_LABELS=DECISION_LABELS,
        REASON_LABELS=transcripts.REASON_LABELS,
    )
    return env


async def blocking(function, *args, **kwargs):
    """Run slow work (hashing, subprocesses, big scans) off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(function, *args, **kwargs))


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


def forbidden(request: web.Request, message: str) -> web.Response:
    if is_api(request):
        return json_error(403, message)
    return render(request, "error.html", status=403, title="Không có quyền", message=message)


def trainer_only(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if not request[AUTH].is_trainer:
            return forbidden(
                request, "Chỉ người huấn luyện (vai trò trainer) mới được làm việc này."
            )
        return await handler(request)

    return wrapper


async def form_or_json(request: web.Request) -> Dict[str, Any]:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
    return dict(await request.post())


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        # Browsers send Origin on every cross-site POST; its absence means a
        # same-origin navigation or a non-browser client (curl, tests).
        return origin is None
    parsed = urllib.parse.urlsplit(origin)
    return parsed.netloc == request.host


# --- middlewares -----------------------------------------------------------------------


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


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
    if request.path.startswith("/static/") or request.path == "/login":
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
        if not _same_origin(request) or not csrf_ok(auth.csrf_token, given):
            message = "Yêu cầu bị từ chối: thiếu hoặc sai mã chống giả mạo (CSRF). Hãy tải lại trang."
            if is_api(request):
                return json_error(403, message)
            return render(request, "error.html", status=403, title="Yêu cầu bị từ chối",
                          message=message)
    return await handler(request)


# --- login -----------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request, "login.html", login_csrf=token, next=safe_next(request.query.get("next")),
        error=None, username="",
    )
    _set_login_cookie(request, response, token)
    return response


def _set_login_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="Strict", path="/login", max_age=3600,
        secure=request.app[SETTINGS].secure_cookie,
    )


async def login_submit(request: web.Request) -> web.Response:
    form = await request.post()
    expected = request.cookies.get(LOGIN_COOKIE)
    next_url = safe_next(form.get("next"))
    username = str(form.get("username") or "")
    if not _same_origin(request) or not csrf_ok(expected, form.get("csrf_token")):
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
        response = render(
            request, "login.html", status=status, login_csrf=expected, next=next_url,
            error=str(error), username=username,
        )
        return response
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


# --- transcripts -------------------------------------------------------------------------


def _page(request: web.Request) -> int:
    try:
        return max(1, int(request.query.get("page", "1")))
    except ValueError:
        return 1


def _query_without_page(request: web.Request) -> str:
    return urllib.parse.urlencode([(k, v) for k, v in request.query.items() if k != "page"])


async def conversations_view(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    filters = transcripts.filters_from(dict(request.query))
    error = None
    try:
        found, channels = await blocking(
            transcripts.conversations, request.app[READER], filters, settings.low_confidence
        )
    except transcripts.TrackerUnavailable as unavailable:
        found, channels, error = [], [], str(unavailable)
    page = _page(request)
    pages = max(1, math.ceil(len(found) / PAGE_SIZE))
    shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    if is_api(request):
        if error:
            return json_error(503, error)
        return web.json_response(
            {
                "total": len(found),
                "page": page,
                "pages": pages,
                "channels": channels,
                "conversations": [transcripts.summary_dict(c) for c in shown],
            }
        )
    return render(
        request, "conversations.html", conversations=shown, total=len(found), page=page,
        pages=pages, filters=filters, channels=channels, error=error,
        base_query=_query_without_page(request), title="Hội thoại",
    )


async def conversation_view(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    try:
        key = int(request.match_info["key"])
    except ValueError:
        raise web.HTTPNotFound() from None
    try:
        rows = await blocking(request.app[READER].conversation, key)
    except transcripts.TrackerUnavailable as unavailable:
        if is_api(request):
            return json_error(503, str(unavailable))
        return render(request, "error.html", status=503, title="Không đọc được hội thoại",
                      message=str(unavailable))
    if not rows:
        if is_api(request):
            return json_error(404, "Không có hội thoại này.")
        return render(request, "error.html", status=404, title="Không tìm thấy",
                      message="Không có hội thoại này.")
    conversation = transcripts.build(rows, settings.low_confidence)
    annotations = review.annotations_for(
        request.app[DB], [m.event_id for m in conversation.messages if m.kind == "user"]
    )
    if is_api(request):
        return web.json_response(
            {
                **transcripts.summary_dict(conversation),
                "messages": [
                    {
                        **transcripts.message_dict(m),
                        "annotation": review.annotation_dict(annotations[m.event_id])
                        if m.event_id in annotations else None,
                    }
                    for m in conversation.messages
                ],
            }
        )
    return render(
        request, "conversation.html", conversation=conversation, annotations=annotations,
        intents=nludata.reviewable_intents(settings), title="Hội thoại",
    )


# --- review ------------------------------------------------------------------------------


async def inbox_view(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    filters = transcripts.filters_from(dict(request.query))
    show = request.query.get("show", "open")
    if show not in ("open", "done", "all"):
        show = "open"
    error = None
    try:
        items = await blocking(
            review.inbox, request.app[READER], request.app[DB], filters.start, filters.end,
            settings.low_confidence, show=show,
        )
    except transcripts.TrackerUnavailable as unavailable:
        items, error = [], str(unavailable)
    page = _page(request)
    pages = max(1, math.ceil(len(items) / INBOX_PAGE_SIZE))
    shown = items[(page - 1) * INBOX_PAGE_SIZE : page * INBOX_PAGE_SIZE]
    if is_api(request):
        if error:
            return json_error(503, error)
        return web.json_response(
            {
                "total": len(items),
                "page": page,
                "pages": pages,
                "items": [
                    {
                        **transcripts.message_dict(i.message),
                        "conversation_key": i.conversation_key,
                        "annotation": review.annotation_dict(i.annotation)
                        if i.annotation else None,
                    }
                    for i in shown
                ],
            }
        )
    return render(
        request, "review.html", items=shown, total=len(items), page=page, pages=pages,
        show=show, filters=filters, error=error, counts=review.counts(request.app[DB]),
        intents=nludata.reviewable_intents(settings), base_query=_query_without_page(request),
        title="Hộp duyệt",
    )


async def annotate(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    auth: Authenticated = request[AUTH]
    body = await form_or_json(request)
    back = safe_next(str(body.get("next") or ""), "/review")
    try:
        event_id = int(request.match_info["event_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    intent = str(body.get("new_intent") or "").strip() or str(body.get("intent") or "")
    try:
        annotation = await blocking(
            review.annotate,
            request.app[READER],
            request.app[DB],
            event_id,
            decision=str(body.get("decision") or ""),
            intent=intent,
            procedure=str(body.get("procedure") or ""),
            user_id=auth.user_id,
            username=auth.username,
            known_intents=nludata.reviewable_intents(settings),
            low_confidence=settings.low_confidence,
        )
    except (review.ReviewError, transcripts.TrackerUnavailable) as error:
        return failed(request, back, str(error))
    label = DECISION_LABELS[annotation.decision]
    detail = f" → {annotation.intent}" if annotation.intent else ""
    return done(
        request, back, f"Đã lưu: {label}{detail}.",
        data={"annotation": review.annotation_dict(annotation)},
    )


# --- training data -------------------------------------------------------------------------


@trainer_only
async def export(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    try:
        report = await blocking(nludata.export_reviewed, request.app[DB], settings)
    except nludata.DataError as error:
        return failed(request, "/training", str(error), status=422)
    return done(request, "/training", report.summary(), data={"export": report.as_dict()})


async def intents_view(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    known = nludata.reviewable_intents(settings)
    custom = nludata.custom_intents(settings)
    pending = review.pending_new_intents(request.app[DB], known)
    if is_api(request):
        return web.json_response(
            {
                "intents": known,
                "custom": [c.__dict__ for c in custom],
                "pending": [{"intent": i, "messages": n} for i, n in pending],
            }
        )
    prefill = request.query.get("name", "")
    return render(
        request, "intents.html", known=known, custom=custom, pending=pending,
        form={"name": prefill, "examples": "", "response": ""}, error=None, title="Ý định",
    )


@trainer_only
async def create_intent(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    auth: Authenticated = request[AUTH]
    body = await form_or_json(request)
    examples = body.get("examples") or ""
    if isinstance(examples, list):
        examples = "\n".join(str(e) for e in examples)
    name, response = str(body.get("name") or ""), str(body.get("response") or "")
    try:
        created = await blocking(
            nludata.create_intent, settings, name, str(examples), response, auth.username
        )
    except nludata.DataError as error:
        if is_api(request):
            return json_error(422, str(error))
        known = nludata.reviewable_intents(settings)
        return render(
            request, "intents.html", status=422, known=known,
            custom=nludata.custom_intents(settings),
            pending=review.pending_new_intents(request.app[DB], known),
            form={"name": name, "examples": examples, "response": response},
            error=str(error), title="Ý định",
        )
    return done(
        request, "/intents",
        f"Đã tạo ý định {created.name} với {len(created.examples)} câu ví dụ. "
        "Hãy “Huấn luyện và so sánh” để đưa vào mô hình.",
        data={"intent": created.__dict__}, status=201,
    )


# --- training and models -----------------------------------------------------------------------


async def training_view(request: web.Request) -> web.Response:
    trainer = request.app[TRAINER]
    jobs = await blocking(trainer.jobs)
    versions = await blocking(trainer.versions)
    current = await blocking(current_status, trainer)
    if is_api(request):
        return web.json_response(
            {
                "current": current,
                "jobs": [job_dict(j) for j in jobs],
                "versions": [version_dict(v) for v in versions],
            }
        )
    running = next((j for j in jobs if j.status in ("queued", "running")), None)
    return render(
        request, "training.html", jobs=jobs, versions=versions, current=current,
        running=running, counts=review.counts(request.app[DB]),
        reviewed_file=str(_relative(request.app[SETTINGS].reviewed_file)),
        title="Huấn luyện và mô hình",
    )


def _relative(path: Path) -> Path:
    try:
        return path.relative_to(ROOT)
    except ValueError:
        return path


@trainer_only
async def train(request: web.Request) -> web.Response:
    auth: Authenticated = request[AUTH]
    try:
        job = await blocking(request.app[TRAINER].start_background, auth.username)
    except TrainingError as error:
        return failed(request, "/training", str(error), status=409)
    return done(
        request, f"/training/jobs/{job.id}",
        f"Đã bắt đầu công việc huấn luyện #{job.id}.", data={"job": job_dict(job)}, status=202,
    )


async def job_view(request: web.Request) -> web.Response:
    try:
        job_id = int(request.match_info["job_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    trainer = request.app[TRAINER]
    job = await blocking(trainer.job, job_id)
    if job is None:
        if is_api(request):
            return json_error(404, "Không có công việc này.")
        return render(request, "error.html", status=404, title="Không tìm thấy",
                      message="Không có công việc huấn luyện này.")
    if is_api(request):
        return web.json_response(job_dict(job))
    version = await blocking(trainer.version, job.version) if job.version else None
    return render(request, "job.html", job=job, version=version,
                  title=f"Công việc huấn luyện #{job.id}")


def _model_action(action: str):
    @trainer_only
    async def handler(request: web.Request) -> web.Response:
        auth: Authenticated = request[AUTH]
        version_id = request.match_info["version"]
        trainer = request.app[TRAINER]
        back = safe_next(str((await form_or_json(request)).get("next") or ""), "/training")
        try:
            if action == "discard":
                row = await blocking(trainer.discard, version_id, auth.username)
                return done(request, back, f"Đã bỏ phiên bản ứng viên {row.id}.",
                            data={"version": version_dict(row)})
            method = trainer.promote if action == "promote" else trainer.rollback
            row, message, reloaded = await blocking(method, version_id, auth.username)
        except TrainingError as error:
            return failed(request, back, str(error), status=409)
        verb = "Đã đưa phiên bản" if action == "promote" else "Đã quay lại phiên bản"
        return done(
            request, back, f"{verb} {row.id} vào dùng. {message}",
            data={"version": version_dict(row), "rasa_reloaded": reloaded,
                  "rasa_message": message},
            kind="ok" if reloaded else "warning",
        )

    return handler


# --- analytics -------------------------------------------------------------------------------


async def overview(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    filters = transcripts.filters_from(dict(request.query))
    today = dt.datetime.now(VIETNAM_TZ).date()
    start = filters.start or today - dt.timedelta(days=29)
    end = filters.end or today
    if end < start:
        start, end = end, start
    error = None
    try:
        figures = await blocking(
            analytics_module.compute, request.app[READER], start, end, settings.low_confidence
        )
    except transcripts.TrackerUnavailable as unavailable:
        figures, error = analytics_module.Analytics(start, end), str(unavailable)
    if is_api(request):
        if error:
            return json_error(503, error)
        return web.json_response(figures.as_dict())
    labels = procedure_labels()
    days = figures.days()
    graphs = {
        "per_day": charts.bar_chart(
            [(d.strftime("%d/%m"), figures.per_day.get(d, 0)) for d in days],
            "Số hội thoại mỗi ngày",
        ),
        "fallback_per_day": charts.line_chart(
            [
                (
                    d.strftime("%d/%m"),
                    (figures.fallback_per_day[d][1] / figures.fallback_per_day[d][0])
                    if figures.fallback_per_day.get(d, (0, 0))[0] else None,
                )
                for d in days
            ],
            "Tỉ lệ phải hỏi lại mỗi ngày",
            max_value=1.0,
        ),
        "intents": charts.hbar_chart(figures.intents.most_common(10), "Ý định được hỏi nhiều nhất"),
        "procedures": charts.hbar_chart(
            [(labels.get(p, p), n) for p, n in figures.procedures.most_common(12)],
            "Thủ tục được hỏi nhiều nhất",
            css="bar alt",
        ),
        "ratings": charts.hbar_chart(
            [("👍 Hữu ích", figures.ratings_up), ("👎 Chưa đúng", figures.ratings_down)],
            "Đánh giá câu trả lời",
            css="bar rating",
            label_width=120,
            width=420,
        ),
    }
    return render(
        request, "overview.html", figures=figures, graphs=graphs, start=start, end=end,
        error=error, title="Tổng quan",
    )


# --- application -------------------------------------------------------------------------------


async def _not_found(request: web.Request) -> web.Response:
    if is_api(request):
        return json_error(404, "Không có địa chỉ này.")
    return render(request, "error.html", status=404, title="Không tìm thấy",
                  message="Không có trang này.")


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
    app[READER] = transcripts.TrackerReader(settings.tracker_url, settings.tracker_db)
    app[TEMPLATES] = templates()

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

    routes = [
        web.get("/login", login_page),
        web.post("/login", login_submit),
        web.post("/logout", logout),
        web.get("/", overview),
        web.get("/conversations", conversations_view),
        web.get("/conversations/{key}", conversation_view),
        web.get("/review", inbox_view),
        web.post("/review/{event_id}", annotate),
        web.get("/intents", intents_view),
        web.post("/intents", create_intent),
        web.get("/training", training_view),
        web.post("/training/export", export),
        web.post("/training/train", train),
        web.get("/training/jobs/{job_id}", job_view),
        web.post("/models/{version}/promote", _model_action("promote")),
        web.post("/models/{version}/rollback", _model_action("rollback")),
        web.post("/models/{version}/discard", _model_action("discard")),
        # The same actions as JSON for scripts and the page's progress bar.
        web.get("/api/me", me),
        web.get("/api/conversations", conversations_view),
        web.get("/api/conversations/{key}", conversation_view),
        web.get("/api/review", inbox_view),
        web.post("/api/review/{event_id}", annotate),
        web.get("/api/analytics", overview),
        web.get("/api/intents", intents_view),
        web.post("/api/intents", create_intent),
        web.post("/api/export", export),
        web.get("/api/training", training_view),
        web.post("/api/train", train),
        web.get("/api/jobs/{job_id}", job_view),
        web.post("/api/models/{version}/promote", _model_action("promote")),
        web.post("/api/models/{version}/rollback", _model_action("rollback")),
        web.post("/api/models/{version}/discard", _model_action("discard")),
        web.static("/static", str(HERE / "static"), append_version=False),
    ]
    app.add_routes(routes)
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app


def run(settings: Settings) -> None:
    app = create_app(settings)
    # The address first: `make console` users look for it, not for migration logs.
    print(f"Bảng điều khiển cho cán bộ: {settings.url}", flush=True)
    print("Tạo tài khoản: python -m bot.console users add TÊN --role reviewer|trainer",
          flush=True)
    web.run_app(app, host=settings.host, port=settings.port, print=None,
                access_log_format='%a "%r" %s %b %Tf')

