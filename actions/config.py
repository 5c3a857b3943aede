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
