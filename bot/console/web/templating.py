"""The Jinja2 environment of the pages: template folder, filters and globals."""

from __future__ import annotations

import functools
import urllib.parse
from pathlib import Path
from typing import Dict

import jinja2
import yaml

from bot.console import charts
from bot.console.clock import fmt_time
from bot.console.conversation import REASON_LABELS
from bot.console.db import DECISION_LABELS, ROLE_LABELS
from bot.console.settings import ROOT
from dichvucong.knowledge.base import PROCEDURE_IDS

CONSOLE_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = CONSOLE_DIR / "templates"
STATIC_DIR = CONSOLE_DIR / "static"


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else charts.percent(value)


def fmt_delta(value: float | None) -> str:
    if value is None:
        return "—"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return sign + f"{abs(value) * 100:.1f}".replace(".", ",")


@functools.lru_cache(maxsize=1)
def procedure_labels() -> Dict[str, str]:
    labels = {}
    for pid in PROCEDURE_IDS:
        path = ROOT / "data" / "procedures" / f"{pid}.yml"
        try:
            labels[pid] = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(
                "short_name"
            ) or pid
        except (OSError, yaml.YAMLError):
            labels[pid] = pid
    return labels


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        time=fmt_time,
        pct=fmt_pct,
        delta=fmt_delta,
        procedure=lambda pid: procedure_labels().get(pid, pid or "—"),
        conf=lambda c: "—" if c is None else f"{c:.2f}".replace(".", ","),
        quote=lambda s: urllib.parse.quote(str(s), safe=""),
    )
    env.globals.update(
        PROCEDURES=PROCEDURE_IDS,
        ROLE_LABELS=ROLE_LABELS,
        DECISION_LABELS=DECISION_LABELS,
        REASON_LABELS=REASON_LABELS,
    )
    return env
