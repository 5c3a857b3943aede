"""The operators' pages: the handoff queue, callbacks, and one ticket's conversation.

Only the operator role (``db.OPERATOR_ROLES``) reaches them. Pages post forms and
redirect with a notice; the same routes under ``/api/`` answer JSON, and the
ticket page polls ``/api/handoff/{id}?after=…`` for the citizen's new messages.
A callback's phone number is never put in a redirect notice (notices are stored
with the session): the page that shows it is the answer to the "Xem số" POST.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.console import audit
from bot.console import conversation as conv
from bot.console import handoff as desk_module
from bot.console.auth import Authenticated
from bot.console.handoff import Desk
from bot.console.tracker_reader import TrackerUnavailable
from bot.console.web.keys import AUTH, DB, READER, SETTINGS
from bot.console.web.responses import (
    Handler,
    blocking,
    done,
    error_response,
    failed,
    forbidden,
    form_or_json,
    int_in_path,
    is_api,
    render,
)
from dichvucong.handoff import relay
from dichvucong.handoff.tickets import HandoffError, HandoffNotFound

logger = logging.getLogger(__name__)

DESK = web.AppKey("handoff_desk", Desk)
SWEEP_TASK = web.AppKey("handoff_sweep", asyncio.Task)
OPERATORS_ONLY = "Chỉ cán bộ trả lời người dân (vai trò operator) mới được làm việc này."


def operator_only(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if not request[AUTH].is_operator:
            return forbidden(request, OPERATORS_ONLY)
        return await handler(request)

    return wrapper


def _refused(request: web.Request, back: str, error: HandoffError) -> web.Response:
    status = 404 if isinstance(error, HandoffNotFound) else 409
    return failed(request, back, str(error), status=status)


# --- the queue ------------------------------------------------------------------------


async def _queue_page(request: web.Request, revealed: dict | None = None,
                      error: str | None = None) -> web.Response:
    desk = request.app[DESK]
    lines = await blocking(desk.lines)
    active = await blocking(desk.active)
    callbacks = await blocking(desk.callbacks)
    if is_api(request):
        return web.json_response({
            "queued": [desk_module.ticket_dict(line.ticket, line.position) for line in lines],
            "active": [desk_module.ticket_dict(t) for t in active],
            "callbacks": [desk_module.callback_dict(c) for c in callbacks],
        })
    auth: Authenticated = request[AUTH]
    return render(
        request, "handoff_queue.html", title="Hàng chờ gặp cán bộ", lines=lines,
        active=active, mine=[t for t in active if t.taken_by == auth.username],
        callbacks=callbacks, revealed=revealed or {}, error=error,
        CHANNEL_LABELS=desk_module.CHANNEL_LABELS,
    )


@operator_only
async def queue_view(request: web.Request) -> web.Response:
    return await _queue_page(request)


@operator_only
async def take(request: web.Request) -> web.Response:
    ticket_id = int_in_path(request, "ticket")
    auth: Authenticated = request[AUTH]
    try:
        ticket = await blocking(request.app[DESK].take, ticket_id, auth.username,
                                request.remote)
    except desk_module.DeskError as error:
        return failed(request, f"/handoff/{ticket_id}", str(error), status=502)
    except HandoffError as error:
        return _refused(request, "/handoff", error)
    return done(request, f"/handoff/{ticket_id}",
                f"Bạn đã nhận yêu cầu số {ticket_id}; người dân đã được báo.",
                data={"ticket": desk_module.ticket_dict(ticket)})


# --- one ticket -----------------------------------------------------------------------


@operator_only
async def ticket_view(request: web.Request) -> web.Response:
    ticket_id = int_in_path(request, "ticket")
    desk = request.app[DESK]
    auth: Authenticated = request[AUTH]
    try:
        ticket = await blocking(desk.ticket, ticket_id)
    except HandoffNotFound as error:
        return error_response(request, 404, "Không tìm thấy", str(error))
    try:
        conversation = await blocking(desk.conversation, ticket)
        reader_error = None
    except TrackerUnavailable as unavailable:
        conversation, reader_error = conv.build([], 1.0), str(unavailable)
    position = await blocking(desk.queue.position, ticket.id) if ticket.status == "queued" else 0
    if is_api(request):
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            after = 0
        if reader_error:
            return error_response(request, 503, "Không đọc được hội thoại", reader_error)
        return web.json_response({
            "ticket": desk_module.ticket_dict(ticket, position),
            "mine": ticket.status == "active" and ticket.taken_by == auth.username,
            "messages": desk_module.panel_messages(conversation, after),
        })
    await blocking(audit.record, request.app[DB], auth.username, desk_module.VIEW,
                   f"#{ticket.id}", request.remote)
    procedure = request.query.get("procedure") or ticket.procedure or conversation.procedure_slot
    return render(
        request, "handoff_ticket.html", title=f"Yêu cầu số {ticket.id}", ticket=ticket,
        position=position, messages=desk_module.panel_messages(conversation),
        mine=ticket.status == "active" and ticket.taken_by == auth.username,
        procedure=procedure, slot_procedure=conversation.procedure_slot,
        suggestions=desk_module.suggestions(
            procedure, desk_module.last_question_intent(conversation)),
        reader_error=reader_error, STATUS_LABELS=desk_module.STATUS_LABELS,
        ENDED_LABELS=desk_module.ENDED_LABELS, CHANNEL_LABELS=desk_module.CHANNEL_LABELS,
    )


@operator_only
async def reply(request: web.Request) -> web.Response:
    ticket_id = int_in_path(request, "ticket")
    back = f"/handoff/{ticket_id}"
    body = await form_or_json(request)
    auth: Authenticated = request[AUTH]
    try:
        text = relay.check_message(str(body.get("text") or ""))
    except HandoffError as error:
        return failed(request, back, str(error), status=400)
    try:
        await blocking(request.app[DESK].reply, ticket_id, auth.username, text,
                       request.remote, str(body.get("suggested") or "")[:40])
    except relay.RelayError as error:
        return failed(request, back, str(error), status=502)
    except HandoffError as error:
        return _refused(request, back, error)
    return done(request, back + "#reply", "Đã gửi tới người dân.")


@operator_only
async def end(request: web.Request) -> web.Response:
    ticket_id = int_in_path(request, "ticket")
    auth: Authenticated = request[AUTH]
    try:
        await blocking(request.app[DESK].end, ticket_id, auth.username, request.remote)
    except desk_module.DeskError as error:
        return failed(request, "/handoff", str(error), status=502)
    except HandoffError as error:
        return _refused(request, f"/handoff/{ticket_id}", error)
    return done(request, "/handoff",
                f"Đã kết thúc yêu cầu số {ticket_id}; trợ lý tiếp tục trả lời người dân.")


# --- callbacks ------------------------------------------------------------------------


@operator_only
async def callback_phone(request: web.Request) -> web.Response:
    callback_id = int_in_path(request, "callback")
    auth: Authenticated = request[AUTH]
    try:
        phone = await blocking(request.app[DESK].callback_phone, callback_id, auth.username,
                               request.remote)
    except HandoffError as error:
        if is_api(request):
            return _refused(request, "/handoff", error)
        return await _queue_page(request, error=str(error))
    if is_api(request):
        return web.json_response({"id": callback_id, "phone": phone})
    return await _queue_page(request, revealed={callback_id: phone})


@operator_only
async def callback_done(request: web.Request) -> web.Response:
    callback_id = int_in_path(request, "callback")
    auth: Authenticated = request[AUTH]
    gone = await blocking(request.app[DESK].callback_done, callback_id, auth.username,
                          request.remote)
    if not gone:
        return failed(request, "/handoff#callbacks",
                      f"Yêu cầu gọi lại số {callback_id} không còn (có thể đã được xử lý).",
                      status=404)
    return done(request, "/handoff#callbacks",
                f"Đã ghi nhận gọi lại yêu cầu số {callback_id}; số điện thoại đã được xóa.")


# --- the sweep of expired tickets -------------------------------------------------------


async def _sweep_forever(app: web.Application, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            ended = await blocking(app[DESK].sweep)
            if ended:
                logger.info("handoff sweep ended %d ticket(s)", len(ended))
        except (HandoffError, SQLAlchemyError):
            logger.exception("handoff sweep failed; retried in %s s", every)


def install(app: web.Application) -> None:
    """The desk on the application, and its sweep (every ``handoff_sweep_seconds``;
    0 leaves it to ``python -m bot.cli.handoff expire``)."""
    app[DESK] = Desk(app[SETTINGS], app[DB], app[READER])
    every = app[SETTINGS].handoff_sweep_seconds

    async def start(app: web.Application) -> None:
        if every > 0:
            app[SWEEP_TASK] = asyncio.create_task(_sweep_forever(app, every))

    async def stop(app: web.Application) -> None:
        task = app.get(SWEEP_TASK)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.on_startup.append(start)
    app.on_cleanup.append(stop)


routes = [
    web.get("/handoff", queue_view),
    web.get("/api/handoff", queue_view),
    web.post("/handoff/callbacks/{callback}/phone", callback_phone),
    web.post("/api/handoff/callbacks/{callback}/phone", callback_phone),
    web.post("/handoff/callbacks/{callback}/done", callback_done),
    web.post("/api/handoff/callbacks/{callback}/done", callback_done),
    web.get("/handoff/{ticket}", ticket_view),
    web.get("/api/handoff/{ticket}", ticket_view),
    web.post("/handoff/{ticket}/take", take),
    web.post("/api/handoff/{ticket}/take", take),
    web.post("/handoff/{ticket}/reply", reply),
    web.post("/api/handoff/{ticket}/reply", reply),
    web.post("/handoff/{ticket}/end", end),
    web.post("/api/handoff/{ticket}/end", end),
]
