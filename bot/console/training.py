"""Train and compare, promote, roll back: models are versioned files plus database rows.

A training job snapshots the training data, runs ``rasa train`` in a
subprocess (its "Epochs: 40%" lines drive the progress bar), then evaluates
the candidate and the current model on the held-out files in another
subprocess (``bot.console.evaluate``). Promotion keeps every model under
``models/versions/`` and copies the chosen one to ``models/current.tar.gz``,
which ``make run`` serves; the running Rasa server is then asked to load it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from sqlalchemy import select

from actions.dossiers.models import VIETNAM_TZ
from bot.console.db import Database, ModelVersion, TrainingJob, now
from bot.console.nludata import DATA_LOCK
from bot.console.settings import ROOT, Settings

audit = logging.getLogger("bot.console.audit")
logger = logging.getLogger(__name__)

EPOCHS = re.compile(r"Epochs:\s*(\d{1,3})%")
FINISHED = re.compile(r"Finished training component '([^']+)'")
EVAL_PROGRESS = re.compile(r"^PROGRESS (\d+)/(\d+)")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Share of the progress bar for each phase: most of the time goes to DIET.
PREPARE, TRAIN_END, EVAL_END = 5, 75, 99
# A job whose process is on another machine is presumed dead after this long silent.
HEARTBEAT_TIMEOUT = dt.timedelta(minutes=15)
TRAIN_TIMEOUT = 4 * 3600
EVAL_TIMEOUT = 3600

OVERALL_METRICS = [
    # key, Vietnamese label, higher is better
    ("intent_accuracy", "Độ chính xác ý định", True),
    ("macro_f1", "F1 trung bình các ý định (macro)", True),
    ("weighted_f1", "F1 theo số câu (weighted)", True),
    ("macro_precision", "Precision trung bình", True),
    ("macro_recall", "Recall trung bình", True),
    ("procedure_accuracy", "Nhận đúng thủ tục", True),
    ("clarification_rate", "Tỉ lệ phải hỏi lại", False),
    ("confident_errors", "Trả lời sai mà không hỏi lại", False),
]


class TrainingError(RuntimeError):
    """A refused or failed training action; the message is Vietnamese."""


def parse_progress(line: str) -> int | None:
    """DIET's "Epochs:  40%|…" as a percentage, else None."""
    match = EPOCHS.search(line)
    return int(match.group(1)) if match else None


_DIGESTS: Dict[Tuple[str, float, int], str] = {}


