"""Every setting the actions read from the environment, in one place."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

PROCEDURES_DIR = Path(
    os.environ.get("PROCEDURES_DIR", PROJECT_ROOT / "data" / "procedures")
)

# The national public-service portal's hotline and e-mail, as printed in its
# footer (procedures_vi.md section 10). A province overrides them with its own
# one-stop office contacts.
HOTLINE = os.environ.get("SUPPORT_HOTLINE", "18001096")
SUPPORT_EMAIL = os.environ.get("SUPPORT_EMAIL", "dichvucong@chinhphu.vn")
OFFICE_NAME = os.environ.get(
    "SUPPORT_OFFICE",
    "Bộ phận Một cửa (Trung tâm Phục vụ hành chính công) của UBND xã/phường nơi bạn cư trú",
)
OFFICE_HOURS = os.environ.get(
    "SUPPORT_OFFICE_HOURS", "giờ hành chính, thứ Hai đến thứ Sáu và sáng thứ Bảy"
)


def today() -> dt.date:
    """Today's date, overridable so tests of dated fees are deterministic."""
    fixed = os.environ.get("ASSISTANT_TODAY")
    if fixed:
        return dt.date.fromisoformat(fixed)
    return dt.date.today()


# Dossier database: an SQLite file by default, PostgreSQL (or any SQLAlchemy
# URL) when DATABASE_URL says so, e.g. postgresql+psycopg2://user@host/db.
DATABASE_URL = os.environ.get(
    "DATABASE_URL", f"sqlite:///{PROJECT_ROOT / 'var' / 'dossiers.db'}"
)
# Server-side secret mixed into the digests of identity and phone numbers, so
# a copied database alone does not reveal them. Set a long random value in
# production; the default only suits local demos and tests.
DOSSIER_PEPPER = os.environ.get("DOSSIER_PEPPER", "local-demo-pepper-change-me")
LOOKUP_MAX_FAILURES = int(os.environ.get("LOOKUP_MAX_FAILURES", "3"))
LOOKUP_LOCK_MINUTES = int(os.environ.get("LOOKUP_LOCK_MINUTES", "15"))
STALLED_AFTER_DAYS = int(os.environ.get("STALLED_AFTER_DAYS", "7"))
# Where the notifier reaches the Rasa server's HTTP API.
RASA_URL = os.environ.get("RASA_URL", "http://127.0.0.1:5005")
# Token the Rasa HTTP API requires (rasa run --auth-token); the notifier sends it.
# `make run` generates one into var/api-token when none is set.
_TOKEN_FILE = PROJECT_ROOT / "var" / "api-token"
RASA_API_TOKEN = os.environ.get("RASA_API_TOKEN") or (
    _TOKEN_FILE.read_text().strip() if _TOKEN_FILE.exists() else ""
)
