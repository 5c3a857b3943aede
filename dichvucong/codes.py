"""National dossier codes: ``<agency code>-YYMMDD-NNNN``.

The agency part is the electronic identifier of the receiving office
(V1V2V3.Z1Z2.Y1Y2.MX1X2, e.g. ``000.00.15.H10``), YYMMDD is the receiving
date and NNNN the serial number of that day. Citizens type codes in lower
case, with spaces around the separators, with typographic dashes copied from
receipts, or paste them inside a sentence; all of those are accepted and
turned into the canonical upper-case form used as the database key.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Iterator, List, Tuple

EXAMPLE_CODE = "000.00.15.H10-261120-0012"

_DOT = r"\s*\.\s*"
# Word processors and PDF receipts turn "-" into en/em dashes or minus signs.
_DASH = r"\s*[-\u2010\u2011\u2012\u2013\u2014\u2212]\s*"
# [0-9], not \d: \d also takes Arabic-Indic and other scripts' digits, which
# no receipt prints (full-width digits are folded to ASCII by NFKC first).
_BODY = (
    rf"([0-9]{{3}}){_DOT}([0-9]{{2}}){_DOT}([0-9]{{2}}){_DOT}([A-Za-z])\s*([0-9]{{2}})"
    rf"{_DASH}([0-9]{{6}}){_DASH}([0-9]{{4}})"
)
# Letters and digits glued to either end mean we are looking at something else
# (a longer number, a URL token), not at a code.
_FIND = re.compile(rf"(?<![0-9A-Za-z.]){_BODY}(?![0-9A-Za-z])")
_FULL = re.compile(rf"\s*{_BODY}\s*[.,;:!?]?\s*")
CANONICAL = re.compile(r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}-[0-9]{6}-[0-9]{4}")


def _prepare(text: str) -> str:
    # NFKC turns full-width digits and letters (some mobile keyboards) into ASCII.
    return unicodedata.normalize("NFKC", text or "")


def _canonical(match: re.Match) -> str | None:
    v, z, y, letter, x, date, serial = match.groups()
    code = f"{v}.{z}.{y}.{letter.upper()}{x}-{date}-{serial}"
    return code if code_date(code) is not None else None


def code_date(code: str) -> dt.date | None:
    """The receiving date encoded in a canonical code, or None if it is not a real date."""
    if not CANONICAL.fullmatch(code or ""):
        return None
    yymmdd = code.split("-")[1]
    try:
        return dt.date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        return None


def is_valid_code(code: str) -> bool:
    """True only for the canonical form with a real date; use normalize_code for user input."""
    return code_date(code) is not None


def normalize_code(text: str) -> str | None:
    """The canonical form of ``text`` if the whole of it is one code, else None."""
    match = _FULL.fullmatch(_prepare(text))
    return _canonical(match) if match else None


def iter_codes(text: str) -> Iterator[str]:
    for match in _FIND.finditer(_prepare(text)):
        code = _canonical(match)
        if code:
            yield code


def find_codes(text: str) -> List[str]:
    """Every valid code in a free-text message, in order, without duplicates."""
    return list(dict.fromkeys(iter_codes(text)))


def find_code(text: str) -> str | None:
    """The first valid code in a free-text message, or None."""
    return next(iter_codes(text), None)


def code_spans(text: str) -> List[Tuple[int, int]]:
    """(start, end) offsets into ``text`` itself of every code-shaped run.

    The redactor uses this so that the digits of a dossier code are never
    mistaken for a phone or identity number.
    """
    return [match.span() for match in _FIND.finditer(text or "")]
