"""Training and models: the overview, export, starting a job, a job's page, and
promoting, rolling back or discarding a model version. Trainer role only, except
for looking. Also the audit log of staff actions and the retention dry run (trainers)."""

from __future__ import annotations

from aiohttp import web

from bot.console import audit, nlu_changes, review
from bot.console.auth import Authenticated
from bot.console.settings import shown
from bot.console.tracker_reader import TrackerUnavailable
from bot.console.training import TrainingError, current_status, job_dict, version_dict
from bot.console.web.keys import AUTH, DB, READER, SETTINGS, TRAINER
from bot.console.web.responses import (
    blocking,
    done,
    error_response,
    failed,
    form_or_json,
    int_in_path,
    is_api,
    render,
    safe_next,
    trainer_only,
)
from dichvucong import retention


async def training_view(request: web.Request) -> web.Response:
    trainer = request.app[TRAINER]
    jobs = await blocking(trainer.jobs)
    versions = await blocking(trainer.models.versions)
    current = await blocking(current_status, trainer.models)
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
        reviewed_file=str(shown(request.app[SETTINGS].reviewed_file)),
        title="Huấn luyện và mô hình",
    )


@trainer_only
async def export(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    try:
        report = await blocking(nlu_changes.export_reviewed, request.app[DB], settings)
    except nlu_changes.DataError as error:
        return failed(request, "/training", str(error), status=422)
    await blocking(audit.record, request.app[DB], request[AUTH].username, audit.EXPORT,
                   str(shown(settings.reviewed_file)), request.remote)
    return done(request, "/training", report.summary(), data={"export": report.as_dict()})


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
    job_id = int_in_path(request, "job_id")
    trainer = request.app[TRAINER]
    job = await blocking(trainer.job, job_id)
    if job is None:
        return error_response(request, 404, "Không tìm thấy",
                              "Không có công việc huấn luyện này.", "Không có công việc này.")
    if is_api(request):
        return web.json_response(job_dict(job))
    version = await blocking(trainer.models.version, job.version) if job.version else None
    return render(request, "job.html", job=job, version=version,
                  title=f"Công việc huấn luyện #{job.id}")


@trainer_only
async def discard(request: web.Request) -> web.Response:
    auth: Authenticated = request[AUTH]
    back = safe_next(str((await form_or_json(request)).get("next") or ""), "/training")
    try:
        row = await blocking(
            request.app[TRAINER].models.discard, request.match_info["version"], auth.username
        )
    except TrainingError as error:
        return failed(request, back, str(error), status=409)
    return done(request, back, f"Đã bỏ phiên bản ứng viên {row.id}.",
                data={"version": version_dict(row)})


def _activation(action: str, verb: str):
    """Promote or roll back: both make a version the model in use and reload Rasa."""

    @trainer_only
    async def handler(request: web.Request) -> web.Response:
        auth: Authenticated = request[AUTH]
        back = safe_next(str((await form_or_json(request)).get("next") or ""), "/training")
        method = getattr(request.app[TRAINER].models, action)
        try:
            row, message, reloaded = await blocking(
                method, request.match_info["version"], auth.username
            )
        except TrainingError as error:
            return failed(request, back, str(error), status=409)
        await blocking(audit.record, request.app[DB], auth.username, action, row.id,
                       request.remote)
        return done(
            request, back, f"{verb} {row.id} vào dùng. {message}",
            data={"version": version_dict(row), "rasa_reloaded": reloaded,
                  "rasa_message": message},
            kind="ok" if reloaded else "warning",
        )

    return handler


def _retention_preview(app) -> tuple:
    """What the daily retention run would delete now (a dry run: read-only)."""
    try:
        report = retention.run(
            app[READER].engine, app[DB].engine, retention.RetentionSettings.from_env(),
            dry_run=True,
        )
    except (retention.RetentionError, TrackerUnavailable, ValueError) as error:
        return None, str(error)
    return report, None


@trainer_only
async def audit_view(request: web.Request) -> web.Response:
    """The audit log (newest first, by ?user= and ?action=) and the retention dry run."""
    user = (request.query.get("user") or "").strip() or None
    action = (request.query.get("action") or "").strip() or None
    found = await blocking(audit.entries, request.app[DB], user, action)
    preview, error = await blocking(_retention_preview, request.app)
    if is_api(request):
        return web.json_response({
            "entries": [audit.entry_dict(e) for e in found],
            "retention": preview.as_dict() if preview else None, "retention_error": error,
        })
    return render(
        request, "audit.html", entries=found, labels=audit.ACTION_LABELS, user=user or "",
        action=action or "", retention=preview, retention_error=error, title="Nhật ký thao tác",
    )


promote = _activation("promote", "Đã đưa phiên bản")
rollback = _activation("rollback", "Đã quay lại phiên bản")

routes = [
    web.get("/audit", audit_view),
    web.get("/api/audit", audit_view),
    web.get("/training", training_view),
    web.post("/training/export", export),
    web.post("/training/train", train),
    web.get("/training/jobs/{job_id}", job_view),
    web.post("/models/{version}/promote", promote),
    web.post("/models/{version}/rollback", rollback),
    web.post("/models/{version}/discard", discard),
    web.get("/api/training", training_view),
    web.post("/api/export", export),
    web.post("/api/train", train),
    web.get("/api/jobs/{job_id}", job_view),
    web.post("/api/models/{version}/promote", promote),
    web.post("/api/models/{version}/rollback", rollback),
    web.post("/api/models/{version}/discard", discard),
]
