"""Transcripts: the filtered conversation list and one conversation with its NLU results."""

from __future__ import annotations

from aiohttp import web

from bot.console import audit, listing, nludata, quality, review
from bot.console import conversation as conv
from bot.console.tracker_reader import TrackerUnavailable
from bot.console.web.keys import AUTH, DB, READER, SETTINGS
from bot.console.web.responses import (
    blocking,
    error_response,
    int_in_path,
    is_api,
    json_error,
    paginate,
    render,
)

PAGE_SIZE = 50


async def conversations_view(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    filters = listing.filters_from(dict(request.query))
    cfg = quality.config(settings.quality_file)
    tags = await blocking(quality.tags_by_digest, request.app[DB])
    error = None
    try:
        found, channels = await blocking(
            listing.conversations, request.app[READER], filters, settings.low_confidence, tags
        )
    except TrackerUnavailable as unavailable:
        found, channels, error = [], [], str(unavailable)
    page = paginate(request, found, PAGE_SIZE)
    if is_api(request):
        if error:
            return json_error(503, error)
        return web.json_response(
            {
                **page.as_dict(),
                "channels": channels,
                "conversations": [
                    {**conv.summary_dict(c),
                     "tag": quality.tag_dict(tags.get(c.sender_digest), cfg)}
                    for c in page.items
                ],
            }
        )
    return render(
        request, "conversations.html", conversations=page.items, total=page.total,
        page=page.number, pages=page.pages, filters=filters, channels=channels, error=error,
        base_query=page.base_query, title="Hội thoại", tags=tags, quality=cfg,
        themes=sorted(set(cfg.themes) | {t.theme for t in tags.values()}),
        FOLLOW_UP_LABELS=quality.FOLLOW_UP_LABELS,
    )


async def conversation_view(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    key = int_in_path(request, "key")
    try:
        rows = await blocking(request.app[READER].conversation, key)
    except TrackerUnavailable as unavailable:
        return error_response(request, 503, "Không đọc được hội thoại", str(unavailable))
    if not rows:
        return error_response(request, 404, "Không tìm thấy", "Không có hội thoại này.")
    await blocking(audit.record, request.app[DB], request[AUTH].username,
                   audit.VIEW_CONVERSATION, str(key), request.remote)
    conversation = conv.build(rows, settings.low_confidence)
    annotations = review.annotations_for(
        request.app[DB], [m.event_id for m in conversation.messages if m.kind == "user"]
    )
    cfg = quality.config(settings.quality_file)
    tag = await blocking(quality.tag_for, request.app[DB], conversation.sender_digest)
    if is_api(request):
        return web.json_response(
            {
                **conv.summary_dict(conversation),
                "tag": quality.tag_dict(tag, cfg),
                "messages": [
                    {
                        **conv.message_dict(m),
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
        tag=quality.tag_dict(tag, cfg), quality=cfg, FOLLOW_UP_LABELS=quality.FOLLOW_UP_LABELS,
    )


routes = [
    web.get("/conversations", conversations_view),
    web.get("/conversations/{key}", conversation_view),
    web.get("/api/conversations", conversations_view),
    web.get("/api/conversations/{key}", conversation_view),
]
