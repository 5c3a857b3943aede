"""The overview page and /api/analytics: figures for a date range and their SVG charts."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Dict

from aiohttp import web
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from bot.console import analytics, charts, clock, dossier_figures, listing, quality
from bot.console.tracker_reader import TrackerUnavailable
from bot.console.web.keys import DB, READER, SETTINGS
from bot.console.web.responses import blocking, is_api, json_error, render
from bot.console.web.templating import procedure_labels
from bot.console.web.views.handoff import DESK
from dichvucong.settings import settings as assistant_settings

DEFAULT_DAYS = 30
logger = logging.getLogger(__name__)


def _graphs(figures: analytics.Analytics) -> Dict[str, Markup]:
    labels = procedure_labels()
    days = figures.days()
    return {
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
        "handoffs_per_day": charts.bar_chart(
            [(d.strftime("%d/%m"), figures.handoffs_per_day.get(d, 0)) for d in days],
            "Số hội thoại chuyển cho cán bộ mỗi ngày",
        ),
        "ratings": charts.hbar_chart(
            [("👍 Hữu ích", figures.ratings_up), ("👎 Chưa đúng", figures.ratings_down)],
            "Đánh giá câu trả lời",
            css="bar rating",
            label_width=120,
            width=420,
        ),
    }


async def overview(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    filters = listing.filters_from(dict(request.query))
    today = clock.today()
    start = filters.start or today - dt.timedelta(days=DEFAULT_DAYS - 1)
    end = filters.end or today
    if end < start:
        start, end = end, start
    error = None
    try:
        figures = await blocking(
            analytics.compute, request.app[READER], start, end, settings.low_confidence,
            handoff_times=_handoff_times(request),
        )
    except TrackerUnavailable as unavailable:
        figures, error = analytics.Analytics(start, end), str(unavailable)
    dossiers, dossier_error = await _dossiers(request, start, end)
    if is_api(request):
        if error:
            return json_error(503, error)
        return web.json_response({
            **figures.as_dict(),
            "dossiers": dossiers.as_dict() if dossiers else {"error": dossier_error},
        })
    return render(
        request, "overview.html", figures=figures, graphs=_graphs(figures), start=start,
        end=end, error=error, title="Tổng quan", dossiers=dossiers,
        dossier_error=dossier_error,
    )


def _handoff_times(request: web.Request) -> analytics.HandoffTimesSource:
    """The handoff queue's figures (its tables); none, logged, if they cannot be read."""
    desk = request.app[DESK]

    def source(start: dt.date, end: dt.date) -> analytics.HandoffTimes:
        try:
            return desk.times(start, end)
        except SQLAlchemyError:
            logger.exception("handoff figures not read")
            return analytics.HandoffTimes()

    return source


async def _dossiers(request: web.Request, start: dt.date, end: dt.date):
    """The dossier store's figures, or None and why not (the overview still shows the rest)."""
    cfg = quality.config(request.app[SETTINGS].quality_file)
    try:
        return await blocking(
            dossier_figures.compute, request.app[DB], start, end, cfg, clock.today(),
            assistant_settings().dossiers.stalled_after_days,
        ), None
    except SQLAlchemyError as failure:
        return None, f"Không đọc được kho hồ sơ: {type(failure).__name__}."


routes = [
    web.get("/", overview),
    web.get("/api/analytics", overview),
]
