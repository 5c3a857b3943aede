"""Content rules for the knowledge-base facts: current, sourced, and official when verified.

The schema (dichvucong/knowledge/base.py) checks shapes; these checks hold the
data to what a citizen may be shown. Each rule is a function returning the
problems it finds, so the same rule is tested against the real data (no
problems) and against a deliberately broken procedure (the problem is found).
"""
import datetime as dt
import re

import pytest

from dichvucong.knowledge.base import PROCEDURE_IDS, Procedure, successor

# The suite pins the answers' date (ASSISTANT_TODAY) for reproducible replies;
# expiry is judged on the real calendar so stale data fails the day it expires.
TODAY = dt.date.today()


def expired_facts(procedure: Procedure, today: dt.date) -> list:
    # Expired facts are deleted, not hidden: a stale fee must not linger in the data.
    return [
        f"{field}: {fact.text[:60]!r} ended {fact.valid_until}"
        for field, fact in procedure.all_facts()
        if fact.valid_until and fact.valid_until < today
    ]


def unsourced_facts(procedure: Procedure) -> list:
    known = {s.id for s in procedure.sources}
    problems = []
    for field, fact in procedure.all_facts():
        if not fact.sources:
            problems.append(f"{field}: {fact.text[:60]!r} cites no source")
        problems += [
            f"{field}: {fact.text[:60]!r} cites unknown source {sid!r}"
            for sid in fact.sources
            if sid not in known
        ]
    for caveat in procedure.caveats:
        problems += [f"caveat cites unknown source {sid!r}" for sid in caveat.sources if sid not in known]
    return problems


def verified_without_official(procedure: Procedure) -> list:
    known = {s.id for s in procedure.sources}
    return [
        f"{field}: {fact.text[:60]!r} is verified but cites no official source"
        for field, fact in procedure.all_facts()
        if fact.status == "verified"
        and not any(procedure.source(s).official for s in fact.sources if s in known)
    ]


def incomplete_sources(procedure: Procedure) -> list:
    problems = []
    for source in procedure.sources:
        if not source.title:
            problems.append(f"{source.id}: no title")
        if not (source.url or source.document):
            problems.append(f"{source.id}: neither a url nor a document number")
        if not source.accessed:
            problems.append(f"{source.id}: no accessed (checked) date")
    return problems


def malformed_conditions(procedure: Procedure) -> list:
    # The composer appends the condition after the fact, so it must read as a clause.
    return [
        f"{field}: condition {fact.condition!r} must be a lower-case clause without a final period"
        for field, fact in procedure.all_facts()
        if fact.condition
        and (not re.match(r"[a-zà-ỹđ]", fact.condition) or fact.condition.endswith("."))
    ]


RULES = {
    "unsourced": unsourced_facts,
    "verified_without_official": verified_without_official,
    "incomplete_sources": incomplete_sources,
    "malformed_conditions": malformed_conditions,
}


@pytest.mark.parametrize("procedure_id", PROCEDURE_IDS)
def test_no_fact_has_expired(kb, procedure_id):
    assert expired_facts(kb.get(procedure_id), TODAY) == []


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("procedure_id", PROCEDURE_IDS)
def test_content_rule_holds(kb, procedure_id, rule):
    assert RULES[rule](kb.get(procedure_id)) == []


def _broken(kb) -> Procedure:
    """A real procedure with one fact of each kind of mistake."""
    procedure = kb.get("can_cuoc").copy(deep=True)
    official = next(s for s in procedure.sources if s.official)
    secondary = next(s for s in procedure.sources if not s.official)
    fee = procedure.fees[0]
    procedure.fees = [
        fee.copy(update={"valid_until": dt.date(2025, 12, 31), "sources": [official.id]}),
        fee.copy(update={"sources": []}),
        fee.copy(update={"sources": ["no_such_source"]}),
        fee.copy(update={"status": "verified", "sources": [secondary.id]}),
        fee.copy(update={"condition": "Nếu bạn có tài khoản mức 2."}),
    ]
    procedure.sources = [
        *procedure.sources,
        secondary.copy(update={"id": "bare", "url": None, "document": None, "accessed": None}),
    ]
    return procedure


def test_the_rules_catch_each_mistake(kb):
    broken = _broken(kb)
    assert expired_facts(broken, dt.date(2026, 12, 2))
    found = {name: rule(broken) for name, rule in RULES.items()}
    assert any("cites no source" in p for p in found["unsourced"])
    assert any("unknown source 'no_such_source'" in p for p in found["unsourced"])
    assert found["verified_without_official"]
    assert any(p.startswith("bare:") for p in found["incomplete_sources"])
    assert found["malformed_conditions"]


def test_time_limited_fees_say_what_follows(kb):
    # The 50% căn cước reduction ends 31/12/2026; the full fee is its successor.
    procedure = kb.get("can_cuoc")
    reduction = next(f for f in procedure.fees if "50%" in f.text)
    assert reduction.valid_until == dt.date(2026, 12, 31)
    following = successor(procedure.fees, reduction)
    assert {"50.000", "70.000"} <= {m for f in following for m in re.findall(r"\d+\.000", f.text)}


def test_conditional_waivers_name_their_condition(kb):
    # TT 117/2026/TT-BTC waives fees only for level-2 VNeID holders meeting NQ 66.22.
    waivers = [
        fact
        for procedure in kb
        for _, fact in procedure.all_facts()
        if "117/2026/TT-BTC" in fact.text
    ]
    assert waivers
    for fact in waivers:
        assert fact.valid_until == dt.date(2027, 2, 28), fact.text
        assert fact.condition and "66.22/2026/NQ-CP" in fact.condition, fact.text
