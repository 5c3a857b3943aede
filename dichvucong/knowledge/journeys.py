"""Life-event journeys (birth, death, marriage, moving house, lost card).

A journey is the short checklist of procedures one event needs, in order:
for each step its deadline, fee and office, then what one online dossier
covers and the total fees. The data lives in ``data/journeys/`` and follows
the rules of the procedure files: every fact cites sources of the procedure
file it rests on, carries a status and may hold only for a window or a group
of citizens. A fact that is not verified says, once, what to confirm.
Each step is a button into the procedure's detailed answer.
"""
from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Dict, List, Tuple

import yaml
from pydantic import BaseModel, Field, ValidationError

from dichvucong.knowledge.answers import INTENT_BY_TOPIC, MESSAGE_LIMIT, Answer, payload
from dichvucong.knowledge.base import Fact, KnowledgeBase, default_knowledge_base
from dichvucong.knowledge.compose_facts import date_vi, source_line
from dichvucong.settings import PROJECT_ROOT, settings

JOURNEY_IDS = ("birth", "death", "marriage", "moving_house", "lost_card")
INDEX_FILE = "_index.yml"


class JourneyError(ValueError):
    """A journey file is missing, malformed or cites what the procedures lack."""


class JourneyFact(Fact):
    """A clause of a step ("trong 60 ngày kể từ ngày sinh"), with provenance."""

    # The procedure file whose sources it cites; the step's when omitted.
    procedure: str | None = None
    # Said once in the answer when the fact is not verified.
    confirm: str | None = None


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        anystr_strip_whitespace = True


class Step(_Strict):
    procedure: str
    variant: str | None = None
    # The topic its button opens.
    topic: str = "overview"
    title: str
    button: str
    optional: bool = False
    deadline: List[JourneyFact] = []
    fee: List[JourneyFact] = []
    where: List[JourneyFact] = []


class Journey(_Strict):
    id: str
    intro: str
    steps: List[Step] = Field(..., min_items=1)
    online: List[JourneyFact] = []
    total_fee: List[JourneyFact] = []
    last_checked: dt.date

    def facts(self) -> List[Tuple[str, JourneyFact]]:
        """Every fact as ``(procedure id, fact)``."""
        found = []
        for step in self.steps:
            for fact in step.deadline + step.fee + step.where:
                found.append((fact.procedure or step.procedure, fact))
        for fact in self.online + self.total_fee:
            found.append((fact.procedure, fact))
        return found


def _check_fact(journey: Journey, pid: str | None, fact: JourneyFact, kb: KnowledgeBase) -> None:
    procedure = kb.get(pid)
    if procedure is None:
        raise JourneyError(f"{journey.id}: {fact.text!r} names unknown procedure {pid!r}")
    known = {s.id: s for s in procedure.sources}
    for source in fact.sources:
        if source not in known:
            raise JourneyError(f"{journey.id}: {fact.text!r} cites {source!r}, not a source of {pid}")
    if not fact.uncertain and not any(known[s].official for s in fact.sources):
        raise JourneyError(f"{journey.id}: verified {fact.text!r} cites no official source")
    if fact.uncertain and not fact.confirm:
        raise JourneyError(f"{journey.id}: unverified {fact.text!r} needs `confirm`")


def check(journey: Journey, kb: KnowledgeBase) -> Journey:
    if journey.id not in JOURNEY_IDS:
        raise JourneyError(f"unknown journey id {journey.id!r}")
    for step in journey.steps:
        procedure = kb.get(step.procedure)
        if procedure is None:
            raise JourneyError(f"{journey.id}: unknown procedure {step.procedure!r}")
        if step.variant and step.variant not in {v.id for v in procedure.variants}:
            raise JourneyError(f"{journey.id}: {step.procedure} has no variant {step.variant!r}")
        if step.topic not in INTENT_BY_TOPIC:
            raise JourneyError(f"{journey.id}: unknown topic {step.topic!r}")
    for pid, fact in journey.facts():
        _check_fact(journey, pid, fact, kb)
    return journey


