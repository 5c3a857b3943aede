"""What training jobs and model versions share: the error, file digests, free names."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Callable, Dict, Tuple

audit = logging.getLogger("bot.console.audit")


class TrainingError(RuntimeError):
    """A refused or failed training action; the message is Vietnamese."""


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


def unused_name(base: str, taken: Callable[[str], bool]) -> str:
    """``base``, else ``base-2``, ``base-3``… : the first name ``taken`` refuses."""
    name, n = base, 1
    while taken(name):
        n += 1
        name = f"{base}-{n}"
    return name
