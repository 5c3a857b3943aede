"""The review inbox and the annotation of one message."""

from __future__ import annotations

from aiohttp import web

from bot.console import conversation as conv
from bot.console import listing, nludata, review
from bot.console.auth import Authenticated
from bot.console.db import DECISION_LABELS
from bot.console.tracker_reader import TrackerUnavailable
from bot.console.web.keys import AUTH, DB, READER, SETTINGS
from bot.console.web.responses import (
    blocking,
    done,
    failed,
    form_or_json,
    int_in_path,
    is_api,
    json_error,
    paginate,
    render,
    safe_next,
)

PAGE_SIZE = 25
SHOW = ("open", "done", "all")


async def inbox_view(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    filters = listing.filters_from(dict(request.query))
    show = request.query.get("show", "open")
    if show not in SHOW:
        show = "open"
    error = None
    try:
        items = await blocking(
            review.inbox, request.app[READER], request.app[DB], filters.start, filters.end,
            settings.low_confidence, show=show,
        )
    except TrackerUnavailable as unavailable:
        items, error = [], str(unavailable)
    page = paginate(request, items, PAGE_SIZE)
    if is_api(request):
        if error:
            return json_error(503, error)
        return web.json_response(
            {
                **page.as_dict(),
                "items": [
                    {
                        **conv.message_dict(i.message),
                        "conversation_key": i.conversation_key,
                        "annotation": review.annotation_dict(i.annotation)
                        if i.annotation else None,
                    }
                    for i in page.items
                ],
            }
        )
    return render(
        request, "review.html", items=page.items, total=page.total, page=page.number,
        pages=page.pages, show=show, filters=filters, error=error,
        counts=review.counts(request.app[DB]), intents=nludata.reviewable_intents(settings),
        base_query=page.base_query, title="Hộp duyệt",
    )


async def annotate(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    auth: Authenticated = request[AUTH]
    body = await form_or_json(request)
    back = safe_next(str(body.get("next") or ""), "/review")
    event_id = int_in_path(request, "event_id")
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
    except (review.ReviewError, TrackerUnavailable) as error:
        return failed(request, back, str(error))
    label = DECISION_LABELS[annotation.decision]
    detail = f" → {annotation.intent}" if annotation.intent else ""
    return done(
        request, back, f"Đã lưu: {label}{detail}.",
        data={"annotation": review.annotation_dict(annotation)},
    )


routes = [
    web.get("/review", inbox_view),
    web.post("/review/{event_id}", annotate),
    web.get("/api/review", inbox_view),
    web.post("/api/review/{event_id}", annotate),
]