def load_journey(path: Path, kb: KnowledgeBase) -> Journey:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        journey = Journey.parse_obj(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise JourneyError(f"{path}: {exc}") from exc
    if journey.id != path.stem:
        raise JourneyError(f"{path}: id {journey.id!r} must match the file name")
    return check(journey, kb)


def load_journeys(directory: Path, kb: KnowledgeBase) -> Dict[str, Journey]:
    index = yaml.safe_load((directory / INDEX_FILE).read_text(encoding="utf-8")) or {}
    listed = tuple(index.get("journeys") or ())
    if listed != JOURNEY_IDS:
        raise JourneyError(f"{directory / INDEX_FILE}: journeys must be {list(JOURNEY_IDS)}")
    return {jid: load_journey(directory / f"{jid}.yml", kb) for jid in listed}


def journeys_dir() -> Path:
    """Next to the procedures in use (a province's data set), else the project's."""
    beside = settings().procedures_dir.parent / "journeys"
    return beside if (beside / INDEX_FILE).exists() else PROJECT_ROOT / "data" / "journeys"


@cache
def default_journeys() -> Dict[str, Journey]:
    return load_journeys(journeys_dir(), default_knowledge_base())


class _Words:
    """Words a journey's facts for today and remembers what they rest on."""

    def __init__(self, today: dt.date):
        self.today = today
        self.shown: List[Tuple[str, JourneyFact]] = []

    def clause(self, pid: str, facts: List[JourneyFact]) -> str | None:
        current = [f for f in facts if f.in_force(self.today)]
        if not current:
            return None
        fact = current[0]
        self.shown.append((fact.procedure or pid, fact))
        text = fact.text.rstrip(". ")
        if fact.condition:
            text += f", {fact.condition}"
        if fact.valid_until:
            text += f" (đến hết {date_vi(fact.valid_until)}"
            after = [f for f in facts if f.valid_from == fact.valid_until + dt.timedelta(days=1)]
            text += f"; sau đó: {after[0].text.rstrip('. ')})" if after else ")"
            if after:
                self.shown.append((after[0].procedure or pid, after[0]))
        return text

    def sentence(self, pid: str, facts: List[JourneyFact]) -> str | None:
        text = self.clause(pid, facts)
        return None if text is None else text[:1].upper() + text[1:] + "."

    def confirms(self) -> List[str]:
        said: List[str] = []
        for _, fact in self.shown:
            if fact.uncertain and fact.confirm not in said:
                said.append(fact.confirm)
        return said

    def source(self, kb: KnowledgeBase):
        counts: Dict[Tuple[str, str], int] = {}
        for pid, fact in self.shown:
            procedure = kb.get(pid)
            for sid in fact.sources:
                if procedure.source(sid).official:
                    counts[(pid, sid)] = counts.get((pid, sid), 0) + 1
        if not counts:
            return None
        pid, sid = max(counts, key=counts.get)
        return kb.get(pid).source(sid)


def _step_line(number: int, step: Step, words: _Words) -> str:
    clauses = [
        words.clause(step.procedure, facts) for facts in (step.deadline, step.fee, step.where)
    ]
    title = f"(Nếu cần) {step.title[:1].lower()}{step.title[1:]}" if step.optional else step.title
    body = "; ".join(c for c in clauses if c)
    return f"{number}. {title}" + (f": {body}." if body else ".")


def _buttons(journey: Journey) -> List[Dict[str, str]]:
    buttons = []
    for step in journey.steps:
        entities = {"procedure": step.procedure}
        if step.variant:
            entities["variant"] = step.variant
        buttons.append({"title": step.button, "payload": payload(INTENT_BY_TOPIC[step.topic], **entities)})
    return buttons


def compose_journey(journey_id: str, today: dt.date | None = None) -> Answer | None:
    """The short journey answer (text + one button per step), or None."""
    journey = default_journeys().get(journey_id)
    if journey is None:
        return None
    words = _Words(today or dt.date.today())
    lines = [journey.intro]
    lines += [_step_line(i, step, words) for i, step in enumerate(journey.steps, 1)]
    online = words.sentence(journey.steps[0].procedure, journey.online)
    if online:
        lines.append(f"Làm trực tuyến: {online[:1].lower()}{online[1:]}")
    total = words.sentence(journey.steps[0].procedure, journey.total_fee)
    if total:
        lines.append(f"Lệ phí: {total}")
    lines += words.confirms()
    lines.append(source_line(words.source(default_knowledge_base()), journey.last_checked))
    text = "\n".join(lines)
    if len(text) > MESSAGE_LIMIT:
        raise JourneyError(f"{journey_id}: the journey answer is {len(text)} characters")
    return Answer(text=text, buttons=_buttons(journey))
