"""Every setting of the assistant's processes, read from the environment once.

Settings are a value, not module constants: each entry point (the action
server, the CLIs, the console, the channels) builds one with
:func:`settings` or :meth:`Settings.from_env`, and tests build their own from
a dictionary. "Today" comes from here everywhere, so dated fees and due dates
can be fixed in tests (``ASSISTANT_TODAY``).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
from pathlib import Path
from typing import Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"
API_TOKEN_FILE = VAR_DIR / "api-token"
SECRET_FILE = VAR_DIR / "assistant-secret"
DEMO_PEPPER = "local-demo-pepper-change-me"


def env_path(env: Mapping[str, str], name: str, default: Path) -> Path:
    value = env.get(name)
    path = Path(value) if value else default
    return path if path.is_absolute() else PROJECT_ROOT / path


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def read_secret(env: Mapping[str, str], name: str, file: Path) -> str:
    """``env[name]``, else the first line of ``file`` (what ``make run`` generates), else ""."""
    value = (env.get(name) or "").strip()
    if not value and file.exists():
        value = file.read_text(encoding="utf-8").strip()
    return value


@dataclasses.dataclass(frozen=True)
class SupportSettings:
    # The national public-service portal's hotline and e-mail, as printed in
    # its footer. A province overrides them with its own one-stop office.
    hotline: str = "18001096"
    email: str = "dichvucong@chinhphu.vn"
    office: str = (
        "Bộ phận Một cửa (Trung tâm Phục vụ hành chính công) của UBND xã/phường nơi bạn cư trú"
    )
    office_hours: str = "giờ hành chính, thứ Hai đến thứ Sáu và sáng thứ Bảy"


@dataclasses.dataclass(frozen=True)
class DossierSettings:
    # An SQLite file by default, PostgreSQL (any SQLAlchemy URL) by DATABASE_URL.
    database_url: str = f"sqlite:///{VAR_DIR / 'dossiers.db'}"
    # Server-side secret mixed into the digests of identity and phone numbers,
    # so that a copied database alone does not reveal them.
    pepper: str = DEMO_PEPPER
    lookup_max_failures: int = 3
    lookup_lock_minutes: int = 15
    stalled_after_days: int = 7


@dataclasses.dataclass(frozen=True)
class HandoffSettings:
    """The live handoff to staff (dichvucong/handoff)."""

    # When staff answer chats; out of these hours the assistant takes a
    # callback request instead ("Mon-Fri 07:30-11:30,13:30-17:00; Sat 07:30-11:30").
    hours: str = "Mon-Fri 07:30-11:30,13:30-17:00"
    timezone: str = "Asia/Ho_Chi_Minh"
    # ISO dates the office is closed although the hours say open (Tết, 2/9...).
    holidays: tuple = ()
    # An active conversation with no message from either side for this long
    # goes back to the assistant.
    idle_timeout_minutes: int = 30
    # A request nobody took for this long is dropped (the citizen is told).
    queued_limit_minutes: int = 240
    # The handling time assumed until enough conversations were handled.
    default_handling_minutes: int = 10


@dataclasses.dataclass(frozen=True)
class RasaApiSettings:
    """Where the notifier and the console reach the Rasa server's HTTP API."""

    url: str = "http://127.0.0.1:5005"
    # rasa run --auth-token; `make run` generates one into var/api-token.
    token: str = ""


@dataclasses.dataclass(frozen=True)
class ActionServerSettings:
    port: int = 5055
    # Loopback unless said otherwise; any other interface needs the token.
    interface: str = "127.0.0.1"
    token: str = ""
    log_level: str = "INFO"


@dataclasses.dataclass(frozen=True)
class ChannelSettings:
    # Signs web chat sessions; replicas must share it (`make run` generates it).
    assistant_secret: str = ""
    # The REST channel's token where credentials.yml sets one (terminal client).
    rest_token: str = ""


@dataclasses.dataclass(frozen=True)
class OperationsSettings:
    # One JSON object per log line (for a log shipper) instead of readable text.
    json_logs: bool = False


@dataclasses.dataclass(frozen=True)
class TelegramToolSettings:
    """What the Telegram polling and admin commands read (docs/telegram.md)."""

    bot_token: str = ""
    secret_token: str = ""
    base_url: str = ""
    poll_timeout: str = "30"

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> TelegramToolSettings:
        env = os.environ if env is None else env
        return cls(
            bot_token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            secret_token=env.get("TELEGRAM_SECRET_TOKEN", "").strip(),
            base_url=env.get("TELEGRAM_API_BASE_URL", "").strip(),
            poll_timeout=env.get("TELEGRAM_POLL_TIMEOUT", "30").strip(),
        )


