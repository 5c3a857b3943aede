"""Tagging a whole conversation (quality review) and exporting filtered conversations.

Tagging is for the reviewing roles (``quality.TAGGING_ROLES``); exporting for
trainers, like every other export of data out of the console. Both are audited.
"""

from __future__ import annotations

from aiohttp import web

from bot.console import audit, clock, exports, listing, quality
from bot.console.auth import Authenticated
from bot.console.tracker_reader import TrackerUnavailable
from bot.console.web.keys import AUTH, DB, READER, SETTINGS
from bot.console.web.responses import (
    blocking,
    done,
    error_response,
    failed,
    forbidden,
    form_or_json,
    int_in_path,
    trainer_only,
)


async def tag_conversation(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    auth: Authenticated = request[AUTH]
    key = int_in_path(request, "key")
    back = f"/conversations/{key}#tag"
    if auth.role not in quality.TAGGING_ROLES:
        return forbidden(request, "Chỉ người duyệt và người huấn luyện mới được đánh giá "
                                  "hội thoại.")
    body = await form_or_json(request)
    cfg = quality.config(settings.quality_file)
    try:
        tag, _ = await blocking(
            quality.tag_conversation, request.app[READER], request.app[DB], key, body,
            cfg=cfg, user_id=auth.user_id, username=auth.username, address=request.remote,
            low_confidence=settings.low_confidence,
        )
    except quality.TagError as error:
        status = 404 if "Không có hội thoại" in str(error) else 400
        return failed(request, back, str(error), status=status)
    except TrackerUnavailable as error:
        return failed(request, back, str(error), status=503)
    shown = quality.tag_dict(tag, cfg)
    message = f"Đã lưu đánh giá: {shown['quality_label']} · {shown['follow_up_label']}."
    if shown["procedure_file"]:
        message += f" Cần cập nhật {shown['procedure_file']}."
    return done(request, back, message, data={"tag": shown})


@trainer_only
async def export_conversations(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    fmt = request.query.get("format", "csv")
    if fmt not in exports.FORMATS:
        return error_response(request, 400, "Định dạng không hỗ trợ",
                              "Chỉ xuất được CSV hoặc XLSX.")
    filters = listing.filters_from(dict(request.query))
    cfg = quality.config(settings.quality_file)
    tags = await blocking(quality.tags_by_digest, request.app[DB])
    try:
        found, _ = await blocking(
            listing.conversations, request.app[READER], filters, settings.low_confidence, tags
        )
    except TrackerUnavailable as unavailable:
        return error_response(request, 503, "Không đọc được hội thoại", str(unavailable))
    body = await blocking(exports.export, fmt, found, tags, cfg)
    await blocking(audit.record, request.app[DB], request[AUTH].username,
                   audit.EXPORT_CONVERSATIONS, f"{fmt}: {len(found)} hội thoại · "
                   f"{request.query_string}"[:200], request.remote)
    name = f"hoi-thoai-{clock.stamp('%Y%m%d-%H%M')}.{fmt}"
    return web.Response(
        body=body, content_type=exports.FORMATS[fmt],
        charset="utf-8" if fmt == "csv" else None,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# Registered before /conversations/{key}: "export" is not a conversation key.
routes = [
    web.get("/conversations/export", export_conversations),
    web.get("/api/conversations/export", export_conversations),
    web.post("/conversations/{key}/tag", tag_conversation),
    web.post("/api/conversations/{key}/tag", tag_conversation),
]
