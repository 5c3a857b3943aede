"""Readiness checks: is each dependency of a process reachable right now?

``/health`` on each process stays a cheap liveness answer (the process is up);
``/ready`` runs these checks so a load balancer or an operator sees *which*
dependency is down: the tracker store, the dossier database, the action
server, the lock store. Each check runs in a thread with a time limit, so a
hung database cannot hang the health endpoint itself, and a failure is
reported by name without its details (a connection string can hold a password).
"""
from __future__ import annotations

import asyncio
import logging
import urllib.request
from typing import Any, Callable, Dict, Mapping, Tuple

from sqlalchemy import text
from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

Check = Callable[[], Any]
TIMEOUT_SECONDS = 3.0


def database(engine: Engine) -> Check:
    def check() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return check


def http_ok(url: str, timeout: float = TIMEOUT_SECONDS) -> Check:
    def check() -> None:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (operator's URL)
            if answer.status >= 400:
                raise RuntimeError(f"HTTP {answer.status}")

    return check


def truthy(predicate: Callable[[], bool], what: str) -> Check:
    def check() -> None:
        if not predicate():
            raise RuntimeError(what)

    return check


async def _run_one(name: str, check: Check, timeout: float) -> Tuple[str, str]:
    try:
        await asyncio.wait_for(asyncio.to_thread(check), timeout)
        return name, "ok"
    except asyncio.TimeoutError:
        logger.warning("readiness: %s timed out", name)
        return name, "timeout"
    except Exception as error:  # any failure of a dependency is a "down", not a crash
        logger.warning("readiness: %s failed: %s", name, type(error).__name__)
        return name, "down"


async def run(checks: Mapping[str, Check], timeout: float = TIMEOUT_SECONDS) -> Tuple[int, Dict]:
    """(HTTP status, body): 200 when every check passed, else 503."""
    results = dict(await asyncio.gather(*(_run_one(n, c, timeout) for n, c in checks.items())))
    ready = all(value == "ok" for value in results.values())
    return (200 if ready else 503), {"status": "ok" if ready else "unavailable", "checks": results}