def sha256(path: Path) -> str:
    """Digest of a model file, cached by name, size and time: pages show it often."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime, stat.st_size)
    if key not in _DIGESTS:
        _DIGESTS[key] = _sha256(path)
    return _DIGESTS[key]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
    if job.status not in ("queued", "running"):
        return False
    if job.host == socket.gethostname():
        return _pid_alive(job.pid)
    beat = job.heartbeat_at or job.created_at
    return now() - beat < HEARTBEAT_TIMEOUT


def compare(candidate: Dict[str, Any], current: Dict[str, Any] | None) -> Dict[str, Any]:
    """Overall and per-intent differences, candidate minus current."""
    rows = []
    for key, label, higher in OVERALL_METRICS:
        new = candidate.get(key)
        old = current.get(key) if current else None
        delta = None if new is None or old is None else new - old
        better = None if delta is None or abs(delta) < 1e-9 else (delta > 0) == higher
        rows.append(
            {"key": key, "label": label, "candidate": new, "current": old,
             "delta": delta, "better": better}
        )
    intents = []
    new_intents = candidate.get("per_intent") or {}
    old_intents = (current or {}).get("per_intent") or {}
    for name in sorted(set(new_intents) | set(old_intents)):
        new, old = new_intents.get(name), old_intents.get(name)
        entry = {"intent": name, "support": (new or old or {}).get("support", 0)}
        for part in ("precision", "recall", "f1"):
            a = new.get(part) if new else None
            b = old.get(part) if old else None
            entry[part] = a
            entry[f"current_{part}"] = b
            entry[f"delta_{part}"] = None if a is None or b is None else a - b
        intents.append(entry)
    intents.sort(key=lambda e: (-(e["support"] or 0), e["intent"]))
    return {"overall": rows, "per_intent": intents}


class Trainer:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._lock = threading.Lock()
        self._processes: List[subprocess.Popen] = []
        self._threads: List[threading.Thread] = []

    # --- jobs --------------------------------------------------------------------

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
            for job in session.scalars(
                select(TrainingJob).where(TrainingJob.status.in_(("queued", "running")))
            ):
                if job_alive(job):
                    return job
        return None

    def mark_interrupted(self) -> int:
        """Jobs left running by a console or CLI that died are failed, not left spinning."""
        count = 0
        with self.db.session() as session:
            for job in session.scalars(
                select(TrainingJob).where(TrainingJob.status.in_(("queued", "running")))
            ):
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
                    kind="train_compare",
                    status="queued",
                    stage="Đang chờ",
                    progress=0,
                    created_by=username,
                    created_at=now(),
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    heartbeat_at=now(),
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
        for process in list(self._processes):
            if process.poll() is None:
                process.terminate()
        for thread in self._threads:
            thread.join(timeout=30)

    def _update(self, job_id: int, **fields) -> None:
        with self.db.session() as session:
            job = session.get(TrainingJob, job_id)
            for key, value in fields.items():
                setattr(job, key, value)
            job.heartbeat_at = now()

    def _new_version_id(self) -> str:
        base = dt.datetime.now(VIETNAM_TZ).strftime("%Y%m%d-%H%M%S")
        version, n = base, 1
        with self.db.session() as session:
            while session.get(ModelVersion, version) is not None or (
                self.settings.candidates_dir / f"{version}.tar.gz"
            ).exists():
                n += 1
                version = f"{base}-{n}"
        return version

    def _stream(
        self,
        command: List[str],
        on_line: Callable[[str], None],
        timeout: float,
        env: Dict[str, str] | None = None,
    ) -> Tuple[int, List[str]]:
        """Run ``command``, feeding each line (tqdm's "\\r" updates included) to ``on_line``."""
        full_env = dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false")
        full_env.update(env or {})
        process = subprocess.Popen(
            command, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self._processes.append(process)
        tail: List[str] = []
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            buffer = b""
            while True:
                chunk = process.stdout.read1(4096) if hasattr(process.stdout, "read1") else (
                    process.stdout.read(4096)
                )
                if not chunk:
                    break
                buffer += chunk
                parts = re.split(rb"[\r\n]", buffer)
                buffer = parts.pop()
                for part in parts:
                    line = ANSI.sub("", part.decode("utf-8", "replace")).rstrip()
                    if not line:
                        continue
                    on_line(line)
                    tail.append(line)
                    del tail[:-60]
            if buffer.strip():
                line = ANSI.sub("", buffer.decode("utf-8", "replace")).rstrip()
                on_line(line)
                tail.append(line)
            code = process.wait()
        finally:
            timer.cancel()
            self._processes.remove(process)
        return code, tail

    def run_job(self, job_id: int, echo: Callable[[str], None] | None = None) -> TrainingJob:
        """Train a candidate, evaluate it against the current model, record a version."""
        settings = self.settings
        version = self._new_version_id()
        self._update(
            job_id, status="running", started_at=now(), stage="Chuẩn bị dữ liệu",
            progress=1, version=version, host=socket.gethostname(), pid=os.getpid(),
        )
        work = Path(tempfile.mkdtemp(prefix=f"train-{version}-"))
        state = {"progress": PREPARE, "last": 0.0, "stage": "Huấn luyện mô hình"}

        def report(stage: str, progress: int, force: bool = False) -> None:
            stamp = dt.datetime.now().timestamp()
            changed = progress != state["progress"] or stage != state["stage"]
            state["progress"], state["stage"] = progress, stage
            if echo and (changed or force):
                echo(f"[{progress:3d}%] {stage}")
            # The database gets at most two writes a second, however fast tqdm prints.
            if force or (changed and stamp - state["last"] >= 0.5):
                state["last"] = stamp
                self._update(job_id, stage=stage, progress=progress)

        try:
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

            def on_train_line(line: str) -> None:
                percent = parse_progress(line)
                if percent is not None:
                    value = PREPARE + (TRAIN_END - PREPARE) * percent // 100
                    report(f"Huấn luyện mô hình (DIET {percent}%)", max(value, state["progress"]))
                    return
                finished = FINISHED.search(line)
                if finished:
                    report(f"Huấn luyện mô hình: xong {finished.group(1)}", state["progress"])

            code, tail = self._stream(command, on_train_line, TRAIN_TIMEOUT)
            candidate = settings.candidates_dir / f"{version}.tar.gz"
            if code != 0 or not candidate.exists():
                raise TrainingError(
                    f"rasa train thất bại (mã {code}).\n" + "\n".join(tail[-25:])
                )
            report("Đánh giá trên tập kiểm tra", TRAIN_END, force=True)
            result = self._evaluate(candidate, work, report)
            with self.db.session() as session:
                session.add(
                    ModelVersion(
                        id=version,
                        created_at=now(),
                        created_by=self.job(job_id).created_by,
                        job_id=job_id,
                        status="candidate",
                        path=str(candidate),
                        sha256=sha256(candidate),
                        metrics=result["candidate"],
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

    def _evaluate(self, candidate: Path, work: Path, report) -> Dict[str, Any]:
        settings = self.settings
        current = settings.current_model if settings.current_model.exists() else None
        models = [candidate] + ([current] if current else [])
        out = work / "evaluation.json"
        command = [
            sys.executable, "-m", "bot.console.evaluate",
            "--heldout", str(settings.heldout_dir), "--out", str(out),
            *[str(m) for m in models],
        ]

        def on_line(line: str) -> None:
            match = EVAL_PROGRESS.match(line)
            if match:
                done, total = int(match.group(1)), int(match.group(2)) or 1
                value = TRAIN_END + (EVAL_END - TRAIN_END) * done // total
                report(f"Đánh giá trên tập kiểm tra ({done}/{total} câu)", value)

        code, tail = self._stream(command, on_line, EVAL_TIMEOUT)
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
            "current_version": self.version_of_current(),
            "comparison": compare(cand, cur),
        }

    # --- versions ------------------------------------------------------------------

    def versions(self) -> List[ModelVersion]:
        with self.db.session() as session:
            return list(
                session.scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc()))
            )

    def version(self, version_id: str) -> ModelVersion | None:
        with self.db.session() as session:
            return session.get(ModelVersion, version_id)

    def version_of_current(self) -> str | None:
        """The version whose file is models/current.tar.gz now, if the console knows it."""
        current = self.settings.current_model
        if not current.exists():
            return None
        digest = sha256(current)
        with self.db.session() as session:
            found = session.scalar(
                select(ModelVersion)
                .where(ModelVersion.sha256 == digest)
                .order_by((ModelVersion.status == "active").desc())
            )
            return found.id if found else None

    def _install(self, source: Path) -> None:
        """Replace current.tar.gz in one step: Rasa or make never see half a file."""
        target = self.settings.current_model
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copy2(source, tmp)
        os.replace(tmp, target)
        os.utime(target)  # newer than the training inputs: make does not retrain over it

    def _archive_unknown_current(self, session, username: str) -> None:
        """Keep the model that is in use now, even when it was made by ``make train``."""
        current = self.settings.current_model
        if not current.exists():
            return
        digest = sha256(current)
        known = session.scalar(select(ModelVersion).where(ModelVersion.sha256 == digest))
        if known is not None:
            return
        stamp = dt.datetime.fromtimestamp(current.stat().st_mtime, VIETNAM_TZ)
        base = version = f"ngoai-{stamp:%Y%m%d-%H%M%S}"
        n = 1
        while session.get(ModelVersion, version) is not None:
            n += 1
            version = f"{base}-{n}"
        target = self.settings.versions_dir / f"{version}.tar.gz"
        self.settings.versions_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(current, target)
        for active in session.scalars(select(ModelVersion).where(ModelVersion.status == "active")):
            active.status = "retired"
        session.add(
            ModelVersion(
                id=version,
                created_at=stamp.astimezone(dt.timezone.utc),
                created_by="(ngoài bảng điều khiển)",
                status="retired",
                path=str(target),
                sha256=digest,
                note="Mô hình đang dùng trước khi có phiên bản từ bảng điều khiển "
                "(ví dụ do make train tạo), được lưu lại để có thể quay lại.",
            )
        )
        session.flush()

    def promote(self, version_id: str, username: str) -> Tuple[ModelVersion, str, bool]:
        """Make a candidate the current model; returns (version, Rasa message, reloaded)."""
        with self._lock, DATA_LOCK, self.db.session() as session:
            row = session.get(ModelVersion, version_id)
            if row is None:
                raise TrainingError("Không có phiên bản này.")
            if row.status != "candidate":
                raise TrainingError(
                    "Chỉ đưa vào dùng được phiên bản ứng viên; "
                    "với phiên bản cũ hãy dùng “Quay lại phiên bản này”."
                )
            source = Path(row.path)
            if not source.exists():
                raise TrainingError(f"Không tìm thấy tệp mô hình {source}.")
            self._archive_unknown_current(session, username)
            self.settings.versions_dir.mkdir(parents=True, exist_ok=True)
            kept = self.settings.versions_dir / f"{row.id}.tar.gz"
            shutil.copy2(source, kept)
            self._install(kept)
            source.unlink(missing_ok=True)
            for active in session.scalars(
                select(ModelVersion).where(ModelVersion.status == "active")
            ):
                active.status = "retired"
            row.path = str(kept)
            row.sha256 = sha256(kept)
            row.status = "active"
            row.promoted_at = now()
            row.promoted_by = username
        audit.info("model %s promoted by %s", version_id, username)
        reloaded, message = self.reload_rasa()
        return self.version(version_id), message, reloaded

    def rollback(self, version_id: str, username: str) -> Tuple[ModelVersion, str, bool]:
        with self._lock, DATA_LOCK, self.db.session() as session:
            row = session.get(ModelVersion, version_id)
            if row is None:
                raise TrainingError("Không có phiên bản này.")
            if row.status != "retired":
                raise TrainingError("Chỉ quay lại được một phiên bản đã từng dùng trước đây.")
            source = Path(row.path)
            if not source.exists():
                raise TrainingError(f"Không tìm thấy tệp mô hình {source}.")
            self._archive_unknown_current(session, username)
            self._install(source)
            for active in session.scalars(
                select(ModelVersion).where(ModelVersion.status == "active")
            ):
                active.status = "retired"
            row.status = "active"
            row.promoted_at = now()
            row.promoted_by = username
        audit.info("model rolled back to %s by %s", version_id, username)
        reloaded, message = self.reload_rasa()
        return self.version(version_id), message, reloaded

    def discard(self, version_id: str, username: str) -> ModelVersion:
        with self._lock, self.db.session() as session:
            row = session.get(ModelVersion, version_id)
            if row is None or row.status != "candidate":
                raise TrainingError("Chỉ bỏ được phiên bản ứng viên.")
            Path(row.path).unlink(missing_ok=True)
            row.status = "discarded"
        audit.info("candidate %s discarded by %s", version_id, username)
        return self.version(version_id)

    def reload_rasa(self) -> Tuple[bool, str]:
        """Ask the running Rasa server to load models/current.tar.gz."""
        settings = self.settings
        url = f"{settings.rasa_url}/model"
        if settings.rasa_token:
            url += "?token=" + urllib.parse.quote(settings.rasa_token)
        body = json.dumps({"model_file": str(settings.current_model.resolve())}).encode()
        request = urllib.request.Request(
            url, data=body, method="PUT", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
            if status in (401, 403):
                return False, (
                    "Máy chủ Rasa từ chối yêu cầu nạp mô hình (sai RASA_API_TOKEN). "
                    "Mô hình mới đã được lưu và sẽ được dùng khi khởi động lại trợ lý."
                )
            return False, (
                f"Máy chủ Rasa báo lỗi {status} khi nạp mô hình. "
                "Mô hình mới đã được lưu và sẽ được dùng khi khởi động lại trợ lý."
            )
        except (urllib.error.URLError, OSError):
            return False, (
                f"Máy chủ Rasa ({settings.rasa_url}) không chạy nên chưa nạp mô hình mới. "
                "Phiên bản đã được đưa vào dùng và sẽ được nạp khi khởi động lại trợ lý (make run)."
            )
        if 200 <= status < 300:
            return True, "Máy chủ Rasa đã nạp mô hình mới."
        return False, f"Máy chủ Rasa trả về mã {status}."


def version_dict(row: ModelVersion) -> Dict[str, Any]:
    metrics = row.metrics or {}
    return {
        "id": row.id,
        "status": row.status,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "created_by": row.created_by,
        "promoted_at": row.promoted_at.isoformat() if row.promoted_at else None,
        "promoted_by": row.promoted_by,
        "path": row.path,
        "intent_accuracy": metrics.get("intent_accuracy"),
        "macro_f1": metrics.get("macro_f1"),
        "note": row.note,
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


def current_status(trainer: Trainer) -> Dict[str, Optional[str]]:
    current = trainer.settings.current_model
    if not current.exists():
        return {"exists": None, "version": None, "modified": None}
    modified = dt.datetime.fromtimestamp(current.stat().st_mtime, VIETNAM_TZ)
    return {
        "exists": str(current),
        "version": trainer.version_of_current(),
        "modified": modified.strftime("%d/%m/%Y %H:%M"),
    }
