"""Compose short, sourced answers from the knowledge base.

Pure functions: they take a procedure, a topic, the variants the citizen
mentioned and today's date, and return text and buttons. The actions only
decide *what* to answer; this module decides *how it reads*.

A first answer fits one phone screen (about 600 characters, 8 lines): what
most citizens need, then buttons for the rest. When the citizen named no
variant, the common case is answered (or one short question asked) instead of
listing every variant. The full list is one button away (``compose_details``)
and comes as several messages, each under every channel's limit.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Dict, List, Sequence

from dichvucong.knowledge.base import KnowledgeBase, Procedure
from dichvucong.knowledge.compose_facts import (
    FactPicker,
    confirm_sentence,
    date_vi,
    source_line,
)
from dichvucong.text import find_phrases

__all__ = [
    "Answer", "compose", "compose_details", "date_vi", "detect_variants", "payload",
    "procedure_buttons", "TOPIC_BY_INTENT", "TOPIC_HEADINGS", "TOPIC_QUESTIONS",
]

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
FULL_BUTTONS = {
    "overview": "Xem đầy đủ giấy tờ",
    "documents": "Xem đầy đủ giấy tờ",
    "fee": "Xem đầy đủ lệ phí",
    "processing_time": "Xem đầy đủ thời hạn",
    "where": "Xem đầy đủ cách nộp",
    "online": "Xem đầy đủ các bước",
}
FULL = "full"

# Phone-screen target of a first answer, and the hard cap of any message:
# under Zalo's 2,000 and Telegram's 4,096 characters, so no channel splits it.
SHORT_CHARS = 650
SHORT_LINES = 8
# A fee answer says today's fee and who is exempt, so two facts even when
# they take a little more than one screen.
MIN_FACTS = {"fee": 2}
MIN_FACTS_CHARS = 850
# Kept free for the source line, which is known only once the facts are chosen.
SOURCE_RESERVE = 160
MESSAGE_LIMIT = 1500

# The case most citizens are in, answered when they named none; the others
# are offered as buttons.
DEFAULT_VARIANT = {
    "khai_sinh": "lien_thong",
    "khai_tu": "lien_thong",
    "dinh_danh_dien_tu": "muc_2",
    "tam_tru": "dang_ky_moi",
}
# Where the variants differ too much to guess, one short question instead.
VARIANT_QUESTIONS = {
    "can_cuoc": "Bạn làm thẻ lần đầu, đổi thẻ, làm lại (mất, hỏng) hay làm cho con?",
    "thuong_tru": "Bạn đăng ký vào nhà của mình, nhà người thân hay nhà thuê, mượn, ở nhờ?",
    "dang_ky_xe": "Bạn đăng ký xe mới, sang tên hay đổi, cấp lại giấy đăng ký, biển số?",
}
VARIANT_QUESTION = "Bạn thuộc trường hợp nào?"
# The life-event journey a procedure belongs to (dichvucong/knowledge/journeys.py).
JOURNEY_BUTTONS = {
    "khai_sinh": ("birth", "Các bước khi có em bé"),
    "khai_tu": ("death", "Các việc khi có người mất"),
    "ket_hon": ("marriage", "Các bước khi kết hôn"),
    "thuong_tru": ("moving_house", "Các việc khi chuyển nhà"),
    "can_cuoc.cap_lai": ("lost_card", "Các việc khi mất giấy tờ"),
}


@dataclass
class Answer:
    """One answer: ``text`` is the first message, ``more`` the following ones.

    Buttons belong under the last message.
    """

    text: str
    buttons: List[Dict[str, str]] = field(default_factory=list)
    more: List[str] = field(default_factory=list)

    @property
    def parts(self) -> List[str]:
        return [self.text] + self.more


def payload(intent: str, **entities: str) -> str:
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


def detect_variants(procedure: Procedure, text: str) -> List[str]:
    """Variant ids whose keywords appear in the citizen's message."""
    keywords = {kw: v.id for v in procedure.variants for kw in v.keywords}
    found: List[str] = []
    for _, _, variant_id, _ in find_phrases(text or "", keywords):
        if variant_id not in found:
            found.append(variant_id)
    return found


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _variant_names(procedure: Procedure, variants: Sequence[str]) -> str:
    names = {v.id: v.name for v in procedure.variants}
    return ", ".join(_lower_first(names[v]) for v in variants)


