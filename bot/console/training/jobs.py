"""Training jobs: train a candidate, evaluate it against the current model, record it.

A job snapshots the training data, runs ``rasa train`` in a subprocess (its
"Epochs: 40%" lines drive the progress bar), then evaluates the candidate and
the current model on the held-out files in another subprocess
(``bot.console.evaluate``). Job rows live in the console database, so the
console and the command line see each other's jobs; one job runs at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List

from sqlalchemy import select

from bot.console import clock
from bot.console.db import Database, ModelVersion, TrainingJob, now
from bot.console.nludata import DATA_LOCK
from bot.console.settings import Settings
from bot.console.training.common import TrainingError, audit, sha256, unused_name
from bot.console.training.compare import compare
from bot.console.training.process import Processes
from bot.console.training.versions import ModelVersions

logger = logging.getLogger(__name__)

EPOCHS = re.compile(r"Epochs:\s*(\d{1,3})%")
FINISHED = re.compile(r"Finished training component '([^']+)'")
EVAL_PROGRESS = re.compile(r"^PROGRESS (\d+)/(\d+)")
# Share of the progress bar for each phase: most of the time goes to DIET.
PREPARE, TRAIN_END, EVAL_END = 5, 75, 99
# A job whose process is on another machine is presumed dead after this long silent.
HEARTBEAT_TIMEOUT = dt.timedelta(minutes=15)
TRAIN_TIMEOUT = 4 * 3600
EVAL_TIMEOUT = 3600
ACTIVE = ("queued", "running")


def parse_progress(line: str) -> int | None:
    """DIET's "Epochs:  40%|…" as a percentage, else None."""
    match = EPOCHS.search(line)
    return int(match.group(1)) if match else None


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def job_alive(job: TrainingJob) -> bool:
    if job.status not in ACTIVE:
        return False
    if job.host == socket.gethostname():
        return _pid_alive(job.pid)
    beat = job.heartbeat_at or job.created_at
    return now() - beat < HEARTBEAT_TIMEOUT


class _Progress:
    """A job's stage and percentage: echoed when they change, written at most twice a second."""

    def __init__(self, trainer: Trainer, job_id: int, echo: Callable[[str], None] | None):
        self.trainer, self.job_id, self.echo = trainer, job_id, echo
        self.progress, self.stage, self.last = PREPARE, "Huấn luyện mô hình", 0.0

    def __call__(self, stage: str, progress: int, force: bool = False) -> None:
        stamp = dt.datetime.now().timestamp()
        changed = progress != self.progress or stage != self.stage
        self.progress, self.stage = progress, stage
        if self.echo and (changed or force):
            self.echo(f"[{progress:3d}%] {stage}")
        # The database gets at most two writes a second, however fast tqdm prints.
        if force or (changed and stamp - self.last >= 0.5):
            self.last = stamp
            self.trainer._update(self.job_id, stage=stage, progress=progress)

    def on_train_line(self, line: str) -> None:
        percent = parse_progress(line)
        if percent is not None:
            value = PREPARE + (TRAIN_END - PREPARE) * percent // 100
            self(f"Huấn luyện mô hình (DIET {percent}%)", max(value, self.progress))
            return
        finished = FINISHED.search(line)
        if finished:
            self(f"Huấn luyện mô hình: xong {finished.group(1)}", self.progress)

    def on_eval_line(self, line: str) -> None:
        match = EVAL_PROGRESS.match(line)
        if match:
            done, total = int(match.group(1)), int(match.group(2)) or 1
            value = TRAIN_END + (EVAL_END - TRAIN_END) * done // total
            self(f"Đánh giá trên tập kiểm tra ({done}/{total} câu)", value)


