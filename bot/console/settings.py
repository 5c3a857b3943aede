"""Every setting of the console, read from the environment in one place.

Settings are an object rather than module constants so that tests (and the
training subprocesses) can run several consoles with different folders in
one interpreter.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

from bot.cli.common import relative_to_root
from dichvucong.settings import API_TOKEN_FILE, PROJECT_ROOT, env_bool, env_path, read_secret
from dichvucong.settings import settings as assistant_settings

ROOT = PROJECT_ROOT
# The assistant's settings (read once from the environment): the console's defaults
# for the database and the Rasa API are the assistant's own.
_SHARED = assistant_settings()


def shown(path: Path) -> Path:
    """A path as staff should read it: relative to the project when inside it."""
    return relative_to_root(path)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5080
    database_url: str = _SHARED.dossiers.database_url
    # The tracker store is read directly: an SQLAlchemy URL wins over the
    # SQLite path that endpoints.yml uses by default.
    tracker_url: str | None = None
    tracker_db: Path = ROOT / "var" / "tracker.db"
    # Below this confidence a user message goes to the review inbox even
    # when the FallbackClassifier (0.55) let the bot answer.
    low_confidence: float = 0.7
    session_hours: float = 8.0
    session_idle_minutes: float = 60.0
    secure_cookie: bool = False
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    # Per address, higher than per account: one office may sit behind one NAT.
    login_max_failures_per_ip: int = 30
    train_config: Path = ROOT / "config.yml"
    domain_dir: Path = ROOT / "domain"
    nlu_dir: Path = ROOT / "data" / "nlu"
    rules_dir: Path = ROOT / "data" / "rules"
    heldout_dir: Path = ROOT / "tests" / "nlu"
    models_dir: Path = ROOT / "models"
    rasa_bin: Path = Path(sys.executable).parent / "rasa"
    rasa_url: str = _SHARED.rasa_api.url
    rasa_token: str = _SHARED.rasa_api.token
    auto_migrate: bool = True
    # Quality scale, themes and on-time targets (bot/console/quality.yml).
    quality_file: Path = Path(__file__).resolve().parent / "quality.yml"
    # How often the console ends idle handoff conversations (0: only the cron command
    # ``python -m bot.cli.handoff expire`` does).
    handoff_sweep_seconds: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        token = read_secret(env, "RASA_API_TOKEN", API_TOKEN_FILE)
        defaults = cls()
        return cls(
            host=env.get("CONSOLE_HOST", defaults.host),
            port=int(env.get("CONSOLE_PORT", defaults.port)),
            database_url=env.get("DATABASE_URL") or _SHARED.dossiers.database_url,
            tracker_url=env.get("TRACKER_URL") or None,
            tracker_db=env_path(env, "TRACKER_DB", defaults.tracker_db),
            low_confidence=float(env.get("CONSOLE_LOW_CONFIDENCE", defaults.low_confidence)),
            session_hours=float(env.get("CONSOLE_SESSION_HOURS", defaults.session_hours)),
            session_idle_minutes=float(
                env.get("CONSOLE_SESSION_IDLE_MINUTES", defaults.session_idle_minutes)
            ),
            secure_cookie=env_bool(env, "CONSOLE_SECURE_COOKIE", defaults.secure_cookie),
            login_max_failures=int(
                env.get("CONSOLE_LOGIN_MAX_FAILURES", defaults.login_max_failures)
            ),
            login_lock_minutes=int(
                env.get("CONSOLE_LOGIN_LOCK_MINUTES", defaults.login_lock_minutes)
            ),
            train_config=env_path(env, "CONSOLE_TRAIN_CONFIG", defaults.train_config),
            domain_dir=env_path(env, "CONSOLE_DOMAIN_DIR", defaults.domain_dir),
            nlu_dir=env_path(env, "CONSOLE_NLU_DIR", defaults.nlu_dir),
            rules_dir=env_path(env, "CONSOLE_RULES_DIR", defaults.rules_dir),
            heldout_dir=env_path(env, "CONSOLE_HELDOUT_DIR", defaults.heldout_dir),
            models_dir=env_path(env, "CONSOLE_MODELS_DIR", defaults.models_dir),
            rasa_bin=env_path(env, "CONSOLE_RASA_BIN", defaults.rasa_bin),
            rasa_url=(env.get("RASA_URL") or _SHARED.rasa_api.url).rstrip("/"),
            rasa_token=token,
            auto_migrate=env_bool(env, "CONSOLE_AUTO_MIGRATE", True),
            quality_file=env_path(env, "CONSOLE_QUALITY_FILE", defaults.quality_file),
            handoff_sweep_seconds=float(
                env.get("CONSOLE_HANDOFF_SWEEP_SECONDS", defaults.handoff_sweep_seconds)
            ),
        )

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def current_model(self) -> Path:
        return self.models_dir / "current.tar.gz"

    @property
    def candidates_dir(self) -> Path:
        return self.models_dir / "candidates"

    @property
    def versions_dir(self) -> Path:
        return self.models_dir / "versions"

    @property
    def reviewed_file(self) -> Path:
        return self.nlu_dir / "reviewed.yml"

    @property
    def custom_domain_file(self) -> Path:
        return self.domain_dir / "custom_intents.yml"

    @property
    def custom_nlu_file(self) -> Path:
        return self.nlu_dir / "custom_intents.yml"

    @property
    def custom_rules_file(self) -> Path:
        return self.rules_dir / "custom_intents.yml"
