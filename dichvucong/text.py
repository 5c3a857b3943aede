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
from collections import Counter
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

_COMBINING = {"Mn", "Me"}


def normalize(text: str) -> str:
    """NFC with collapsed whitespace: the form stored and shown everywhere."""
    text = unicodedata.normalize("NFC", text or "")
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    # Cached: every extractor folds every message, a few hundred characters each.
    if char in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", char)
    kept = "".join(c for c in base if unicodedata.category(c) not in _COMBINING)
    return kept.lower()


@lru_cache(maxsize=1024)
def fold_with_map(text: str) -> Tuple[str, Tuple[int, ...]]:
    """Fold ``text`` and return, for each folded character, its index in ``text``.

    A decomposed combining mark folds to nothing, so NFD input maps back onto
    the base letter it decorates. Cached (and so immutable): each NLU
    extractor folds the same message again, two dozen times per parse.
    """
    folded: List[str] = []
    origin: List[int] = []
    for index, char in enumerate(text):
        for out in _fold_char(char):
            folded.append(out)
            origin.append(index)
    return "".join(folded), tuple(origin)


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

# Telex keys: with the input method off, "căn cước" arrives as "cawn cuwowcs",
# "phí" as "phis", "chào" as "chaof" (tests/nlu/dev/dev_typos*.yml has a dozen).
_TELEX_TONE = "sfrxj"
_VOWELS = frozenset("aeiouy")
# Telex's doubled vowels and "dd", and a last letter held down; not "pp" or "ss" ("app", "miss").
_STRETCHED = re.compile(r"([aeiouydgmnh])\1+")


def _is_syllable(candidate: str, word: str) -> bool:
    return (candidate != word and len(candidate) >= 2 and candidate in real_syllables()
            and bool(_VOWELS & set(candidate)))


@lru_cache(maxsize=8192)
def respell(word: str) -> Optional[str]:
    """The folded syllable a mistyped ``word`` stands for, or None.

    Only a word of three letters or more that is not itself a Vietnamese
    syllable is respelt. Telex keys typed with the input method off: dropping
    the tone key and the vowel keys ("aw", "oo", "dd", "w") and a stretched
    vowel or final ("chaoo", "khongg") leaves a syllable: "cuwowcs" is
    "cuoc", "phis" is "phi". Or the "n" of a final "ng"/"nh" was left out,
    the one slip of bot/nlu/augment.py's typo model that can be undone
    without guessing ("khôg", "dụg"). Swapped letters are not undone: "kai"
    swapped is "kia", a word, where "khai" was meant. Loanwords stay as typed
    ("app", "zalo", "online"), as do "tx" (thị xã) and "bj"; a few English
    words fold onto a syllable ("see" -> "se"), but training data and
    messages are read alike, so the model still sees one word. ``word`` is
    folded.
    """
    if len(word) < 3 or not word.isascii() or not word.isalpha() or word in real_syllables():
        return None
    keys = _STRETCHED.sub(r"\1", word.replace("w", "")) or word
    # The tone key last, as Telex typists type it ("cuwowcs"); not mid-word: "list" is not "lít".
    for candidate in (keys, keys[:-1] if keys[-1] in _TELEX_TONE else keys):
        if _is_syllable(candidate, word):
            return candidate
    if word[-1] in "gh" and word[-2] in _VOWELS and _is_syllable(word[:-1] + "n" + word[-1], word):
        return word[:-1] + "n" + word[-1]
    return None


def _expand(folded: str) -> str:
    """One folded word as the models and matchers read it: abbreviation or slip resolved."""
    return ABBREVIATIONS.get(folded) or respell(folded) or folded


def lemma(token: str) -> str:
    """The diacritic-insensitive, abbreviation-expanded form of one token."""
    return _expand(fold(token))


