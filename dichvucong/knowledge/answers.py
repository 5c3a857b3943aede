"""Compose short, sourced answers from the knowledge base.

Pure functions: they take a procedure, a topic, the variants the citizen
mentioned and today's date, and return text and buttons. The actions only
decide *what* to answer; this module decides *how it reads*.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Sequence

from dichvucong.knowledge.base import Fact, KnowledgeBase, Procedure
from dichvucong.text import find_phrases

TOPIC_BY_INTENT = {
    "ask_procedure": "overview",
    "ask_documents": "documents",
    "ask_fee": "fee",
    "ask_processing_time": "processing_time",
    "ask_where": "where",
    "ask_online_steps": "online",
}
INTENT_BY_TOPIC = {topic: intent for intent, topic in TOPIC_BY_INTENT.items()}

TOPIC_HEADINGS = {
    "overview": "Thủ tục",
    "documents": "Giấy tờ cần chuẩn bị",
    "fee": "Lệ phí",
    "processing_time": "Thời gian giải quyết",
    "where": "Nơi nộp hồ sơ",
    "online": "Nộp trực tuyến",
}
TOPIC_QUESTIONS = {
    "documents": "giấy tờ cần chuẩn bị",
    "fee": "lệ phí",
    "processing_time": "thời gian giải quyết",
    "where": "nơi nộp hồ sơ",
    "online": "cách nộp trực tuyến",
}
TOPIC_BUTTONS = {
    "documents": "Giấy tờ cần chuẩn bị",
    "fee": "Lệ phí",
    "processing_time": "Thời gian giải quyết",
    "where": "Nộp ở đâu",
    "online": "Cách làm online",
}
UNCERTAIN_MARK = {
    "unverified": " (chưa xác minh)",
    "conflicting": " (các nguồn chưa thống nhất)",
}
CAUTION = (
    "⚠️ Có thông tin chưa được xác minh chính thức hoặc các nguồn chưa thống nhất. "
    "Vui lòng xác nhận với cơ quan tiếp nhận hồ sơ trước khi nộp."
)


MAX_SOURCES = 3
STEP_PREFIX = re.compile(r"^Bước\s*\d+\s*[:.]\s*", re.IGNORECASE)


@dataclass
class Answer:
    text: str
    buttons: List[Dict[str, str]] = field(default_factory=list)


def payload(intent: str, **entities: str) -> str:
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


def date_vi(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def detect_variants(procedure: Procedure, text: str) -> List[str]:
    """Variant ids whose keywords appear in the citizen's message."""
    keywords = {kw: v.id for v in procedure.variants for kw in v.keywords}
    found: List[str] = []
    for _, _, variant_id, _ in find_phrases(text or "", keywords):
        if variant_id not in found:
            found.append(variant_id)
    return found


class _Composer:
    def __init__(self, procedure: Procedure, variants: Sequence[str], today: dt.date):
        self.procedure = procedure
        self.variants = [v for v in variants if v in {x.id for x in procedure.variants}]
        self.today = today
        self.cited: List[str] = []
        self.uncertain = False

    def _variant_name(self, variant_id: str) -> str:
        return next(v.name for v in self.procedure.variants if v.id == variant_id)

    def select(self, facts: Iterable[Fact]) -> List[Fact]:
        chosen = []
        for fact in facts:
            if not fact.in_force(self.today):
                continue
            if self.variants and fact.variants and not set(fact.variants) & set(self.variants):
                continue
            chosen.append(fact)
        return chosen

    def line(self, fact: Fact) -> str:
        for source in fact.sources:
            if source not in self.cited:
                self.cited.append(source)
        text = fact.text
        if fact.variants and not self.variants:
            names = ", ".join(self._variant_name(v) for v in fact.variants)
            text = f"[{names}] {text}"
        if fact.valid_until:
            text += f" (áp dụng đến hết {date_vi(fact.valid_until)})"
        if fact.uncertain:
            self.uncertain = True
            text += UNCERTAIN_MARK[fact.status]
        return text

    def bullets(self, facts: Iterable[Fact]) -> List[str]:
        return [f"• {self.line(fact)}" for fact in self.select(facts)]

    def numbered(self, facts: Iterable[Fact]) -> List[str]:
        # Our numbering replaces any "Bước N:" in the data, which would go wrong
        # once a variant filters a step out.
        return [
            f"{i}. {STEP_PREFIX.sub('', self.line(f))}" for i, f in enumerate(self.select(facts), 1)
        ]

    def first(self, facts: Iterable[Fact]) -> str | None:
        selected = self.select(facts)
        return self.line(selected[0]) if selected else None

    def caveats(self, topic: str) -> List[str]:
        lines = []
        for caveat in self.procedure.caveats:
            if not caveat.topics or topic in caveat.topics:
                self.uncertain = True
                for source in caveat.sources:
                    if source not in self.cited:
                        self.cited.append(source)
                lines.append(f"⚠️ {caveat.text}")
        return lines

    def footer(self) -> List[str]:
        lines = []
        if self.uncertain:
            lines.append(CAUTION)
        # Official pages first; a phone screen has room for a few sources only.
        sources = sorted(
            (self.procedure.source(s) for s in self.cited), key=lambda s: s.reliability
        )
        for source in sources[:MAX_SOURCES]:
            lines.append(
                f"Nguồn: {source.title}" + (f" – {source.url}" if source.url else "")
            )
        if len(sources) > MAX_SOURCES:
            lines.append(f"(và {len(sources) - MAX_SOURCES} nguồn tham khảo khác)")
        lines.append(f"Thông tin được kiểm tra lần cuối: {date_vi(self.procedure.last_checked)}.")
        return lines


