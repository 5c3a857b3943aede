"""Procedure knowledge base: schema, loading and validation.

One YAML file per procedure lives in ``data/procedures/``. Every fact carries
the ids of the sources that support it and a verification status, so an
answer can always cite where it came from and warn when it is uncertain.
A malformed file fails loudly with the file name and the offending field.

Time and eligibility. A fact may hold only for a window (``valid_from`` /
``valid_until``, both inclusive) and only for some citizens (``condition``: a
short Vietnamese clause written to follow the fact, e.g. "nếu bạn có tài khoản
định danh điện tử mức 2 và đáp ứng điều kiện tại Nghị quyết 66.22/2026/NQ-CP").
What applies after a time-limited fact is simply another fact in the same list
whose ``valid_from`` is the day after its ``valid_until``: ``successor`` finds
it, so an answer can say "đến hết dd/mm/yyyy" and then what follows. Expired
facts are deleted from the data rather than kept and hidden.

Provenance. Only reliability ``A`` sources (the official text: a legal document
on vanban.chinhphu.vn or Công báo, a ministry or province portal, the Cổng Dịch
vụ công quốc gia page) are ``official``; press, law-firm sites and GitHub copies
stay listed as notes for reviewers, and a ``verified`` fact must cite at least
one official source.
"""
from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Dict, List

import yaml
from pydantic import BaseModel, Field, ValidationError, root_validator, validator

from dichvucong.settings import settings

INDEX_FILE = "_index.yml"


def read_index(directory: Path) -> tuple:
    """The procedure ids listed in ``directory/_index.yml``, in menu order."""
    path = directory / INDEX_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeBaseError(f"{path}: {exc}") from exc
    ids = data.get("procedures")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise KnowledgeBaseError(f"{path}: procedures: expected a list of ids")
    return tuple(ids)


class KnowledgeBaseError(ValueError):
    """A procedure file is missing, malformed or inconsistent."""


# The procedure ids are a contract with the NLU data, the domain and the tests;
# data/procedures/_index.yml is their one source.
PROCEDURE_IDS = read_index(settings().procedures_dir)

STATUSES = ("verified", "unverified", "conflicting")
RELIABILITY = ("A", "B", "C")


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        anystr_strip_whitespace = True


class Source(_Strict):
    id: str
    title: str
    url: str | None = None
    # The legal document's number ("Thông tư 64/2025/TT-BTC"), for texts that
    # are cited by number rather than by a page.
    document: str | None = None
    # A: official text or government page; B: press or law site; C: secondary copy.
    reliability: str
    accessed: dt.date | None = None
    # For reviewers only (why a secondary copy is kept, what it says); never shown.
    note: str | None = None

    @property
    def official(self) -> bool:
        return self.reliability == "A"

    @validator("reliability")
    def _known_reliability(cls, value: str) -> str:
        if value not in RELIABILITY:
            raise ValueError(f"must be one of {', '.join(RELIABILITY)}")
        return value


class Fact(_Strict):
    """One statement shown to the citizen, with its provenance."""

    text: str
    sources: List[str] = Field(..., min_items=1)
    status: str = "verified"
    # Empty means the fact applies to every variant of the procedure.
    variants: List[str] = []
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    # Who the fact applies to, as a clause that follows the fact's text.
    condition: str | None = None
    note: str | None = None

    @validator("status")
    def _known_status(cls, value: str) -> str:
        if value not in STATUSES:
            raise ValueError(f"must be one of {', '.join(STATUSES)}")
        return value

    @property
    def uncertain(self) -> bool:
        return self.status != "verified"

    def in_force(self, today: dt.date) -> bool:
        if self.valid_from and today < self.valid_from:
            return False
        if self.valid_until and today > self.valid_until:
            return False
        return True


def successor(facts: List[Fact], fact: Fact) -> List[Fact]:
    """The facts that take over the day after ``fact`` ends, for "then" clauses.

    Several may follow (one per variant or condition); none when the fact has
    no end date or the data does not say what comes next.
    """
    if not fact.valid_until:
        return []
    next_day = fact.valid_until + dt.timedelta(days=1)
    return [f for f in facts if f is not fact and f.valid_from == next_day]


class Variant(_Strict):
    id: str
    name: str
    # Words that signal this variant in a question ("cấp lại", "mất", "con 10 tuổi").
    keywords: List[str] = Field(..., min_items=1)


class OnlineGuide(_Strict):
    available: bool
    portals: List[str] = []
    steps: List[Fact] = []


class Caveat(_Strict):
    text: str
    # Which answer topics must show it; empty means every answer.
    topics: List[str] = []
    sources: List[str] = []


TOPICS = ("overview", "documents", "fee", "processing_time", "where", "online")