def heading(procedure: Procedure, topic: str, variants: Sequence[str]) -> str:
    text = f"{TOPIC_HEADINGS[topic]} – {procedure.short_name}"
    return text + (f": {_variant_names(procedure, variants)}" if variants else "")


def _facts_of(procedure: Procedure, topic: str) -> list:
    return {
        "documents": procedure.documents,
        "fee": procedure.fees,
        "processing_time": procedure.processing_time,
        "where": procedure.agency,
        "online": procedure.online.steps,
        "overview": procedure.documents,
    }[topic]


def _resolve_variants(procedure: Procedure, variants: Sequence[str]) -> tuple:
    """(variants to answer for, whether they were assumed as the common case)."""
    known = {v.id for v in procedure.variants}
    named = [v for v in variants if v in known]
    if named:
        return named, False
    default = DEFAULT_VARIANT.get(procedure.id)
    return ([default], True) if default in known else ([], False)


def _needs_question(procedure: Procedure, topic: str, picker: FactPicker) -> bool:
    if picker.variants or not procedure.variants:
        return False
    facts = _facts_of(procedure, topic)
    if topic == "overview":
        facts = procedure.documents + procedure.fees + procedure.processing_time
    return any(f.variants and f.in_force(picker.today) for f in facts)


class _Short:
    """Fills one screen: fixed lines first, then facts while they fit."""

    def __init__(self, picker: FactPicker, head: str, tail: List[str]):
        self.picker = picker
        self.lines = [head]
        self.tail = tail
        self.truncated = False

    def room(self, line: str) -> bool:
        lines = self.lines + [line] + self.tail
        size = len("\n".join(lines)) + SOURCE_RESERVE
        return size <= SHORT_CHARS and len(lines) + 1 <= SHORT_LINES

    def add(self, line: str, force: bool = False) -> bool:
        if force or self.room(line):
            self.lines.append(line)
            return True
        self.truncated = True
        return False

    def facts(self, facts: list, fmt: str = "• {}", siblings: list | None = None,
              minimum: int = 1) -> None:
        siblings = facts if siblings is None else siblings
        number = 0
        for fact in facts:
            if self.picker.successor_shown(fact):
                continue
            number += 1
            before = len(self.picker.shown)
            line = fmt.format(self.picker.words(fact, siblings), n=number)
            size = len("\n".join(self.lines + [line] + self.tail)) + SOURCE_RESERVE
            force = number == 1 or (number <= minimum and size <= MIN_FACTS_CHARS)
            if not self.add(line, force=force):
                del self.picker.shown[before:]
                break

    def text(self) -> str:
        return "\n".join(self.lines + self.tail)


def _labelled(short: _Short, label: str, facts: list, siblings: list) -> None:
    picker = short.picker
    for fact in facts:
        if picker.successor_shown(fact):
            continue
        before = len(picker.shown)
        if not short.add(f"• {label}: {picker.words(fact, siblings)}"):
            del picker.shown[before:]
        return


def _lead_first(facts: list) -> list:
    """Verified facts first, alternating those for everyone (the 60-day
    deadline) with those of the case answered (the 03 working days), so a
    screen that holds only a few facts holds one of each. Among the latter
    the most specific (fewest variants) lead."""
    facts = sorted(facts, key=lambda f: len(f.variants))
    rank: dict = {}

    def key(fact):
        group = (fact.uncertain, bool(fact.variants))
        rank[group] = rank.get(group, -1) + 1
        return (fact.uncertain, rank[group], bool(fact.variants))

    return sorted(facts, key=key)