# One-word replies whose folded form is also another reply: "dừng" (stop) and
# "đừng" (don't) fold like "đúng" (right), "ừa" (yes, in the South) like "ủa"
# (huh?), "ờ" (yeah) like "ở" (at). Typed with their tones, they keep a feature
# of their own; the commoner sense keeps the folded one, which is also what the
# same word typed without tones gets. Only replies: a content word kept apart
# ("vàng", gold, from "vâng", yes) loses what it shares with its misspellings
# ("giá vàg" went to affirm when it was tried).
HOMOGRAPHS = frozenset({"dừng", "đừng", "ừa", "ủa", "ờ"})


def intent_lemma(token: str) -> str:
    """lemma() for the intent model: as lemma(), except the HOMOGRAPHS typed with tones."""
    word = unicodedata.normalize("NFC", token).lower()
    return word if word in HOMOGRAPHS else lemma(token)


def intent_canonical(text: str) -> str:
    """What the intent model reads of ``text``: its intent_lemma words (canonical() keeps the homographs folded)."""
    return " ".join(intent_lemma(t) for t in _TOKEN.findall(unicodedata.normalize("NFC", text or "")))


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


@lru_cache(maxsize=1)
def real_syllables() -> frozenset[str]:
    """Folded syllables of pyvi's Vietnamese dictionary (31,000 words, shipped in the package).

    Empty if pyvi is missing, which leaves only the length rule of _typo.
    """
    try:
        from importlib.resources import files

        words = (files("pyvi") / "models" / "words.txt").read_text(encoding="utf-8")
    except (ImportError, OSError):  # pragma: no cover - pyvi is a dependency
        return frozenset()
    return frozenset(fold(syllable) for line in words.splitlines() for syllable in line.split())


def _typo(word: str, target: str) -> bool:
    """``word`` is a typo of ``target``: one edit away, both of three letters or more.

    Words of one or two letters are nearly always real words, not typos:
    "bà từ quê" is not "báo tử", "bà" being one letter from "báo". A real
    syllable with one letter *changed* is nearly always meant as itself:
    "chuyện khác" is not "chuyển khẩu", "hôm qua tôi" and "có kết quả rồi"
    are not "qua đời", "bạn tư vấn" is not "báo tử". A letter added or
    dropped still reads as a typo, real syllable or not: "căng cước",
    "hông nhân", "thường trúu".
    """
    if len(word) < 3 or len(target) < 3 or not _near(word, target):
        return False
    return len(word) != len(target) or word not in real_syllables()


@lru_cache(maxsize=8192)
def _phrase_words(phrase: str) -> Tuple[str, ...]:
    # Every message is matched against every alias: fold each alias once, not per message.
    return tuple(canonical(phrase).split())


@lru_cache(maxsize=1024)
def _words(text: str) -> Tuple[Tuple[str, int, int], ...]:
    """Canonical words of ``text`` with the span each came from in ``text`` (cached, as above)."""
    folded, origin = fold_with_map(text)
    words = []
    for match in _TOKEN.finditer(folded):
        start, end = origin[match.start()], origin[match.end() - 1] + 1
        for word in _expand(match.group()).split():
            words.append((word, start, end))
    return tuple(words)


# The five tone marks, as combining characters after NFD; "" is the level tone.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


@lru_cache(maxsize=1024)
def _tones(text: str) -> Tuple[Optional[str], ...]:
    """The tone of each of _words(text): its mark, "" for the level tone, None if
    unknown (a word typed without any diacritic, or one of several words an
    abbreviation expands to)."""
    tones: List[Optional[str]] = []
    spans = [(start, end) for _, start, end in _words(text)]
    # Words an abbreviation expands to share the abbreviation's span.
    shared = Counter(spans)
    for start, end in spans:
        token = text[start:end]
        if shared[start, end] > 1 or token.isascii():
            tones.append(None)
            continue
        marks = [c for c in unicodedata.normalize("NFD", token) if c in _TONE_MARKS]
        tones.append(marks[0] if marks else "")
    return tuple(tones)


