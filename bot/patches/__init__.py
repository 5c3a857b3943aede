"""Every framework function this project replaces, in one place.

Rasa 3.6 spends much of a turn's CPU outside the model (issue 12's profile):
the action-result JSON-schema check rebuilds and re-checks its schema on every
call, and the SQL tracker store re-reads and re-parses the whole conversation
on every message; the graph runner schedules its nodes through dask on
every call (``graph_runner``); and loading the model runs a training step only to build
the weights it then overwrites (``model_load``, most of the server's ready
time). The fixes are switched on by ``install()``, which the
tracker store calls when Rasa creates it, so they run only in a Rasa server
configured with our tracker store (Rasa's stock configuration stays stock).

Always installed with them: a custom action that cannot reach the action
server answers the citizen in Vietnamese instead of silence
(``action_unavailable``), and a tracker store that cannot be reached fails
the turn instead of answering from an empty, unsaved conversation
(``tracker_store_failsafe``).

A replacement is only correct for the Rasa it was read against:
``require_rasa`` refuses to start on any other version.

``ASSISTANT_HOTPATH`` picks the fixes (``make bench --steps`` measures each):
unset or ``all`` = every step, ``none`` = none, or a comma list of STEPS.
"""
from __future__ import annotations

import importlib
import os
from typing import FrozenSet

import rasa

SUPPORTED_RASA = "3.6.21"
# In the order `make bench --steps` switches them on.
STEPS = ("schema", "tracker", "graph", "load")
_installed: set = set()
# Installed whatever ASSISTANT_HOTPATH says: they are behaviour, not speed.
ALWAYS = ("action_unavailable", "tracker_store_failsafe")
# (step, module in bot.patches) in installation order; "tracker" has no module
# here: the tracker store itself switches its memory on (bot/tracker_store.py).
_REPLACEMENTS = (
    ("action_unavailable", "action_unavailable"),
    ("tracker_store_failsafe", "tracker_store_failsafe"),
    ("schema", "action_schema"),
    ("graph", "graph_runner"),
    ("load", "model_load"),
)


def require_rasa(what: str) -> None:
    """Refuse to run a replacement against a Rasa it was not checked against."""
    if rasa.__version__ != SUPPORTED_RASA:
        raise RuntimeError(
            f"{what} replaces Rasa {SUPPORTED_RASA} code; check it against "
            f"Rasa {rasa.__version__} first"
        )


def enabled() -> FrozenSet[str]:
    raw = os.environ.get("ASSISTANT_HOTPATH", "all").strip().lower()
    if raw in ("", "all"):
        return frozenset(STEPS)
    if raw == "none":
        return frozenset()
    chosen = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = chosen - set(STEPS)
    if unknown:
        raise ValueError(f"ASSISTANT_HOTPATH: unknown steps {sorted(unknown)}; known {STEPS}")
    return chosen


def install() -> FrozenSet[str]:
    """Apply the enabled process-wide replacements once; returns the enabled steps."""
    require_rasa("bot.patches")
    steps = enabled()
    for step, module in _REPLACEMENTS:
        if (step in ALWAYS or step in steps) and step not in _installed:
            importlib.import_module(f"bot.patches.{module}").install()
            _installed.add(step)
    return steps
