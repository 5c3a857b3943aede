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
from functools import lru_cache
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


def _near(word: str, target: str) -> bool:
    """True when ``word`` is ``target`` with one letter added, dropped or changed."""
    if abs(len(word) - len(target)) > 1 or word == target:
        return word == target
    if len(word) == len(target):
        return sum(a != b for a, b in zip(word, target, strict=True)) == 1
    short, long_ = sorted((word, target), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


@lru_cache(maxsize=8192)
def _phrase_words(phrase: str) -> Tuple[str, ...]:
    # Every message is matched against every alias: fold each alias once, not per message.
    return tuple(canonical(phrase).split())


def _words(text: str) -> List[Tuple[str, int, int]]:
    """Canonical words of ``text`` with the span each came from in ``text``."""
    folded, origin = fold_with_map(text)
    words = []
    for match in _TOKEN.finditer(folded):
        start, end = origin[match.start()], origin[match.end() - 1] + 1
        for word in ABBREVIATIONS.get(match.group(), match.group()).split():
            words.append((word, start, end))
    return words


def find_phrases(
    text: str, phrases: Dict[str, str], typos: bool = True
) -> List[Tuple[int, int, str, str]]:
    """Find ``phrases`` in ``text`` whatever the diacritics and abbreviations.

    ``phrases`` maps a phrase (any spelling) to a label. Both sides are
    compared as canonical words ("đk kết hôn" matches "đăng ký kết hôn").
    With ``typos``, a phrase of two or more words also matches when one word
    of three letters or more is one edit away ("khai sanh", "bằg lái").
    Returns ``(start, end, label, matched_text)`` with offsets into ``text``;
    overlapping matches keep the longest, exact matches before typo matches.
    """
    words = _words(text)
    seq = [w for w, _, _ in words]
    hits = []
    for phrase, label in phrases.items():
        needle = _phrase_words(phrase)
        size = len(needle)
        for i in range(len(seq) - size + 1):
            window = seq[i:i + size]
            misses = [k for k in range(size) if window[k] != needle[k]]
            exact = not misses
            near = (
                typos and size >= 2 and len(misses) == 1
                and len(needle[misses[0]]) >= 3 and _near(window[misses[0]], needle[misses[0]])
            )
            if exact or near:
                start, end = words[i][1], words[i + size - 1][2]
                hits.append((start, end, label, text[start:end], exact))
    hits.sort(key=lambda h: (not h[4], -(h[1] - h[0]), h[0]))
    chosen: List[Tuple[int, int, str, str]] = []
    for start, end, label, matched, _ in hits:
        if all(end <= c[0] or start >= c[1] for c in chosen):
            chosen.append((start, end, label, matched))
    return sorted(chosen)