def _where(c: _Composer) -> List[str]:
    lines = c.bullets(c.procedure.agency)
    steps = c.numbered(c.procedure.in_person)
    if steps:
        lines += ["Nộp trực tiếp:"] + steps
    return lines


def _online(c: _Composer) -> List[str]:
    online = c.procedure.online
    if not online.available:
        return ["Thủ tục này hiện chưa nộp trực tuyến được; bạn cần nộp trực tiếp."] + c.bullets(
            c.procedure.agency
        )
    lines = ["Nộp qua: " + "; ".join(online.portals) + "."] if online.portals else []
    return lines + c.numbered(online.steps)


def _overview(c: _Composer) -> List[str]:
    p = c.procedure
    lines = [p.summary]
    for label, facts in (
        ("Nơi giải quyết", p.agency),
        ("Thời hạn", p.processing_time),
        ("Lệ phí", p.fees),
    ):
        first = c.first(facts)
        if first:
            lines.append(f"• {label}: {first}")
    if p.online.available and p.online.portals:
        lines.append("• Nộp trực tuyến: " + "; ".join(p.online.portals) + ".")
    lines.append("• Căn cứ pháp lý: " + "; ".join(p.legal_basis[:3]) + ".")
    return lines


# The body of an answer, per topic; anything else gets the overview.
_BODIES: Dict[str, Callable[[_Composer], List[str]]] = {
    "documents": lambda c: c.bullets(c.procedure.documents),
    "fee": lambda c: c.bullets(c.procedure.fees),
    "processing_time": lambda c: c.bullets(c.procedure.processing_time),
    "where": _where,
    "online": _online,
}


def _body(c: _Composer, topic: str) -> List[str]:
    return _BODIES.get(topic, _overview)(c)


def compose(
    procedure: Procedure,
    topic: str,
    variants: Sequence[str] = (),
    today: dt.date | None = None,
) -> Answer:
    composer = _Composer(procedure, variants, today or dt.date.today())
    heading = f"{TOPIC_HEADINGS[topic]} – {procedure.short_name}"
    if composer.variants:
        heading += " (" + ", ".join(composer._variant_name(v) for v in composer.variants) + ")"
    lines = [heading] + _body(composer, topic) + composer.caveats(topic)
    text = "\n".join(lines) + "\n\n" + "\n".join(composer.footer())
    buttons = [
        {"title": title, "payload": payload(INTENT_BY_TOPIC[t], procedure=procedure.id)}
        for t, title in TOPIC_BUTTONS.items()
        if t != topic
    ]
    return Answer(text=text, buttons=buttons)


def procedure_buttons(
    knowledge_base: KnowledgeBase,
    intent: str = "inform",
    only: Sequence[str] | None = None,
) -> List[Dict[str, str]]:
    return [
        {"title": p.short_name, "payload": payload(intent, procedure=p.id)}
        for p in knowledge_base
        if only is None or p.id in only
    ]
