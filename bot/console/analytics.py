"""Figures for the overview page, computed from the tracker store for a date range."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from bot.console.conversation import FALLBACK_INTENT, RATING_INTENT
from bot.console.listing import all_messages
from bot.console.tracker_reader import TrackerReader


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
        }


def compute(
    reader: TrackerReader, start: dt.date, end: dt.date, low_confidence: float
) -> Analytics:
    result = Analytics(start, end)
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
        for message in users:
            if message.intent == RATING_INTENT:
                result.ratings_up += message.rating == "up"
                result.ratings_down += message.rating == "down"
                continue
            if message.second_factor:
                continue  # the digits of a lookup say nothing about what people ask
            if message.intent and message.intent != FALLBACK_INTENT:
                result.intents[message.intent] += 1
            if not message.reviewable:
                continue
            result.messages += 1
            result.fallbacks += message.fallback
            typed, fell = result.fallback_per_day.get(message.at.date(), (0, 0))
            result.fallback_per_day[message.at.date()] = (typed + 1, fell + message.fallback)
    return result