def tone_conflicts(said: Sequence[Optional[str]], meant: Sequence[Optional[str]]) -> int:
    """Words whose typed tone differs from the phrase's, where both are known.

    Folding makes "bảo tự" (told to do it oneself) the same as "báo tử"
    (death notice): a citizen who typed the tones has told us which is meant.
    """
    return sum(a is not None and b is not None and a != b
               for a, b in zip(said, meant, strict=True))


# (order in the phrase table, canonical words, label, tone of each word). _tones
# and _phrase_words fold and expand a phrase alike, so they always align.
_Entry = Tuple[int, Tuple[str, ...], str, Tuple[Optional[str], ...]]


@lru_cache(maxsize=64)
def _phrase_index(
    items: Tuple[Tuple[str, str], ...]
) -> Tuple[Dict[str, List[_Entry]], Dict[str, List[_Entry]]]:
    """The phrases by their first word, and (for typo matches) by their second word.

    A window that matches a phrase with at most one word wrong has either its
    first word right or, when the first word is the wrong one, its second
    word right; so these two tables yield every candidate the scan of all
    phrases would, and a message is compared with a handful of phrases
    instead of every alias at every position (the parse hot path, issue 14).
    """
    by_first: Dict[str, List[_Entry]] = {}
    by_second: Dict[str, List[_Entry]] = {}
    for order, (phrase, label) in enumerate(items):
        needle = _phrase_words(phrase)
        if not needle:
            continue
        entry = (order, needle, label, _tones(phrase))
        by_first.setdefault(needle[0], []).append(entry)
        if len(needle) >= 2:
            by_second.setdefault(needle[1], []).append(entry)
    return by_first, by_second


def find_phrases(
    text: str, phrases: Dict[str, str], typos: bool = True
) -> List[Tuple[int, int, str, str]]:
    """Find ``phrases`` in ``text`` whatever the diacritics and abbreviations.

    ``phrases`` maps a phrase (any spelling) to a label. Both sides are
    compared as canonical words ("đk kết hôn" matches "đăng ký kết hôn").
    With ``typos``, a phrase of two or more words also matches when one word
    of three letters or more is one edit away from a word of three letters or
    more ("bằg lái", "căng cước", but not "bà từ" or "bạn tư" for "báo tử":
    see _typo), or when one typed tone is wrong ("khai tữ"). A phrase gets one
    slip, not two: "bảo tự" is not "báo tử" (two wrong tones), while "bao tu",
    typed without tones, may be (see tone_conflicts).
    Returns ``(start, end, label, matched_text)`` with offsets into ``text``;
    overlapping matches keep the longest, exact matches before typo matches,
    and among equals the phrase listed first, then the earlier position.
    """
    words = _words(text)
    seq = [w for w, _, _ in words]
    said = _tones(text)
    by_first, by_second = _phrase_index(tuple(phrases.items()))
    hits = []
    seen = set()
    for i, word in enumerate(seq):
        candidates = list(by_first.get(word, ()))
        if typos and i + 1 < len(seq):
            candidates += by_second.get(seq[i + 1], ())
        for order, needle, label, meant in candidates:
            size = len(needle)
            if i + size > len(seq) or (order, i) in seen:
                continue
            misses = [k for k in range(size) if seq[i + k] != needle[k]]
            exact = not misses
            near = typos and size >= 2 and len(misses) == 1 and _typo(seq[i + misses[0]], needle[misses[0]])
            # One mistake per phrase: a wrong letter or a wrong tone ("khai tữ"), not both.
            slips = len(misses) + tone_conflicts(said[i:i + size], meant)
            if (exact or near) and slips <= (1 if typos and size >= 2 else 0):
                seen.add((order, i))
                start, end = words[i][1], words[i + size - 1][2]
                hits.append((not exact, -(end - start), start, order, i, label, text[start:end]))
    hits.sort()
    chosen: List[Tuple[int, int, str, str]] = []
    for _, _, start, _, _, label, matched in hits:
        end = start + len(matched)
        if all(end <= c[0] or start >= c[1] for c in chosen):
            chosen.append((start, end, label, matched))
    return sorted(chosen)
