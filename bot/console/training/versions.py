"""Model versions: promote a candidate, roll back to an older model, discard a candidate.

Every model is kept under ``models/versions/``; the one in use is copied to
``models/current.tar.gz``, which ``make run`` serves, and the running Rasa
server is asked to load it. Promotion and rollback are the same move (make a
version the active one) and go through ``_activate``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import select

from bot.console import clock
from bot.console.db import Database, ModelVersion, now
from bot.console.nludata import DATA_LOCK
from bot.console.settings import Settings
from bot.console.training.common import TrainingError, audit, sha256, unused_name

SAVED_NOTE = "Mô hình mới đã được lưu và sẽ được dùng khi khởi động lại trợ lý."


class ModelVersions:
    def __init__(self, settings: Settings, db: Database, lock: threading.Lock) -> None:
        self.settings = settings
        self.db = db
        self._lock = lock  # the trainer's: no promotion while a job is being created

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

    # --- changing the model in use --------------------------------------------------

    def promote(self, version_id: str, username: str) -> Tuple[ModelVersion, str, bool]:
        """Make a candidate the current model; returns (version, Rasa message, reloaded)."""
        return self._activate(
            version_id, username, "candidate",
            "Chỉ đưa vào dùng được phiên bản ứng viên; "
            "với phiên bản cũ hãy dùng “Quay lại phiên bản này”.",
            keep=True, audit_message="model %s promoted by %s",
        )

    def rollback(self, version_id: str, username: str) -> Tuple[ModelVersion, str, bool]:
        """Make a version used before the current model again."""
        return self._activate(
            version_id, username, "retired",
            "Chỉ quay lại được một phiên bản đã từng dùng trước đây.",
            keep=False, audit_message="model rolled back to %s by %s",
        )

    def discard(self, version_id: str, username: str) -> ModelVersion:
        with self._lock, self.db.session() as session:
            row = session.get(ModelVersion, version_id)
            if row is None or row.status != "candidate":
                raise TrainingError("Chỉ bỏ được phiên bản ứng viên.")
            Path(row.path).unlink(missing_ok=True)
            row.status = "discarded"
        audit.info("candidate %s discarded by %s", version_id, username)
        return self.version(version_id)

    def _activate(
        self, version_id: str, username: str, status: str, refusal: str, *, keep: bool,
        audit_message: str,
    ) -> Tuple[ModelVersion, str, bool]:
        """Install a version whose status is ``status`` as models/current.tar.gz and mark
        it active (the one active before is retired); ``keep`` first moves its file from
        the candidates to the versions folder. Then Rasa is asked to load it."""
        with self._lock, DATA_LOCK, self.db.session() as session:
            row = session.get(ModelVersion, version_id)
            if row is None:
                raise TrainingError("Không có phiên bản này.")
            if row.status != status:
                raise TrainingError(refusal)
            source = Path(row.path)
            if not source.exists():
                raise TrainingError(f"Không tìm thấy tệp mô hình {source}.")
            self._archive_unknown_current(session)
            installed = self._keep(source, row.id) if keep else source
            self._install(installed)
            if installed != source:
                source.unlink(missing_ok=True)
                row.path, row.sha256 = str(installed), sha256(installed)
            self._retire_active(session)
            row.status = "active"
            row.promoted_at = now()
            row.promoted_by = username
        audit.info(audit_message, version_id, username)
        reloaded, message = self.reload_rasa()
        return self.version(version_id), message, reloaded

    @staticmethod
    def _retire_active(session) -> None:
        for active in session.scalars(select(ModelVersion).where(ModelVersion.status == "active")):
            active.status = "retired"

    def _keep(self, source: Path, version_id: str) -> Path:
        self.settings.versions_dir.mkdir(parents=True, exist_ok=True)
        kept = self.settings.versions_dir / f"{version_id}.tar.gz"
        shutil.copy2(source, kept)
        return kept

    def _install(self, source: Path) -> None:
        """Replace current.tar.gz in one step: Rasa or make never see half a file."""
        target = self.settings.current_model
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copy2(source, tmp)
        os.replace(tmp, target)
        os.utime(target)  # newer than the training inputs: make does not retrain over it

    def _archive_unknown_current(self, session) -> None:
        """Keep the model that is in use now, even when it was made by ``make train``."""
        current = self.settings.current_model
        if not current.exists():
            return
        digest = sha256(current)
        known = session.scalar(select(ModelVersion).where(ModelVersion.sha256 == digest))
        if known is not None:
            return
        stamp = clock.file_time(current.stat().st_mtime)
        version = unused_name(
            f"ngoai-{stamp:%Y%m%d-%H%M%S}", lambda name: session.get(ModelVersion, name) is not None
        )
        target = self._keep(current, version)
        # What was marked active is not what is in use: the file changed behind our back.
        self._retire_active(session)
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
                    + SAVED_NOTE
                )
            return False, f"Máy chủ Rasa báo lỗi {status} khi nạp mô hình. " + SAVED_NOTE
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


def current_status(models: ModelVersions) -> Dict[str, Optional[str]]:
    """What models/current.tar.gz is, for the training page."""
    current = models.settings.current_model
    if not current.exists():
        return {"exists": None, "version": None, "modified": None}
    return {
        "exists": str(current),
        "version": models.version_of_current(),
        "modified": clock.fmt_time(clock.file_time(current.stat().st_mtime)),
    }
