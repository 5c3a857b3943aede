"""Locality resolution on tests/nlu/heldout_localities.yml (never trained on).

Each annotated span carries today's unit(s); the whole message goes through
the same resolution the NLU component uses, and the result must name them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from dichvucong.localities.answers import today_label
from dichvucong.localities.resolve import resolve

HELDOUT = Path(__file__).resolve().parent.parent / "nlu" / "heldout_localities.yml"
MIN_RESOLUTION = 0.95
_ANNOTATION = re.compile(r"\[([^\]]+)\](\{[^}]*\})")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """The library's online geocoder must never be reached."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network call attempted: {args!r}")

    monkeypatch.setattr("socket.socket.connect", refuse)
    monkeypatch.setattr("socket.create_connection", refuse)


def examples():
    data = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    for block in data["nlu"]:
        for line in block["examples"].splitlines():
            line = line.strip()[2:]
            if not line:
                continue
            expected = [json.loads(m.group(2))["value"] for m in _ANNOTATION.finditer(line)
                        if json.loads(m.group(2))["entity"] == "locality"]
            yield _ANNOTATION.sub(lambda m: m.group(1), line), expected[0]


def test_heldout_is_large_and_varied():
    cases = list(examples())
    assert len(cases) >= 100
    assert sum(" | " in expected for _, expected in cases) >= 10  # divided wards
    assert sum(text.isascii() for text, _ in cases) >= 40  # without diacritics


def test_locality_resolution_on_heldout(capsys):
    cases = list(examples())
    misses = []
    for text, expected in cases:
        found = resolve(text)
        got = today_label(found.unit.label) if found and found.unit else ""
        if got != expected:
            misses.append(f"{text!r}: expected {expected!r}, got {got!r}")
    rate = 1 - len(misses) / len(cases)
    with capsys.disabled():
        print(f"\nLocality resolution (held-out, n={len(cases)}): {rate:.1%}")
        for miss in misses:
            print("  " + miss)
    assert rate >= MIN_RESOLUTION