def _short_body(short: _Short, procedure: Procedure, topic: str, office: str | None) -> None:
    picker = short.picker
    common = not picker.variants and bool(procedure.variants)
    if topic == "overview":
        short.add(procedure.summary, force=True)
        for label, facts in (("Thời hạn", procedure.processing_time), ("Lệ phí", procedure.fees)):
            _labelled(short, label, _lead_first(picker.select(facts, common)), facts)
        if office:
            # Already a sentence ("Ở phường …, bạn đến …").
            short.add(f"• {office}")
        else:
            agency = _lead_first(picker.select(procedure.agency, common))
            _labelled(short, "Nơi nộp", agency, procedure.agency)
        return
    if topic == "where" and office:
        short.add(office, force=True)
    if topic == "online":
        online = procedure.online
        if not online.available:
            short.add("Thủ tục này hiện chưa nộp trực tuyến được; bạn cần nộp trực tiếp.", force=True)
            short.facts(picker.select(procedure.agency, common))
            return
        if online.portals:
            short.add("Nộp qua: " + "; ".join(online.portals) + ".", force=True)
        short.facts(picker.select(online.steps, common), fmt="{n}. {}", siblings=online.steps)
        return
    facts = _facts_of(procedure, topic)
    short.facts(_lead_first(picker.select(facts, common)), siblings=facts,
                minimum=MIN_FACTS.get(topic, 1))


def _buttons(procedure, topic, variants, assumed, question, truncated) -> List[Dict[str, str]]:
    pid = procedure.id
    if question:
        return [
            {"title": v.name, "payload": payload(INTENT_BY_TOPIC[topic], procedure=pid, variant=v.id)}
            for v in procedure.variants
        ]
    buttons = []
    if truncated or topic in ("overview", "documents"):
        entities = {"procedure": pid, "detail": FULL}
        if variants:
            entities["variant"] = variants[0]
        intent = INTENT_BY_TOPIC["documents" if topic == "overview" else topic]
        buttons.append({"title": FULL_BUTTONS[topic], "payload": payload(intent, **entities)})
    if assumed:
        buttons += [
            {"title": v.name, "payload": payload(INTENT_BY_TOPIC[topic], procedure=pid, variant=v.id)}
            for v in procedure.variants
            if v.id not in variants
        ]
    journey = next((JOURNEY_BUTTONS[k] for k in [f"{pid}.{v}" for v in variants] + [pid]
                    if k in JOURNEY_BUTTONS), None)
    if journey:
        buttons.append({"title": journey[1], "payload": payload("life_event", life_event=journey[0])})
    buttons += [
        {"title": title, "payload": payload(INTENT_BY_TOPIC[t], procedure=pid)}
        for t, title in TOPIC_BUTTONS.items()
        if t != topic
    ]
    return buttons


def compose(
    procedure: Procedure,
    topic: str,
    variants: Sequence[str] = (),
    today: dt.date | None = None,
    office_line: str | None = None,
) -> Answer:
    """The short first answer; ``office_line`` names the citizen's own office."""
    chosen, assumed = _resolve_variants(procedure, variants)
    picker = FactPicker(procedure, chosen, today or dt.date.today())
    question = _needs_question(procedure, topic, picker)
    tail = [VARIANT_QUESTIONS.get(procedure.id, VARIANT_QUESTION)] if question else []
    short = _Short(picker, heading(procedure, topic, chosen), tail)
    office = office_line if topic in ("where", "overview") else None
    _short_body(short, procedure, topic, office)
    if picker.uncertain:
        short.add(confirm_sentence(procedure.id, topic), force=True)
    source = picker.official_source(_facts_of(procedure, topic))
    short.tail.append(source_line(source, procedure.last_checked))
    buttons = _buttons(procedure, topic, chosen, assumed, question, short.truncated)
    return Answer(text=short.text(), buttons=buttons)


def compose_details(
    procedure: Procedure,
    topic: str,
    variants: Sequence[str] = (),
    today: dt.date | None = None,
) -> Answer:
    """Everything on the topic, as several messages cut between thoughts."""
    from dichvucong.knowledge.compose_details import details

    return details(procedure, topic, variants, today)


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
