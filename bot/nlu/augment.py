"""Deterministic training-time variants of NLU examples, written as citizens type.

The tokenizer already folds diacritics and expands the abbreviation table
(dichvucong/text.py), so accent-stripped and teencode variants mostly produce
the features the original already has; typos are the variants that add
features the model has never seen. All three are generated so the study
(reports/nlu_study.md) can measure which ones pay. Every variant depends only
on the text, the seed and the variant index, never on the order of the data,
so cross-validation folds and full trainings see the same variant of an example.
"""
from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from typing import Dict, Iterable, List, Tuple

from dichvucong.text import ABBREVIATIONS, fold

STYLES = ("accents", "teencode", "typos")

# Neighbouring keys on a QWERTY keyboard, the usual source of substituted letters.
_NEIGHBOURS: Dict[str, str] = {
    "a": "sq", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "g": "fh", "h": "gj",
    "i": "uo", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "a", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "x": "zc",
    "y": "tu",
}
# Telex keys a hurried typist leaves behind when the IME is off ("phis" for "phí").
_TELEX_TONES = "sfrxj"
_WORD = re.compile(r"\w+", re.UNICODE)
_TEENCODE: Tuple[Tuple[Tuple[str, ...], str], ...] = tuple(
    sorted(
        ((tuple(full.split()), short) for short, full in ABBREVIATIONS.items() if len(short) > 1),
        key=lambda item: -len(item[0]),
    )
)


def _rng(text: str, seed: int, index: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{index}:{text}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def strip_accents(text: str) -> str:
    """The message as typed without a Vietnamese keyboard, case kept."""
    out = []
    for char in unicodedata.normalize("NFC", text):
        if char in "đĐ":
            out.append("d" if char == "đ" else "D")
            continue
        base = unicodedata.normalize("NFD", char)
        out.append("".join(c for c in base if unicodedata.category(c) not in ("Mn", "Me")))
    return "".join(out)


def teencode(text: str, rng: random.Random) -> str:
    """Replace phrases of the abbreviation table by their chat form ("được" -> "dc")."""
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
    folded = [fold(w) for w, _, _ in words]
    pieces: List[str] = []
    cursor, i = 0, 0
    while i < len(words):
        for full, short in _TEENCODE:
            if tuple(folded[i:i + len(full)]) == full and rng.random() < 0.8:
                end = words[i + len(full) - 1][2]
                pieces.append(text[cursor:words[i][1]] + short)
                cursor, i = end, i + len(full)
                break
        else:
            i += 1
    return "".join(pieces) + text[cursor:]


def _typo_word(word: str, rng: random.Random) -> str:
    kind = rng.choice(("drop", "double", "swap", "neighbour", "telex"))
    at = rng.randrange(1, len(word))
    if kind == "drop":
        return word[:at] + word[at + 1:]
    if kind == "double":
        return word[:at] + word[at] + word[at:]
    if kind == "swap" and at < len(word) - 1:
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    if kind == "telex":
        return strip_accents(word) + rng.choice(_TELEX_TONES)
    keys = _NEIGHBOURS.get(fold(word[at]), "")
    return word[:at] + rng.choice(keys) + word[at + 1:] if keys else word[:at] + word[at + 1:]


def typos(text: str, rng: random.Random, per_message: int = 2) -> str:
    """One letter dropped, doubled, swapped or mistyped in up to ``per_message`` words."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text) if len(m.group()) >= 3]
    if not spans:
        return text
    chosen = sorted(rng.sample(spans, min(per_message, len(spans))), reverse=True)
    for start, end in chosen:
        text = text[:start] + _typo_word(text[start:end], rng) + text[end:]
    return text


def variants(text: str, styles: Iterable[str], seed: int, copies: int = 1) -> List[str]:
    """New spellings of ``text`` (duplicates of it or of each other left out)."""
    seen = {text}
    out: List[str] = []
    for style in styles:
        for copy in range(copies):
            rng = _rng(text, seed, STYLES.index(style) * 100 + copy)
            if style == "accents":
                new = strip_accents(text)
            elif style == "teencode":
                new = teencode(strip_accents(text) if rng.random() < 0.5 else text, rng)
            else:
                new = typos(text, rng)
            if new not in seen:
                seen.add(new)
                out.append(new)
    return out
