"""The full answer on one topic, sent as several messages on demand.

Each message stays under ``MESSAGE_LIMIT`` and is cut between thoughts (a
variant's group of facts, or at worst between two facts), never inside one.
Variants are grouped under a short "Nếu …" line instead of a prefix per line.
"""
from __future__ import annotations

import datetime as dt
from typing import List, Sequence

from dichvucong.knowledge.answers import (
    INTENT_BY_TOPIC,
    MESSAGE_LIMIT,
    TOPIC_BUTTONS,
    Answer,
    _facts_of,
    _lower_first,
    heading,
    payload,
)
from dichvucong.knowledge.base import Procedure
from dichvucong.knowledge.compose_facts import FactPicker, confirm_sentence, source_line


def _lines(picker: FactPicker, facts: list, siblings: list, numbered: bool) -> List[str]:
    out = []
    for fact in facts:
        if picker.successor_shown(fact):
            continue
        words = picker.words(fact, siblings)
        out.append(f"{len(out) + 1}. {words}" if numbered else f"• {words}")
    return out


def _groups(procedure: Procedure, topic: str, variants: Sequence[str], today: dt.date):
    """(picker, groups of lines): common facts first, then one group per variant."""
    picker = FactPicker(procedure, variants, today)
    facts = _facts_of(procedure, topic)
    numbered = topic == "online"
    groups: List[List[str]] = []
    if topic == "online" and procedure.online.portals:
        groups.append(["Nộp qua: " + "; ".join(procedure.online.portals) + "."])
    if variants or not procedure.variants:
        groups.append(_lines(picker, picker.select(facts), facts, numbered))
    else:
        groups.append(_lines(picker, picker.select(facts, common_only=True), facts, numbered))
        for variant in procedure.variants:
            own = [f for f in facts if variant.id in f.variants and f.in_force(today)]
            lines = _lines(picker, own, facts, numbered)
            if lines:
                groups.append([f"Nếu {_lower_first(variant.name)}:"] + lines)
    if topic == "where" and procedure.in_person:
        steps = _lines(picker, picker.select(procedure.in_person), procedure.in_person, True)
        if steps:
            groups.append(["Nộp trực tiếp:"] + steps)
    for caveat in procedure.caveats:
        if not caveat.topics or topic in caveat.topics:
            groups.append([f"Lưu ý: {caveat.text}"])
    return picker, [g for g in groups if g]


def pack(groups: List[List[str]], limit: int = MESSAGE_LIMIT) -> List[str]:
    """Messages of whole groups where possible, of whole lines otherwise."""
    parts: List[str] = []
    current: List[str] = []

    def flush() -> None:
        if current:
            parts.append("\n".join(current))
            current.clear()

    for group in groups:
        if len("\n".join(current + group)) <= limit:
            current.extend(group)
            continue
        flush()
        for line in group:
            if current and len("\n".join(current + [line])) > limit:
                flush()
            current.append(line)
    flush()
    return parts


def details(
    procedure: Procedure, topic: str, variants: Sequence[str] = (), today: dt.date | None = None
) -> Answer:
    topic = "documents" if topic == "overview" else topic
    known = {v.id for v in procedure.variants}
    chosen = [v for v in variants if v in known]
    today = today or dt.date.today()
    picker, groups = _groups(procedure, topic, chosen, today)
    end = [source_line(picker.official_source(), procedure.last_checked)]
    if picker.uncertain or any(g[0].startswith("Lưu ý:") for g in groups):
        end.insert(0, confirm_sentence(procedure.id, topic))
    title = heading(procedure, topic, chosen)
    # A later message says what it continues, for a reader who scrolled.
    again = f"{title} (tiếp)"
    parts = pack([[f"{title} (đầy đủ)"]] + groups + [end], MESSAGE_LIMIT - len(again) - 1)
    parts = parts[:1] + [f"{again}\n{part}" for part in parts[1:]]
    buttons = [
        {"title": title, "payload": payload(INTENT_BY_TOPIC[t], procedure=procedure.id)}
        for t, title in TOPIC_BUTTONS.items()
        if t != topic
    ]
    return Answer(text=parts[0], buttons=buttons, more=parts[1:])
