"""Find province, district and commune names in a citizen's message.

Citizens write old names (before 1 July 2025) and new ones, with or without
diacritics and with abbreviations ("tx", "tp", "p.", "h.", "q.", "p1").
Names are matched as folded word sequences in a prebuilt index (a few dict
lookups per word, so the NLU hot path stays fast). A name typed with its kind
("phường Thác Mơ", "tx Phước Long") is trusted; a bare name counts only when it
is a province, is unique in the country and follows "ở"/"tại", or is confirmed by another name of the
same message ("Thác Mơ, Phước Long, Bình Phước"). When several units fit
equally, the result keeps only what they share, so the assistant asks rather
than guesses.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Dict, List, Optional, Tuple

from dichvucong.localities.units import COMMUNE, DISTRICT, NEW, PROVINCE, UNITS, Unit, ancestors
from dichvucong.text import fold_with_map

MAX_WORDS = 7
# How citizens write each kind of unit, folded. Single letters only count
# right before a name ("p. Đa Kao", "q1"), never alone.
KIND_WORDS: Dict[str, Tuple[str, ...]] = {
    "Tỉnh": ("tinh",),
    "Thành phố": ("thanh pho", "tp"),
    "Quận": ("quan", "q"),
    "Huyện": ("huyen", "h"),
    "Thị xã": ("thi xa", "tx"),
    "Phường": ("phuong", "p", "f"),
    "Xã": ("xa", "x"),
    "Thị trấn": ("thi tran", "tt"),
    "Đặc khu": ("dac khu",),
}
# Short names citizens use for the largest cities.
EXTRA_ALIASES: Dict[str, str] = {
    "hn": "new:thanhphohanoi",
    "hcm": "new:thanhphohochiminh",
    "tphcm": "new:thanhphohochiminh",
    "sai gon": "new:thanhphohochiminh",
    "sg": "new:thanhphohochiminh",
    "tp hcm": "new:thanhphohochiminh",
    "tp ho chi minh": "new:thanhphohochiminh",
    "vung tau": "old:tinhbariavungtau",
    "ba ria vung tau": "old:tinhbariavungtau",
    "brvt": "old:tinhbariavungtau",
}
# Bare names that are also everyday words in questions about procedures.
COMMON_WORDS = {"trung tam", "hanh chinh", "cong an", "nha nuoc", "thanh cong", "dong tam"}
# A bare commune name ("Thác Mơ") counts alone only after one of these;
# otherwise "gia đình" would be phường Gia Định.
CUE_WORDS = {"o", "tai", "thuoc"}
_TOKEN = re.compile(r"[a-z]+|\d+")


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    keys: Tuple[str, ...]
    typed: bool
    unique: bool
    cued: bool  # right after "ở", "tại", "thuộc": the citizen is saying where
    first: int = 0  # word indices, to tell an address ("Thác Mơ, Phước Long")
    last: int = 0  # from names scattered over a sentence


@dataclass(frozen=True)
class Resolution:
    """What the message names: ``unit`` when one unit fits, else ``None`` with
    ``candidates`` (the units that fit equally) and the span to quote."""

    unit: Optional[Unit]
    candidates: Tuple[str, ...]
    start: int
    end: int
    text: str
    parts: Tuple[Tuple[int, int], ...] = ()  # the spans of the names used


def _tokens(text: str) -> Tuple[List[str], List[Tuple[int, int]]]:
    folded, origin = fold_with_map(text)
    words, spans = [], []
    for match in _TOKEN.finditer(folded):
        words.append(match.group())
        spans.append((origin[match.start()], origin[match.end() - 1] + 1))
    return words, spans


@cache
def _phrase(text: str) -> Tuple[str, ...]:
    return tuple(_tokens(text)[0])


_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def _signature(word: str) -> Tuple[str, str]:
    """Letters with their vowel shapes, and the tone wherever it is placed,
    so "hoà" and "hòa" agree while "làm" and "Lâm" do not."""
    letters, tone = [], ""
    for char in unicodedata.normalize("NFD", word.lower()):
        if char in _TONES:
            tone = char
        else:
            letters.append(char)
    return unicodedata.normalize("NFC", "".join(letters)), tone


@lru_cache(maxsize=65536)
def _accented(word: str) -> bool:
    return word.isalpha() and not word.isascii()


def _raw_words(text: str) -> List[str]:
    return re.findall(r"[^\W\d_]+|\d+", unicodedata.normalize("NFC", text))


def _variants(unit: Unit) -> List[Tuple[Tuple[str, ...], bool, Tuple[str, ...]]]:
    """(folded words, typed, accented words) for each way of writing the unit."""
    # The library's short name of a numbered unit keeps its kind ("Quận 3").
    bare = unit.short[len(unit.kind):].strip() if unit.short.startswith(unit.kind + " ") else unit.short
    short_raw = tuple(_raw_words(bare))
    short = _phrase(bare)
    out = [(_phrase(n), True, tuple(_raw_words(n))) for n in [unit.name, *unit.former_names]]
    kinds = KIND_WORDS.get(unit.kind, ())
    if unit.level == PROVINCE and unit.kind == "Thành phố":
        kinds += ("tinh",)  # "tỉnh Hà Nội" is common and harmless
    out += [(_phrase(w) + short, True, tuple(w.split()) + short_raw) for w in kinds]
    numeric = short and short[0].isdigit()
    if not numeric and (len(short) >= 2 or unit.level == PROVINCE):
        out.append((short, False, short_raw))
    return out


Entry = Dict[str, Tuple[bool, Tuple[str, ...]]]


@lru_cache(maxsize=1)
def index() -> Dict[Tuple[str, ...], Entry]:
    """Folded phrase → {unit key: (typed, accented words)}. Built once."""
    table: Dict[Tuple[str, ...], Entry] = {}
    for unit in UNITS().by_key.values():
        for words, typed, raw in _variants(unit):
            if words and " ".join(words) not in COMMON_WORDS:
                entry = table.setdefault(words, {})
                if typed or unit.key not in entry:
                    entry[unit.key] = (typed, raw)
    for alias, key in EXTRA_ALIASES.items():
        table.setdefault(_phrase(alias), {})[key] = (False, ())
    return table


def _agrees(said: List[str], raw: Tuple[str, ...], typed: bool) -> bool:
    """Accented words the citizen typed must match the name's accents; words
    typed without accents match any. A one-syllable name after its kind
    ("xã Tư") needs its accents: "xa tu 2 tuan" is "xã từ 2 tuần"."""
    if len(raw) != len(said):
        return True  # aliases ("tphcm") carry no accents to compare
    for word, name in zip(said, raw, strict=True):
        if _accented(word) and _accented(name) and _signature(word) != _signature(name):
            return False
    one_syllable = typed and len(raw) == 2 and not raw[1].isdigit()
    return not (one_syllable and _accented(raw[1]) and not _accented(said[1]))


def _filter(entry: Entry, typed_words: List[str]) -> Dict[str, bool]:
    return {key: typed for key, (typed, raw) in entry.items() if _agrees(typed_words, raw, typed)}


def mentions(text: str) -> List[Mention]:
    words, spans = _tokens(text)
    table = index()
    found: List[Mention] = []
    i = 0
    while i < len(words):
        for size in range(min(MAX_WORDS, len(words) - i), 0, -1):
            entry = table.get(tuple(words[i:i + size]))
            said = [text[a:b] for a, b in spans[i:i + size]]
            keys = _filter(entry, said) if entry else None
            if keys:
                found.append(_mention(keys, spans[i][0], spans[i + size - 1][1],
                                      i > 0 and words[i - 1] in CUE_WORDS, (i, i + size - 1)))
                i += size
                break
        else:
            i += 1
    return found


def _mention(
    keys: Dict[str, bool], start: int, end: int, cued: bool, words: Tuple[int, int]
) -> Mention:
    typed = any(keys.values())
    if not typed:
        # A bare name that is also a province is the province: "ở Long An"
        # is not phường Long An of Tây Ninh.
        units = UNITS().by_key
        provinces = {k: t for k, t in keys.items() if units[k].level == PROVINCE}
        keys = provinces or keys
    else:
        keys = {k: t for k, t in keys.items() if t}
    return Mention(start, end, tuple(keys), typed, len(keys) == 1, cued, *words)


_DEPTH = {PROVINCE: 0, DISTRICT: 1, COMMUNE: 2}


def _adjacent(a: Mention, b: Mention) -> bool:
    """A bare name is confirmed only by a name next to it, as in an address:
    "lao cai thi di lam thuong tru" does not name xã Lâm Thượng."""
    gap = b.first - a.last - 1 if b.first > a.last else a.first - b.last - 1
    return gap <= 1


def _score(unit: Unit, own: Mention, found: List[Mention]) -> Optional[Tuple[int, ...]]:
    confirming = set(ancestors(unit))
    # A repeated name ("Long An ... về Long An") does not confirm itself.
    confirmed = [
        m for m in found
        if m is not own and unit.key not in m.keys and confirming.intersection(m.keys)
        and (own.typed or _adjacent(own, m))
    ]
    # Names of the same era break ties: "xã Phú Hữu, huyện Châu Thành, Hậu
    # Giang" is the old commune, even though a new xã Phú Hữu exists.
    same_era = sum(
        1 for m in confirmed if any(k.startswith(unit.era + ":") for k in m.keys)
    )
    alone_ok = unit.level == PROVINCE or (own.unique and own.cued)
    if not (own.typed or confirmed or alone_ok):
        return None
    return (len(confirmed), _DEPTH[unit.level], int(own.typed), same_era, int(unit.era == NEW))


def resolve(text: str) -> Optional[Resolution]:
    """The unit the message names, or the tied candidates; None if no name."""
    found = mentions(text)
    if not found:
        return None
    units = UNITS().by_key
    scored = [
        (score, key, m)
        for m in found
        for key in m.keys
        if (score := _score(units[key], m, found)) is not None
    ]
    if not scored:
        return None
    best = max(s for s, _, _ in scored)
    keys = tuple(dict.fromkeys(k for s, k, _ in scored if s == best))
    used = [m for m in found if any(k in m.keys or k in _confirmed_by(keys, m) for k in keys)]
    start, end = min(m.start for m in used), max(m.end for m in used)
    unit = units[keys[0]] if len(keys) == 1 else None
    parts = tuple((m.start, m.end) for m in used)
    return Resolution(unit, keys, start, end, text[start:end], parts)


def _confirmed_by(keys: Tuple[str, ...], mention: Mention) -> Tuple[str, ...]:
    units = UNITS().by_key
    return tuple(k for k in keys if set(ancestors(units[k])).intersection(mention.keys))
