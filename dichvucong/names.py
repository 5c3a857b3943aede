"""Masking personal names in free text ("anh Lê Minh Tuấn" -> "anh Lê M. T.").

Staff write reasons and instructions for citizens ("Thiếu bản án ly hôn của anh
Lê Minh Tuấn", "chị Ngọc bổ sung giấy khai sinh"). A name introduced by a
kinship or honorific word is masked like :func:`dichvucong.privacy.mask_name`
(the family name, then initials; a given name alone becomes its initial), and
so is every occurrence of the names the caller knows (the applicant's full
name and, alone, its given name). Office, place and document names ("UBND
phường Ba Đình", "Giấy chứng sinh", "Tòa án nhân dân") have no honorific before
them and are left alone.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable, List, Optional

from dichvucong.privacy import mask_name
from dichvucong.text import fold

# With their diacritics: recognised whatever their place and case.
ACCENTED = frozenset(
    {"chị", "ông", "bà", "cô", "chú", "bác", "cháu", "cụ", "bạn", "dì", "thím", "mợ", "cậu"}
)
# Folded forms (citizens and staff also type without diacritics): lower case or
# at the start of a sentence only, so that "Ba Đình" or "nước Anh" stay.
FOLDED = frozenset(
    {"anh", "chi", "ong", "ba", "em", "co", "chu", "bac", "chau", "cu", "ban", "di",
     "thim", "mo", "cau"}
)
# Latin titles: any case, any place ("Mr. John Smith", "MS Lan").
LATIN = frozenset({"mr", "mrs", "ms", "miss", "dr"})
# Words after which a capitalised word names a place: "phường Ba Đình", "huyện Cô Tô".
PLACES = frozenset(
    {"phuong", "xa", "quan", "huyen", "tinh", "thanh pho", "pho", "duong", "thon", "ap",
     "khu", "to", "thi tran", "thi xa", "ban", "so", "dao", "nuoc"}
)
# What follows an honorific but is a title or an office, not a name:
# "ông Chủ tịch UBND", "bà Trưởng phòng", "Ban Quản lý", "Bà Rịa".
NOT_NAMES = frozenset(
    {"chu", "pho", "truong", "giam", "can", "cong", "ubnd", "uy", "toa", "so", "phong",
     "ban", "bo", "trung", "chi", "cuc", "vien", "thu", "bi", "ke", "giao", "bac",
     "luat", "hoi", "doi", "xa", "phuong", "quan", "huyen", "tinh", "thanh", "thi", "van",
     "ria", "giay", "nha", "lanh"}
)
_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;•\n\-–(\"“]\s*)$")


def mask_one(name: str) -> str:
    """ "Lê Minh Tuấn" -> "Lê M. T."; a given name alone: "Ngọc" -> "N."."""
    words = name.split()
    if len(words) == 1:
        return f"{words[0][0].upper()}."
    return mask_name(name)


def _at_sentence_start(text: str, start: int) -> bool:
    return bool(_SENTENCE_START.search(text[max(0, start - 4):start]))


def _after_place_word(tokens, index: int) -> bool:
    before = [fold(t.group(0)) for t in tokens[max(0, index - 2):index]]
    return bool(before) and (before[-1] in PLACES or " ".join(before) in PLACES)


def _is_honorific(tokens, index: int, text: str) -> bool:
    token = tokens[index]
    word = token.group(0)
    folded = fold(word)
    if folded in LATIN:
        return True
    if folded not in FOLDED or _after_place_word(tokens, index):
        return False
    if word.islower() or word.lower() in ACCENTED or (word.isupper() and len(word) > 1):
        return True
    return _at_sentence_start(text, token.start())


def _name_run(tokens, start: int, text: str) -> int:
    """How many tokens from ``start`` (at most 4) are the capitalised words of a name."""
    count = 0
    for position in range(start, min(start + 4, len(tokens))):
        word = tokens[position].group(0)
        gap = text[tokens[position - 1].end():tokens[position].start()]
        allowed = (" ", ". ", ": ") if position == start else (" ",)
        if gap not in allowed or not word[:1].isupper() or (len(word) > 1 and word.isupper()):
            break
        if position == start and fold(word) in NOT_NAMES:
            break
        count += 1
    return count


def _mask_after_honorifics(text: str) -> str:
    tokens = list(_TOKEN.finditer(text))
    pieces: List[str] = []
    cursor = index = 0
    while index < len(tokens) - 1:
        count = _name_run(tokens, index + 1, text) if _is_honorific(tokens, index, text) else 0
        if count:
            first, last = tokens[index + 1], tokens[index + count]
            masked = mask_one(text[first.start():last.end()])
            pieces += [text[cursor:first.start()], _before(masked, text, last.end())]
            cursor = last.end()
        index += count + 1
    pieces.append(text[cursor:])
    return "".join(pieces)


def _known_names(known: Iterable[Optional[str]]) -> List[str]:
    names = set()
    for raw in known:
        words = unicodedata.normalize("NFC", raw or "").split()
        if words:
            names.add(" ".join(words))
            if len(words) > 1:
                names.add(words[-1])  # the given name alone: "chị Ngọc"
    return sorted(names, key=len, reverse=True)  # the full name before its given name


def _mask_known(text: str, known: Iterable[Optional[str]]) -> str:
    for name in _known_names(known):
        words = r"\s+".join(re.escape(word) for word in name.split())
        pattern = re.compile(rf"(?<![^\W\d_]){words}(?![^\W\d_])", re.IGNORECASE)
        text = pattern.sub(_masked_known, text)
    return text


def _masked_known(match: re.Match) -> str:
    found = " ".join(match.group(0).split())
    # A given name alone is often a word too ("ngọc", "hoa"): only as a name, capitalised.
    if " " not in found and not found[:1].isupper():
        return found
    return _before(mask_one(found), match.string, match.end())


def _before(masked: str, text: str, end: int) -> str:
    """No "T.." when the sentence ends right after the name."""
    return masked[:-1] if masked.endswith(".") and text[end:end + 1] == "." else masked


def mask_person_names(text: str, known: Iterable[Optional[str]] = ()) -> str:
    """Mask the names ``text`` introduces with an honorific, and the ``known`` names."""
    if not text:
        return text
    text = unicodedata.normalize("NFC", text)
    return _mask_known(_mask_after_honorifics(text), known)
