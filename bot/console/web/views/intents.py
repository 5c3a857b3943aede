"""Intents: the list of known, console-made and still-missing intents, and creating one."""

from __future__ import annotations

from aiohttp import web

from bot.console import nlu_changes, nludata, review
from bot.console.auth import Authenticated
from bot.console.web.keys import AUTH, DB, SETTINGS
from bot.console.web.responses import (
    blocking,
    done,
    form_or_json,
    is_api,
    json_error,
    render,
    trainer_only,
)


def _page(request: web.Request, status: int = 200, error: str | None = None, **form):
    settings = request.app[SETTINGS]
    known = nludata.reviewable_intents(settings)
    return render(
        request, "intents.html", status=status, known=known,
        custom=nlu_changes.custom_intents(settings),
        pending=review.pending_new_intents(request.app[DB], known),
        form={"name": "", "examples": "", "response": "", **form}, error=error, title="Ý định",
    )


async def intents_view(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if is_api(request):
        known = nludata.reviewable_intents(settings)
        custom = nlu_changes.custom_intents(settings)
        pending = review.pending_new_intents(request.app[DB], known)
        return web.json_response(
            {
                "intents": known,
                "custom": [c.__dict__ for c in custom],
                "pending": [{"intent": i, "messages": n} for i, n in pending],
            }
        )
    return _page(request, name=request.query.get("name", ""))


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
            nlu_changes.create_intent, settings, name, str(examples), response, auth.username
        )
    except nlu_changes.DataError as error:
        if is_api(request):
            return json_error(422, str(error))
        return _page(request, 422, str(error), name=name, examples=examples, response=response)
    return done(
        request, "/intents",
        f"Đã tạo ý định {created.name} với {len(created.examples)} câu ví dụ. "
        "Hãy “Huấn luyện và so sánh” để đưa vào mô hình.",
        data={"intent": created.__dict__}, status=201,
    )


routes = [
    web.get("/intents", intents_view),
    web.post("/intents", create_intent),
    web.get("/api/intents", intents_view),
    web.post("/api/intents", create_intent),
]
