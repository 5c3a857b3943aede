"""Vietnamese text handling shared by the NLU components, actions and channels.

Citizens type with and without diacritics, in composed (NFC) or decomposed (NFD)
Unicode, with old or new tone placement ("hoà"/"hòa") and with chat
abbreviations. Comparisons therefore happen on a *folded* form: lower case,
no diacritics, "đ" -> "d". Folding works character by character and keeps a map
back to the original text, so matches found in the folded form can be reported
with offsets into what the user actually typed.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Dict, List, Tuple

_COMBINING = {"Mn", "Me"}


def normalize(text: str) -> str:
    """NFC with collapsed whitespace: the form stored and shown everywhere."""
    text = unicodedata.normalize("NFC", text or "")
    return re.sub(r"\s+", " ", text).strip()


def _fold_char(char: str) -> str:
    if char in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", char)
    kept = "".join(c for c in base if unicodedata.category(c) not in _COMBINING)
    return kept.lower()


def fold_with_map(text: str) -> Tuple[str, List[int]]:
    """Fold ``text`` and return, for each folded character, its index in ``text``.

    A decomposed combining mark folds to nothing, so NFD input maps back onto
    the base letter it decorates.
    """
    folded: List[str] = []
    origin: List[int] = []
    for index, char in enumerate(text):
        for out in _fold_char(char):
            folded.append(out)
            origin.append(index)
    return "".join(folded), origin


def fold(text: str) -> str:
    return fold_with_map(text)[0]


# Chat abbreviations and teencode seen in citizens' messages, keyed by their
# folded form. Only unambiguous entries in this domain belong here: "dc" is
# "được" in chat far more often than "địa chỉ", "hong" is also "hỏng" and
# most single letters collide with real words once diacritics are gone.
ABBREVIATIONS: Dict[str, str] = {
    "ko": "khong",
    "k": "khong",
    "kh": "khong",
    "hok": "khong",
    "khg": "khong",
    "kg": "khong",
    "dc": "duoc",
    "dk": "dang ky",
    "dky": "dang ky",
    "j": "gi",
    "ji": "gi",
    "ntn": "nhu the nao",
    "bn": "bao nhieu",
    "bnhieu": "bao nhieu",
    "nhiu": "nhieu",
    "hs": "ho so",
    "cccd": "can cuoc cong dan",
    "cmnd": "chung minh nhan dan",
    "cmt": "chung minh nhan dan",
    "gplx": "giay phep lai xe",
    "lltp": "ly lich tu phap",
    "bhyt": "bao hiem y te",
    "bhxh": "bao hiem xa hoi",
    "ubnd": "uy ban nhan dan",
    "dvc": "dich vu cong",
    "dvcqg": "dich vu cong quoc gia",
    "sdt": "so dien thoai",
    "onl": "online",
    "tks": "cam on",
    "thanks": "cam on",
    "thank": "cam on",
    "mn": "moi nguoi",
    "mik": "minh",
    "mk": "minh",
    "vs": "voi",
    "r": "roi",
    "e": "em",
    "ad": "admin",
    "z": "vay",
    "ak": "a",
}

_TOKEN = re.compile(r"\w+", re.UNICODE)


def lemma(token: str) -> str:
    """The diacritic-insensitive, abbreviation-expanded form of one token."""
    folded = fold(token)
    return ABBREVIATIONS.get(folded, folded)


def canonical(text: str) -> str:
    """Folded text with abbreviations expanded, for rule matching on whole messages."""
    return " ".join(lemma(t) for t in _TOKEN.findall(fold(text)))


def find_phrases(text: str, phrases: Dict[str, str]) -> List[Tuple[int, int, str, str]]:
    """Find folded ``phrases`` in ``text`` on word boundaries.

    ``phrases`` maps a phrase (any spelling; it is folded here) to a label.
    Returns ``(start, end, label, matched_text)`` with offsets into ``text``;
    overlapping matches keep the longest.
    """
    folded, origin = fold_with_map(text)
    hits = []
    for phrase, label in phrases.items():
        needle = " ".join(fold(phrase).split())
        if not needle:
            continue
        pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, needle.split())) + r"(?!\w)"
        for match in re.finditer(pattern, folded):
            start = origin[match.start()]
            end = origin[match.end() - 1] + 1
            hits.append((start, end, label, text[start:end]))
    hits.sort(key=lambda h: (-(h[1] - h[0]), h[0]))
    chosen: List[Tuple[int, int, str, str]] = []
    for hit in hits:
        if all(hit[1] <= c[0] or hit[0] >= c[1] for c in chosen):
            chosen.append(hit)
    return sorted(chosen)
