"""Personal data handling for dossiers: digests, masking and redaction.

Identity and phone numbers are only ever stored as keyed digests. The key
(DOSSIER_PEPPER) lives outside the database, and every digest is salted with
the dossier code, so a copied database neither reveals the numbers nor shows
which dossiers belong to the same person.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from dichvucong.codes import code_spans
from dichvucong.settings import settings

MASK = "•"


def digest(value: str, code: str, pepper: str | None = None) -> str:
    """HMAC-SHA256 of an already normalized ``value``, bound to one dossier ``code``."""
    key = (settings().dossiers.pepper if pepper is None else pepper).encode("utf-8")
    # The separator keeps ("AB", "C") and ("A", "BC") from colliding.
    message = f"{code}\x1f{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def digits_only(value: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", value or "") if ch.isdigit())


_SEPARATORS = re.compile(r"[\s.\-()/]+")


def normalize_identity(value: str) -> str | None:
    """A 12-digit citizen identity number (or a 9-digit old ID card), else None."""
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value or ""))
    if compact.isdigit() and len(compact) in (9, 12):
        return compact
    return None


def normalize_phone(value: str) -> str | None:
    """Domestic form of a Vietnamese phone number ("0" + 9 or 10 digits), else None.

    Telegram shares contacts as "84912345678" without the plus sign, people
    type "+84 912 345 678" or "0912.345.678": all become "0912345678".
    """
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value or ""))
    if compact.startswith("+84"):
        compact = "0" + compact[3:]
    elif compact.startswith("0084"):
        compact = "0" + compact[4:]
    elif compact.startswith("84") and len(compact) in (11, 12):
        compact = "0" + compact[2:]
    if re.fullmatch(r"0\d{9,10}", compact):
        return compact
    return None


def last4(value: str) -> str:
    """The last four digits of ``value``; raises ValueError when there are fewer."""
    digits = digits_only(value)
    if len(digits) < 4:
        raise ValueError("Cần ít nhất 4 chữ số.")
    return digits[-4:]


def mask_name(name: str) -> str:
    """ "Nguyễn Văn An" -> "Nguyễn V. A.": the family name and initials of the rest."""
    words = unicodedata.normalize("NFC", name or "").split()
    if not words:
        return ""
    if len(words) == 1:
        return words[0][0].upper() + words[0][1:]
    family = words[0][0].upper() + words[0][1:]
    return " ".join([family, *(f"{word[0].upper()}." for word in words[1:])])


def mask_digits(digits: str, keep: int = 3) -> str:
    keep = min(keep, max(len(digits) - 1, 0))
    return MASK * (len(digits) - keep) + digits[len(digits) - keep :]


_IDENTITY = r"\d{3}(?: \d{3}){3}|\d{4}(?: \d{4}){2}|\d{12}|\d{9}"
# "0" or the country code, then 9 digits (mobile) or 10 (landline), with at
# most one space, dot or dash between digits as people group them.
_PHONE = r"(?:\+\s?84|0084|84|0)(?:[ .\-]?\d){9,10}"
# Bounded by non-digits only: "sđt0912345678nhé" must be masked too.
_SENSITIVE = re.compile(rf"(?<!\d)(?:(?P<identity>{_IDENTITY})|(?P<phone>{_PHONE}))(?!\d)")


# Any other run of digits joined by spaces, dots or dashes ("001.090.012.345",
# "0912  345  601", "0010.9001.2345"): nine digits or more is no amount or
# date a citizen types, but may well be an identity or phone number.
_DIGIT_RUN = re.compile(r"(?<![\d•])\d(?:[ \t.\-\u2013]{0,3}\d)*(?!\d)")
_MIN_RUN_DIGITS = 9


def _mask_match(match: re.Match) -> str:
    if match.group("identity"):
        return mask_digits(digits_only(match.group("identity")))
    phone = normalize_phone(match.group("phone"))
    return mask_digits(phone) if phone else match.group(0)


def _mask_run(match: re.Match) -> str:
    # Unbroken runs were judged by the patterns above (a 10-digit Telegram chat
    # id is no phone number); only grouped runs need this wider net.
    run = match.group(0)
    digits = digits_only(run)
    grouped = len(digits) != len(run)
    return mask_digits(digits) if grouped and len(digits) >= _MIN_RUN_DIGITS else run


def _outside_codes(text: str, clean) -> str:
    """Apply ``clean`` to the parts of ``text`` that are not dossier codes."""
    pieces = []
    cursor = 0
    for start, end in code_spans(text):
        pieces.append(clean(text[cursor:start]))
        pieces.append(text[start:end])
        cursor = end
    pieces.append(clean(text[cursor:]))
    return "".join(pieces)


def _redact_piece(text: str) -> str:
    return _DIGIT_RUN.sub(_mask_run, _SENSITIVE.sub(_mask_match, text))


def redact(text: str) -> str:
    """Mask identity and phone numbers in free text, keeping the last 3 digits.

    Dossier codes are left intact: their digits are not personal data and the
    conversation is useless without them.
    """
    if not text:
        return text
    return _outside_codes(text, _redact_piece)


def mask_all_digits(text: str) -> str:
    """Every digit masked except those of dossier codes (second-factor answers)."""
    if not text:
        return text
    return _outside_codes(text, lambda piece: re.sub(r"\d", MASK, piece))


_DIGITS_ONLY_MESSAGE = re.compile(r"[\W_]*\d[\d\W_]*")


def is_digits_message(text: str) -> bool:
    """A message of digits and punctuation only: "4567", "45 67", "/010204078901"."""
    return bool(text) and bool(_DIGITS_ONLY_MESSAGE.fullmatch(text))