@dataclasses.dataclass(frozen=True)
class Settings:
    procedures_dir: Path = PROJECT_ROOT / "data" / "procedures"
    fixed_today: Optional[dt.date] = None
    support: SupportSettings = SupportSettings()
    dossiers: DossierSettings = DossierSettings()
    rasa_api: RasaApiSettings = RasaApiSettings()
    handoff: HandoffSettings = HandoffSettings()
    action_server: ActionServerSettings = ActionServerSettings()
    channels: ChannelSettings = ChannelSettings()
    operations: OperationsSettings = OperationsSettings()

    def today(self) -> dt.date:
        return self.fixed_today or dt.date.today()

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        env = os.environ if env is None else env
        support, dossiers, api = SupportSettings(), DossierSettings(), RasaApiSettings()
        handoff = HandoffSettings()
        today = env.get("ASSISTANT_TODAY")
        return cls(
            procedures_dir=env_path(env, "PROCEDURES_DIR", cls.procedures_dir),
            fixed_today=dt.date.fromisoformat(today) if today else None,
            support=SupportSettings(
                hotline=env.get("SUPPORT_HOTLINE", support.hotline),
                email=env.get("SUPPORT_EMAIL", support.email),
                office=env.get("SUPPORT_OFFICE", support.office),
                office_hours=env.get("SUPPORT_OFFICE_HOURS", support.office_hours),
            ),
            dossiers=DossierSettings(
                database_url=env.get("DATABASE_URL") or dossiers.database_url,
                pepper=env.get("DOSSIER_PEPPER") or dossiers.pepper,
                lookup_max_failures=int(env.get("LOOKUP_MAX_FAILURES", dossiers.lookup_max_failures)),
                lookup_lock_minutes=int(env.get("LOOKUP_LOCK_MINUTES", dossiers.lookup_lock_minutes)),
                stalled_after_days=int(env.get("STALLED_AFTER_DAYS", dossiers.stalled_after_days)),
            ),
            handoff=HandoffSettings(
                hours=env.get("HANDOFF_HOURS") or handoff.hours,
                timezone=env.get("HANDOFF_TIMEZONE") or handoff.timezone,
                holidays=tuple(
                    day.strip() for day in (env.get("HANDOFF_HOLIDAYS") or "").split(",")
                    if day.strip()
                ),
                idle_timeout_minutes=int(
                    env.get("HANDOFF_IDLE_MINUTES") or handoff.idle_timeout_minutes),
                queued_limit_minutes=int(
                    env.get("HANDOFF_QUEUED_LIMIT_MINUTES") or handoff.queued_limit_minutes),
                default_handling_minutes=int(
                    env.get("HANDOFF_HANDLING_MINUTES") or handoff.default_handling_minutes),
            ),
            rasa_api=RasaApiSettings(
                url=(env.get("RASA_URL") or api.url).rstrip("/"),
                token=read_secret(env, "RASA_API_TOKEN", API_TOKEN_FILE),
            ),
            action_server=ActionServerSettings(
                port=int(env.get("ACTION_PORT") or ActionServerSettings.port),
                interface=env.get("ACTION_INTERFACE") or ActionServerSettings.interface,
                token=(env.get("ACTION_SERVER_TOKEN") or "").strip(),
                log_level=env.get("LOG_LEVEL") or ActionServerSettings.log_level,
            ),
            channels=ChannelSettings(
                assistant_secret=read_secret(env, "ASSISTANT_SECRET", SECRET_FILE),
                rest_token=(env.get("REST_CHANNEL_TOKEN") or "").strip(),
            ),
            operations=OperationsSettings(
                json_logs=(env.get("LOG_FORMAT") or "").strip().lower() == "json",
            ),
        )


def rasa_env(base: Optional[Mapping[str, str]] = None, **extra: str) -> dict:
    """The environment for a Rasa subprocess: this project importable, telemetry off."""
    env = dict(os.environ if base is None else base)
    env.update(PYTHONPATH=str(PROJECT_ROOT), RASA_TELEMETRY_ENABLED="false", **extra)
    return env


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    """This process's settings, read from the environment on first use."""
    return Settings.from_env()