class Trainer:
    """Training jobs; ``models`` holds the versions they produce."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._lock = threading.Lock()
        self._processes = Processes()
        self._threads: List[threading.Thread] = []
        self.models = ModelVersions(settings, db, self._lock)

    def jobs(self, limit: int = 20) -> List[TrainingJob]:
        with self.db.session() as session:
            return list(
                session.scalars(select(TrainingJob).order_by(TrainingJob.id.desc()).limit(limit))
            )

    def job(self, job_id: int) -> TrainingJob | None:
        with self.db.session() as session:
            return session.get(TrainingJob, job_id)

    def running_job(self) -> TrainingJob | None:
        with self.db.session() as session:
            for job in session.scalars(select(TrainingJob).where(TrainingJob.status.in_(ACTIVE))):
                if job_alive(job):
                    return job
        return None

    def mark_interrupted(self) -> int:
        """Jobs left running by a console or CLI that died are failed, not left spinning."""
        count = 0
        with self.db.session() as session:
            for job in session.scalars(select(TrainingJob).where(TrainingJob.status.in_(ACTIVE))):
                if not job_alive(job):
                    job.status = "failed"
                    job.error = "Bị gián đoạn: tiến trình chạy công việc này đã dừng."
                    job.finished_at = now()
                    count += 1
        return count

    def create_job(self, username: str) -> TrainingJob:
        with self._lock:
            self.mark_interrupted()
            running = self.running_job()
            if running is not None:
                raise TrainingError(
                    f"Đang có công việc huấn luyện #{running.id} chạy; hãy chờ nó xong."
                )
            with self.db.session() as session:
                job = TrainingJob(
                    kind="train_compare", status="queued", stage="Đang chờ", progress=0,
                    created_by=username, created_at=now(), host=socket.gethostname(),
                    pid=os.getpid(), heartbeat_at=now(),
                )
                session.add(job)
                session.flush()
                return job

    def start_background(self, username: str) -> TrainingJob:
        job = self.create_job(username)
        thread = threading.Thread(
            target=self._run_quietly, args=(job.id,), name=f"training-{job.id}", daemon=True
        )
        self._threads.append(thread)
        thread.start()
        return job

    def _run_quietly(self, job_id: int) -> None:
        try:
            self.run_job(job_id)
        except Exception:  # the job row already says what failed
            logger.exception("training job %s failed", job_id)

    def shutdown(self) -> None:
        self._processes.terminate()
        for thread in self._threads:
            thread.join(timeout=30)

    def _update(self, job_id: int, **fields) -> None:
        with self.db.session() as session:
            job = session.get(TrainingJob, job_id)
            for key, value in fields.items():
                setattr(job, key, value)
            job.heartbeat_at = now()

    def _new_version_id(self) -> str:
        with self.db.session() as session:
            return unused_name(
                clock.stamp(),
                lambda name: session.get(ModelVersion, name) is not None
                or (self.settings.candidates_dir / f"{name}.tar.gz").exists(),
            )

    def run_job(self, job_id: int, echo: Callable[[str], None] | None = None) -> TrainingJob:
        """Train a candidate, evaluate it against the current model, record a version."""
        version = self._new_version_id()
        self._update(
            job_id, status="running", started_at=now(), stage="Chuẩn bị dữ liệu",
            progress=1, version=version, host=socket.gethostname(), pid=os.getpid(),
        )
        work = Path(tempfile.mkdtemp(prefix=f"train-{version}-"))
        report = _Progress(self, job_id, echo)
        try:
            candidate, tail = self._train(version, work, report)
            report("Đánh giá trên tập kiểm tra", TRAIN_END, force=True)
            result = self._evaluate(candidate, work, report)
            with self.db.session() as session:
                session.add(
                    ModelVersion(
                        id=version, created_at=now(), created_by=self.job(job_id).created_by,
                        job_id=job_id, status="candidate", path=str(candidate),
                        sha256=sha256(candidate), metrics=result["candidate"],
                    )
                )
            self._update(
                job_id, status="done", stage="Hoàn tất", progress=100, finished_at=now(),
                result=result, log_tail="\n".join(tail[-30:]),
            )
            if echo:
                echo("[100%] Hoàn tất")
            audit.info("training job %s produced candidate %s", job_id, version)
        except Exception as error:
            message = str(error) if isinstance(error, TrainingError) else (
                f"Lỗi không lường trước: {type(error).__name__}: {error}"
            )
            self._update(
                job_id, status="failed", stage="Thất bại", finished_at=now(), error=message[-4000:]
            )
            if echo:
                echo(message)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return self.job(job_id)

    def _train(self, version: str, work: Path, report: _Progress):
        """``rasa train`` on a snapshot of the data; (candidate file, last output lines)."""
        settings = self.settings
        data = self._snapshot(work)
        report("Huấn luyện mô hình", PREPARE, force=True)
        settings.candidates_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(settings.rasa_bin), "train",
            "--config", str(data["config"]),
            "--domain", str(data["domain"]),
            "--data", str(data["nlu"]), str(data["rules"]),
            "--out", str(settings.candidates_dir),
            "--fixed-model-name", version,
            # Rasa's cache fingerprints configuration, not our component code.
            "--force",
        ]
        code, tail = self._processes.stream(command, report.on_train_line, TRAIN_TIMEOUT)
        candidate = settings.candidates_dir / f"{version}.tar.gz"
        if code != 0 or not candidate.exists():
            raise TrainingError(f"rasa train thất bại (mã {code}).\n" + "\n".join(tail[-25:]))
        return candidate, tail

    def _snapshot(self, work: Path) -> Dict[str, Path]:
        """A copy of the training inputs, so an export during training changes nothing."""
        settings = self.settings
        with DATA_LOCK:
            paths = {
                "config": work / "config.yml",
                "domain": work / "domain",
                "nlu": work / "nlu",
                "rules": work / "rules",
            }
            shutil.copy2(settings.train_config, paths["config"])
            for key, source in (
                ("domain", settings.domain_dir),
                ("nlu", settings.nlu_dir),
                ("rules", settings.rules_dir),
            ):
                if source.is_dir():
                    shutil.copytree(source, paths[key])
                else:
                    paths[key].mkdir()
                    shutil.copy2(source, paths[key] / source.name)
        return paths

    def _evaluate(self, candidate: Path, work: Path, report: _Progress) -> Dict[str, Any]:
        settings = self.settings
        current = settings.current_model if settings.current_model.exists() else None
        models = [candidate] + ([current] if current else [])
        out = work / "evaluation.json"
        command = [
            sys.executable, "-m", "bot.console.evaluate",
            "--heldout", str(settings.heldout_dir), "--out", str(out),
            *[str(m) for m in models],
        ]
        code, tail = self._processes.stream(command, report.on_eval_line, EVAL_TIMEOUT)
        if code != 0 or not out.exists():
            raise TrainingError(f"Đánh giá thất bại (mã {code}).\n" + "\n".join(tail[-25:]))
        results = json.loads(out.read_text(encoding="utf-8"))
        models_result = results["models"]
        cand = models_result[str(candidate)]
        cur = models_result.get(str(current)) if current else None
        return {
            "heldout": results.get("heldout", []),
            "candidate": cand,
            "current": cur,
            "current_version": self.models.version_of_current(),
            "comparison": compare(cand, cur),
        }


def job_dict(job: TrainingJob) -> Dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "status_label": job.status_label,
        "stage": job.stage,
        "progress": job.progress,
        "version": job.version,
        "created_by": job.created_by,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "error": job.error,
        "result": job.result,
    }
