"""How one fact reads to a citizen, and which official source an answer names.

Shared by the procedure answers and the journeys, so both apply the same
rules: only facts in force today, a time-limited fact says until when and
what follows, a condition is said with the fact, uncertainty is said once in
words, and the source named is an official one.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Iterable, List, Optional, Sequence

from dichvucong.knowledge.base import Fact, Procedure, Source

STEP_PREFIX = re.compile(r"^Bước\s*\d+\s*[:.]\s*", re.IGNORECASE)
# A link this long does not help on a phone; the document number still names it.
MAX_LINK = 110

# Where a citizen confirms what is uncertain: the office named by the data's
# agency facts, kept short for one sentence.
CONFIRM_WITH = {
    "khai_sinh": "UBND hoặc Công an cấp xã",
    "khai_tu": "UBND cấp xã",
    "can_cuoc": "Công an cấp xã",
    "dinh_danh_dien_tu": "Công an cấp xã",
    "thuong_tru": "Công an cấp xã",
    "tam_tru": "Công an cấp xã",
    "thong_bao_luu_tru": "Công an cấp xã",
    "ket_hon": "UBND cấp xã",
    "xac_nhan_hon_nhan": "UBND cấp xã",
    "ly_lich_tu_phap": "Công an tỉnh",
    "doi_gplx": "cơ quan cấp giấy phép lái xe",
    "dang_ky_xe": "cơ quan đăng ký xe",
}
CONFIRM_TOPIC = {
    "fee": "Mức phí này cần xác nhận với {office}.",
    "processing_time": "Thời hạn này cần xác nhận với {office}.",
    "documents": "Danh sách giấy tờ này cần xác nhận với {office} trước khi nộp.",
}
CONFIRM_DEFAULT = "Một số thông tin trên cần xác nhận với {office} trước khi nộp."


def date_vi(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _dates_in(text: str, day: dt.date) -> bool:
    """Whether the text already names the day, in either common spelling."""
    spellings = {date_vi(day), f"{day.day}/{day.month}/{day.year}", f"{day.day:02d}/{day.month}/{day.year}",
                 f"{day.day}/{day.month:02d}/{day.year}"}
    return any(s in text for s in spellings)


def _sentence(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", ":")) else text + "."


def confirm_sentence(procedure_id: str, topic: str) -> str:
    office = CONFIRM_WITH.get(procedure_id, "nơi tiếp nhận hồ sơ")
    return CONFIRM_TOPIC.get(topic, CONFIRM_DEFAULT).format(office=office)


class FactPicker:
    """Selects and words the facts of one procedure for one answer.

    It remembers which facts it showed, so the answer can name their official
    source and say once whether something needs confirming.
    """

    def __init__(self, procedure: Procedure, variants: Sequence[str], today: dt.date):
        self.procedure = procedure
        self.variants = list(variants)
        self.today = today
        self.shown: List[Fact] = []

    def applies(self, fact: Fact) -> bool:
        if not fact.in_force(self.today):
            return False
        if self.variants and fact.variants:
            return bool(set(fact.variants) & set(self.variants))
        return True

    def select(self, facts: Iterable[Fact], common_only: bool = False) -> List[Fact]:
        chosen = [f for f in facts if self.applies(f)]
        if common_only:
            chosen = [f for f in chosen if not f.variants]
        return chosen

    def words(self, fact: Fact, siblings: Sequence[Fact] = ()) -> str:
        """The fact as one sentence or two: condition, end date, what follows."""
        self.shown.append(fact)
        text = STEP_PREFIX.sub("", fact.text)
        condition = getattr(fact, "condition", None)
        if condition:
            text = f"{text.rstrip('. ')}, {condition.rstrip('. ')}"
        if fact.valid_until and not _dates_in(text, fact.valid_until):
            text = f"{text.rstrip('. ')} (đến hết {date_vi(fact.valid_until)})"
        text = _sentence(text)
        for after in self._successors(fact, siblings):
            self.shown.append(after)
            then = STEP_PREFIX.sub("", after.text)
            if not then.lower().startswith("từ "):
                then = f"Từ {date_vi(after.valid_from)}: {then}"
            text += " " + _sentence(then)
        return text

    def _successors(self, fact: Fact, siblings: Sequence[Fact]) -> List[Fact]:
        if not fact.valid_until:
            return []
        next_day = fact.valid_until + dt.timedelta(days=1)
        found = []
        for other in siblings:
            if other is fact or other.valid_from != next_day:
                continue
            if self.variants and other.variants and not set(other.variants) & set(self.variants):
                continue
            if fact.variants and other.variants and not set(fact.variants) & set(other.variants):
                continue
            found.append(other)
        # Several may start that day (a fee per sub-case): the one resting on
        # the same sources is this fact's own continuation.
        found.sort(key=lambda f: (-len(set(f.sources) & set(fact.sources)), f.uncertain))
        return found[:1]

    def successor_shown(self, fact: Fact) -> bool:
        """A successor is already said with its predecessor; do not repeat it."""
        return any(f is fact for f in self.shown)

    @property
    def uncertain(self) -> bool:
        return any(f.uncertain for f in self.shown)

    def official_source(self, fallback: Sequence[Fact] = ()) -> Optional[Source]:
        """The source of what was shown; of ``fallback`` when nothing was."""
        found = official_source(self.procedure, self.shown)
        if found is None:
            found = official_source(self.procedure, [f for f in fallback if self.applies(f)])
        return found


def official_source(procedure: Procedure, facts: Sequence[Fact]) -> Optional[Source]:
    """The official source behind most of the facts shown, links first."""
    counts: dict = {}
    for index, fact in enumerate(facts):
        for source_id in fact.sources:
            source = procedure.source(source_id)
            if getattr(source, "official", source.reliability == "A"):
                weight, first = counts.get(source_id, (0, index))
                counts[source_id] = (weight + 1, first)
    if not counts:
        return None
    best = sorted(
        counts,
        key=lambda s: (-counts[s][0], counts[s][1], not procedure.source(s).url),
    )[0]
    return procedure.source(best)


def _short_title(title: str) -> str:
    """A long page title loses its trailing explanation in brackets."""
    if len(title) > 80 and "(" in title:
        title = title[: title.index("(")].rstrip(" –-")
    return title


def source_line(source: Optional[Source], checked: dt.date) -> str:
    """One line naming the official source and the check date."""
    when = f"kiểm tra lần cuối {date_vi(checked)}"
    if source is None:
        return f"Nguồn: chưa có văn bản chính thức để đối chiếu ({when})."
    name = source.document or _short_title(source.title)
    link = source.url if source.url and len(source.url) <= MAX_LINK else None
    return f"Nguồn: {name}" + (f" – {link}" if link else "") + f" ({when})."
