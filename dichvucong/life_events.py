"""Life events: what citizens describe ("vợ tôi vừa sinh em bé") instead of a procedure name.

The events, the ways citizens say them and the procedures they lead to are
data (data/life_events.yml), as are the neighbouring procedures we do not
answer (data/uncovered_procedures.yml), so adding a phrase needs no code and
no retraining. Matching reuses the procedure matcher's canonical words
(dichvucong/text.py), so accents, abbreviations and one typo do not matter,
except for a few words that only mean the event with their diacritics
("đẻ" folds to "de", like "để").

"mất" is the hard word: "bố mất" (died), "mất căn cước" (lost) and "mất bao
lâu" (takes how long). Its neighbours decide; when they do not, the match says
"ask" and the assistant asks instead of guessing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml
from pydantic import BaseModel, ValidationError, validator

from dichvucong.knowledge.base import PROCEDURE_IDS
from dichvucong.settings import settings
from dichvucong.text import _words, canonical, find_phrases, fold, normalize

LOST = "lost_card"
DIED = "death"
# How far from "mất" a deciding neighbour may be ("bố tôi mới mất": 3 words).
WINDOW = 3
TYPO_MIN_WORDS = 3


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        anystr_strip_whitespace = True


class LifeEvent(_Strict):
    id: str
    name: str
    journey: Optional[str]
    procedures: List[str]
    variants: List[str] = []
    phrases: List[str]
    accented: List[str] = []

    @validator("procedures", each_item=True)
    def _known_procedure(cls, value: str) -> str:
        if value not in PROCEDURE_IDS:
            raise ValueError(f"unknown procedure {value!r}")
        return value

    @validator("procedures")
    def _some_procedure(cls, value: List[str]) -> List[str]:
        if not value:
            raise ValueError("a life event must lead to at least one procedure")
        return value

    @validator("variants", each_item=True)
    def _qualified_variant(cls, value: str) -> str:
        if value.split(".")[0] not in PROCEDURE_IDS or "." not in value:
            raise ValueError(f"variant {value!r} must be '<procedure>.<variant>'")
        return value


class MatRules(_Strict):
    word: str
    not_an_event_after: List[str]
    lost_after: List[str]
    lost_before: List[str]
    other_after: List[str]
    died_before: List[str]
    died_after: List[str]


class LifeEventFile(_Strict):
    version: int
    events: List[LifeEvent]
    mat: MatRules

    @validator("events")
    def _unique_ids(cls, events: List[LifeEvent]) -> List[LifeEvent]:
        ids = [e.id for e in events]
        if len(ids) != len(set(ids)) or LOST not in ids or DIED not in ids:
            raise ValueError("event ids must be unique and include 'death' and 'lost_card'")
        return events


class Uncovered(_Strict):
    id: str
    name: str
    phrases: List[str]
    answer: str
    sources: List[str]


class UncoveredFile(_Strict):
    version: int
    uncovered: List[Uncovered]


class LifeEventDataError(ValueError):
    """A data file is malformed; the message names the file and the field."""


def _load(path: Path, model: type) -> BaseModel:
    try:
        return model.parse_obj(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as error:
        raise LifeEventDataError(f"{path}: {error}") from error


@dataclass(frozen=True)
class Match:
    """Life events found in a message, in the order typed.

    ``ask`` holds the candidates when a word could mean several events and
    nothing around it decides; ``spans`` are (start, end, event id).
    """

    events: Tuple[str, ...] = ()
    ask: Tuple[str, ...] = ()
    spans: Tuple[Tuple[int, int, str], ...] = field(default=())

    @property
    def best(self) -> Optional[str]:
        return self.events[0] if self.events else None


class LifeEvents:
    def __init__(self, data: LifeEventFile, uncovered: UncoveredFile):
        self.events: Dict[str, LifeEvent] = {e.id: e for e in data.events}
        self.uncovered: Dict[str, Uncovered] = {u.id: u for u in uncovered.uncovered}
        self._mat = data.mat
        phrases = {p: e.id for e in data.events for p in e.phrases}
        # One typo is tolerated only in phrases of three words or more: in
        # shorter ones a typo turns common words into an event ("mình còn"
        # is one letter from "sinh con", "ô tô" from "ở trọ").
        self._phrases = {p: i for p, i in phrases.items() if len(canonical(p).split()) < TYPO_MIN_WORDS}
        self._typo_phrases = {p: i for p, i in phrases.items() if p not in self._phrases}
        self._accented = {w.lower(): e.id for e in data.events for w in e.accented}
        self._uncovered_phrases = {p: u.id for u in uncovered.uncovered for p in u.phrases}
        self._mat_word = canonical(data.mat.word)

    @classmethod
    def load(cls, events_path: Path, uncovered_path: Path) -> LifeEvents:
        return cls(_load(events_path, LifeEventFile), _load(uncovered_path, UncoveredFile))

    def get(self, event_id: Optional[str]) -> Optional[LifeEvent]:
        return self.events.get(event_id or "")

    def match(self, text: str) -> Match:
        text = normalize(text)
        found = find_phrases(text, self._phrases, typos=False) + find_phrases(text, self._typo_phrases)
        spans = _longest([(s, e, label) for s, e, label, _ in found])
        spans += self._accented_spans(text)
        mat_spans, ask = self._mat_spans(text, spans)
        spans = sorted(spans + mat_spans)
        events: List[str] = []
        for _, _, event_id in spans:
            if event_id not in events:
                events.append(event_id)
        return Match(tuple(events), () if events else ask, tuple(spans))

    def match_uncovered(self, text: str) -> List[Tuple[int, int, str]]:
        """Spans of procedures we do not cover, as (start, end, id)."""
        found = find_phrases(normalize(text), self._uncovered_phrases, typos=False)
        return [(s, e, label) for s, e, label, _ in found]

    def _accented_spans(self, text: str) -> List[Tuple[int, int, str]]:
        lowered = text.lower()
        return [
            (m.start(), m.end(), event_id)
            for phrase, event_id in self._accented.items()
            for m in re.finditer(rf"(?<!\w){re.escape(phrase)}(?!\w)", lowered)
        ]

    def _mat_spans(
        self, text: str, found: Sequence[Tuple[int, int, str]]
    ) -> Tuple[List[Tuple[int, int, str]], Tuple[str, ...]]:
        words = _words(text)
        seq = [w for w, _, _ in words]
        accented = fold(text) != text.lower()
        spans, ask = [], ()
        for i, (word, start, end) in enumerate(words):
            if word != self._mat_word or any(s <= start < e for s, e, _ in found):
                continue
            if accented and text[start:end].lower() != self._mat.word:
                continue  # "mặt", "mắt", "mát" fold to the same letters
            meaning = self._mat_meaning(seq, i)
            if meaning in (LOST, DIED):
                spans.append((start, end, meaning))
            elif meaning == "ask" and accented:
                ask = (DIED, LOST)
        return spans, ask

    def _mat_meaning(self, seq: List[str], i: int) -> Optional[str]:
        rules = self._mat
        following = seq[i + 1] if i + 1 < len(seq) else ""
        if following.isdigit() or _after(seq, i, rules.not_an_event_after, window=1):
            return None  # "mất 5 ngày", "mất bao lâu"
        # Before the lost things: folded, "mất vì tai nạn" would read as "mất ví".
        if _after(seq, i, rules.died_after, window=1):
            return DIED
        if _after(seq, i, rules.lost_after):
            return LOST
        if _after(seq, i, rules.other_after):
            return None
        if _before(seq, i, rules.lost_before, window=1):
            return LOST
        if _before(seq, i, rules.died_before):
            return DIED
        return "ask"


def _longest(spans: List[Tuple[int, int, str]]) -> List[Tuple[int, int, str]]:
    """Drop spans inside a longer one found by the other phrase list."""
    return [
        span for span in spans
        if not any(o != span and o[0] <= span[0] and span[1] <= o[1] for o in spans)
    ]


def _phrase(words: str) -> Tuple[str, ...]:
    return tuple(canonical(words).split())


def _after(seq: List[str], i: int, phrases: List[str], window: int = WINDOW) -> bool:
    for phrase in map(_phrase, phrases):
        for start in range(i + 1, min(i + 1 + window, len(seq))):
            if tuple(seq[start:start + len(phrase)]) == phrase:
                return True
    return False


def _before(seq: List[str], i: int, phrases: List[str], window: int = WINDOW) -> bool:
    for phrase in map(_phrase, phrases):
        for end in range(i, i - window, -1):
            if end - len(phrase) >= 0 and tuple(seq[end - len(phrase):end]) == phrase:
                return True
    return False


@cache
def default_life_events() -> LifeEvents:
    data_dir = settings().procedures_dir.parent
    return LifeEvents.load(data_dir / "life_events.yml", data_dir / "uncovered_procedures.yml")
