"""Figures for the overview page, computed from the tracker store for a date range.

Besides volumes and rates per message, the outcome of each conversation that has
ended (no activity for ``ONGOING_MINUTES``): resolved without a human (no handoff,
no fallback at the end, no 👎), abandoned (the citizen left after a fallback or a
clarification), handed off (``action_handoff``, per day). The handoff queue's own
figures (tickets per day, median waiting and handling times) come from its tables
through ``HandoffTimes`` (``bot.console.handoff.Desk.times``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from bot.console.conversation import FALLBACK_INTENT, RATING_INTENT, Conversation, Message
from bot.console.listing import all_messages
from bot.console.tracker_reader import TrackerReader
from dichvucong.text import fold

# A conversation with activity this recent may still go on: it has no outcome yet.
ONGOING_MINUTES = 30
TOP_UNANSWERED = 10


@dataclass
class HandoffDay:
    """One day of the handoff queue (tickets created that day, Vietnam time)."""

    day: dt.date
    requested: int
    taken: int
    median_wait_seconds: Optional[float]
    median_handling_seconds: Optional[float]

    def as_dict(self) -> dict:
        return {"day": self.day.isoformat(), "requested": self.requested, "taken": self.taken,
                "median_wait_seconds": self.median_wait_seconds,
                "median_handling_seconds": self.median_handling_seconds}


@dataclass
class HandoffTimes:
    """Median waiting (queued → taken) and handling (taken → ended) times in seconds,
    and the queue's tickets per day, from the handoff tables (``bot.console.handoff``).

    None (and no days) when no source is given or no ticket was taken."""

    median_wait_seconds: Optional[float] = None
    median_handling_seconds: Optional[float] = None
    requested: int = 0
    taken: int = 0
    timed_out: int = 0
    days: List[HandoffDay] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"median_wait_seconds": self.median_wait_seconds,
                "median_handling_seconds": self.median_handling_seconds,
                "available": self.median_wait_seconds is not None}

    def queue_dict(self) -> dict:
        return {"requested": self.requested, "taken": self.taken, "timed_out": self.timed_out,
                "per_day": [day.as_dict() for day in self.days]}


HandoffTimesSource = Callable[[dt.date, dt.date], HandoffTimes]


@dataclass
class Analytics:
    start: dt.date
    end: dt.date
    conversations: int = 0
    messages: int = 0  # typed by citizens (no buttons, notices or lookup digits)
    fallbacks: int = 0
    handoffs: int = 0
    ratings_up: int = 0
    ratings_down: int = 0
    per_day: Dict[dt.date, int] = field(default_factory=dict)
    fallback_per_day: Dict[dt.date, Tuple[int, int]] = field(default_factory=dict)
    intents: Counter = field(default_factory=Counter)
    procedures: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    # Outcomes of the conversations that have ended.
    finished: int = 0
    resolved_alone: int = 0
    abandoned: int = 0
    handed_off: int = 0  # conversations with action_handoff
    handoffs_per_day: Dict[dt.date, int] = field(default_factory=dict)
    handoff_times: HandoffTimes = field(default_factory=HandoffTimes)
    # Folded question → [count, masked text as first seen].
    unanswered: Dict[str, list] = field(default_factory=dict)

    @property
    def ongoing(self) -> int:
        return self.conversations - self.finished

    @property
    def resolved_rate(self) -> float | None:
        return self.resolved_alone / self.finished if self.finished else None

    @property
    def abandonment_rate(self) -> float | None:
        return self.abandoned / self.finished if self.finished else None

    def top_unanswered(self, limit: int = TOP_UNANSWERED) -> List[Tuple[str, int]]:
        ranked = sorted(self.unanswered.values(), key=lambda item: (-item[0], item[1]))
        return [(text, count) for count, text in ranked[:limit]]

    @property
    def fallback_rate(self) -> float | None:
        return self.fallbacks / self.messages if self.messages else None

    @property
    def handoff_rate(self) -> float | None:
        return self.handoffs / self.conversations if self.conversations else None

    @property
    def satisfaction(self) -> float | None:
        rated = self.ratings_up + self.ratings_down
        return self.ratings_up / rated if rated else None

    def days(self) -> List[dt.date]:
        count = (self.end - self.start).days + 1
        return [self.start + dt.timedelta(days=i) for i in range(max(count, 0))]

    def as_dict(self) -> dict:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "conversations": self.conversations,
            "messages": self.messages,
            "fallback_rate": self.fallback_rate,
            "handoff_rate": self.handoff_rate,
            "ratings": {"up": self.ratings_up, "down": self.ratings_down},
            "satisfaction": self.satisfaction,
            "conversations_per_day": {d.isoformat(): self.per_day.get(d, 0) for d in self.days()},
            "top_intents": self.intents.most_common(10),
            "top_procedures": self.procedures.most_common(12),
            "channels": dict(self.channels),
            "outcomes": {
                "finished": self.finished,
                "ongoing": self.ongoing,
                "resolved_without_human": self.resolved_alone,
                "resolved_rate": self.resolved_rate,
                "abandoned": self.abandoned,
                "abandonment_rate": self.abandonment_rate,
                "handed_off": self.handed_off,
            },
            "handoffs_per_day": {
                d.isoformat(): self.handoffs_per_day.get(d, 0) for d in self.days()
            },
            "handoff_times": self.handoff_times.as_dict(),
            "handoff_queue": self.handoff_times.queue_dict(),
            "top_unanswered": [{"text": t, "count": n} for t, n in self.top_unanswered()],
        }


def _add_outcome(result: Analytics, conversation: Conversation, now: dt.datetime) -> None:
    if conversation.handed_off_at is not None:
        result.handed_off += 1
        day = conversation.handed_off_at.date()
        result.handoffs_per_day[day] = result.handoffs_per_day.get(day, 0) + 1
    last = conversation.last
    if last is not None and now - last < dt.timedelta(minutes=ONGOING_MINUTES):
        return
    result.finished += 1
    result.resolved_alone += conversation.resolved_alone
    result.abandoned += conversation.ended_in_fallback


def _add_message(result: Analytics, message: Message) -> None:
    if message.intent == RATING_INTENT:
        result.ratings_up += message.rating == "up"
        result.ratings_down += message.rating == "down"
        return
    if message.second_factor:
        return  # the digits of a lookup say nothing about what people ask
    if message.intent and message.intent != FALLBACK_INTENT:
        result.intents[message.intent] += 1
    if not message.reviewable:
        return
    result.messages += 1
    result.fallbacks += message.fallback
    typed, fell = result.fallback_per_day.get(message.at.date(), (0, 0))
    result.fallback_per_day[message.at.date()] = (typed + 1, fell + message.fallback)
    if message.fallback:
        key = " ".join(fold(message.text).split())
        entry = result.unanswered.setdefault(key, [0, message.text])
        entry[0] += 1


def compute(
    reader: TrackerReader, start: dt.date, end: dt.date, low_confidence: float,
    now: dt.datetime | None = None, handoff_times: HandoffTimesSource | None = None,
) -> Analytics:
    result = Analytics(start, end)
    now = now or dt.datetime.now(dt.timezone.utc)
    for conversation in all_messages(reader, start, end, low_confidence):
        users = conversation.user_messages
        if not users:
            continue
        result.conversations += 1
        day = users[0].at.date()
        result.per_day[day] = result.per_day.get(day, 0) + 1
        result.channels[conversation.channel or "?"] += 1
        for procedure in conversation.procedures:
            result.procedures[procedure] += 1
        if conversation.handoff:
            result.handoffs += 1
        _add_outcome(result, conversation, now)
        for message in users:
            _add_message(result, message)
    if handoff_times is not None:
        result.handoff_times = handoff_times(start, end)
    return result
