"""Property tests of the pure functions hostile text reaches first (Hypothesis, fixed seed)."""
import datetime as dt
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dichvucong import inbound
from dichvucong.codes import find_code, normalize_code
from dichvucong.knowledge.answers import TOPIC_HEADINGS, compose, detect_variants
from dichvucong.knowledge.base import default_knowledge_base
from dichvucong.privacy import mask_all_digits, normalize_phone, redact
from dichvucong.text import canonical, fold, fold_with_map, normalize

FAST = settings(max_examples=300, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
# Any text a phone can send, lone surrogates included.
ANY_TEXT = st.text(st.characters(), max_size=300)
DIGITY = st.text(st.sampled_from("0123456789 .-+()/abcđ٣۴"), max_size=60)


@FAST
@given(ANY_TEXT)
def test_folding_never_fails_and_keeps_offsets(text):
    folded, offsets = fold_with_map(text)
    assert len(offsets) == len(folded)
    assert all(0 <= i < max(len(text), 1) for i in offsets)
    assert fold(text) == folded
    normalize(text), canonical(text)


@FAST
@given(ANY_TEXT)
def test_code_parsing_never_fails_and_is_canonical(text):
    code = find_code(text)
    if code is not None:
        assert normalize_code(code) == code and code.isascii()


def _personal_numbers(text):
    """Runs redaction must mask: grouped runs of 9+ digits, and unbroken runs an
    identity (9 or 12 digits) or a phone number could be; a 10-digit Telegram chat
    id, an amount or a date stays readable."""
    for run in re.findall(r"(?<![\d•])\d(?:[ \t.\-\u2013]{0,3}\d)*(?!\d)", text):
        digits = re.sub(r"\D", "", run)
        grouped = len(digits) != len(run)
        if (grouped and len(digits) >= 9) or len(digits) in (9, 12) or normalize_phone(run):
            yield run


@FAST
@given(DIGITY)
def test_redaction_leaves_no_personal_number(text):
    if find_code(text) is None:
        assert list(_personal_numbers(redact(text))) == []
        assert not re.search(r"[0-9]", mask_all_digits(text))


@FAST
@given(ANY_TEXT)
def test_the_payload_guard_never_lets_a_system_intent_through(text):
    guarded = inbound.guard_payload(text)
    assert not guarded.lstrip().startswith("/EXTERNAL")
    assert not guarded.lstrip().startswith(("/restart", "/session_start"))


@FAST
@given(ANY_TEXT)
def test_clean_text_returns_printable_text_or_refuses(text):
    try:
        cleaned = inbound.clean_text(text)
    except inbound.InvalidInput as refused:
        assert 400 <= refused.status < 500 and refused.message
        return
    assert cleaned and cleaned.encode("utf-8") and len(cleaned) <= inbound.MAX_TEXT_LENGTH


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.sampled_from(sorted(TOPIC_HEADINGS)), ANY_TEXT,
       st.dates(dt.date(2025, 1, 1), dt.date(2028, 12, 31)))
def test_every_procedure_composes_for_any_topic_text_and_day(topic, text, day):
    for procedure in default_knowledge_base():
        variants = detect_variants(procedure, text)
        answer = compose(procedure, topic, variants, day)
        assert answer.text.strip() and "Nguồn:" in answer.text