class Procedure(_Strict):
    id: str
    name: str
    short_name: str
    codes: List[str] = []
    aliases: List[str] = Field(..., min_items=3)
    summary: str
    variants: List[Variant] = []
    documents: List[Fact] = Field(..., min_items=1)
    fees: List[Fact] = Field(..., min_items=1)
    processing_time: List[Fact] = Field(..., min_items=1)
    agency: List[Fact] = Field(..., min_items=1)
    in_person: List[Fact] = []
    online: OnlineGuide
    legal_basis: List[str] = Field(..., min_items=1)
    caveats: List[Caveat] = []
    sources: List[Source] = Field(..., min_items=1)
    last_checked: dt.date

    @validator("id")
    def _known_id(cls, value: str) -> str:
        if value not in PROCEDURE_IDS:
            raise ValueError(f"unknown procedure id {value!r}")
        return value

    @validator("caveats", each_item=True)
    def _known_topics(cls, caveat: Caveat) -> Caveat:
        for topic in caveat.topics:
            if topic not in TOPICS:
                raise ValueError(f"unknown topic {topic!r}; use one of {TOPICS}")
        return caveat

    @root_validator(skip_on_failure=True)
    def _references_resolve(cls, values: Dict) -> Dict:
        source_ids = {s.id for s in values["sources"]}
        variant_ids = {v.id for v in values["variants"]}
        facts = {
            "documents": values["documents"],
            "fees": values["fees"],
            "processing_time": values["processing_time"],
            "agency": values["agency"],
            "in_person": values["in_person"],
            "online.steps": values["online"].steps,
        }
        for field, items in facts.items():
            for index, fact in enumerate(items):
                for source in fact.sources:
                    if source not in source_ids:
                        raise ValueError(
                            f"{field}[{index}] cites unknown source {source!r}"
                        )
                for variant in fact.variants:
                    if variant not in variant_ids:
                        raise ValueError(
                            f"{field}[{index}] names unknown variant {variant!r}"
                        )
        for index, caveat in enumerate(values["caveats"]):
            for source in caveat.sources:
                if source not in source_ids:
                    raise ValueError(f"caveats[{index}] cites unknown source {source!r}")
        return values

    def source(self, source_id: str) -> Source:
        return next(s for s in self.sources if s.id == source_id)

    def official_sources(self, fact: Fact) -> List[Source]:
        """The official sources a fact cites, the ones an answer names."""
        return [s for s in map(self.source, fact.sources) if s.official]

    def all_facts(self) -> List[tuple]:
        """Every fact as ``(field, fact)``, for reports and checks."""
        fields = {
            "documents": self.documents,
            "fees": self.fees,
            "processing_time": self.processing_time,
            "agency": self.agency,
            "in_person": self.in_person,
            "online.steps": self.online.steps,
        }
        return [(name, fact) for name, items in fields.items() for fact in items]


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        location = ".".join(str(p) for p in item["loc"] if p != "__root__")
        parts.append(f"{location or '(file)'}: {item['msg']}")
    return "; ".join(parts)


def load_procedure(path: Path) -> Procedure:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(f"{path}: expected a mapping at the top level")
    try:
        procedure = Procedure.parse_obj(raw)
    except ValidationError as exc:
        raise KnowledgeBaseError(f"{path}: {_describe(exc)}") from exc
    if procedure.id != path.stem:
        raise KnowledgeBaseError(
            f"{path}: id: {procedure.id!r} must match the file name {path.stem!r}"
        )
    return procedure


class KnowledgeBase:
    def __init__(self, procedures: Dict[str, Procedure], order: tuple = ()):
        self.procedures = procedures
        self.order = tuple(order) or tuple(procedures)

    @classmethod
    def load(cls, directory: Path) -> KnowledgeBase:
        files = sorted(p for p in directory.glob("*.yml") if not p.name.startswith("_"))
        procedures = {}
        for path in files:
            procedure = load_procedure(path)
            procedures[procedure.id] = procedure
        # A folder without its own index (a test's, a province's extra) is held
        # to the project's list.
        has_index = (directory / INDEX_FILE).exists()
        listed = read_index(directory) if has_index else PROCEDURE_IDS
        missing = [pid for pid in listed if pid not in procedures]
        if missing:
            raise KnowledgeBaseError(
                f"{directory}: missing procedure files: {', '.join(missing)}"
            )
        unlisted = [pid for pid in procedures if pid not in listed]
        if unlisted:
            raise KnowledgeBaseError(
                f"{directory / INDEX_FILE}: add {', '.join(unlisted)} to procedures"
            )
        return cls(procedures, listed)

    def get(self, procedure_id: str | None) -> Procedure | None:
        if not procedure_id:
            return None
        return self.procedures.get(procedure_id)

    def __iter__(self):
        return (self.procedures[pid] for pid in self.order)


@cache
def _load_cached(directory: str) -> KnowledgeBase:
    return KnowledgeBase.load(Path(directory))


def default_knowledge_base() -> KnowledgeBase:
    return _load_cached(str(settings().procedures_dir))
