"""Which conversations a page lists: filters from the query string, and the scan.

Shared by the conversation list, the review inbox and the overview figures:
each reads a date range from the tracker store and builds every conversation
in it with ``bot.console.conversation.build``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Set, Tuple

from bot.console import clock
from bot.console.conversation import Conversation, build
from bot.console.tracker_reader import TrackerReader


@dataclass
class Filters:
    start: dt.date | None = None
    end: dt.date | None = None
    channel: str | None = None
    procedure: str | None = None
    fallback: bool = False
    low_confidence: bool = False
    handoff: bool = False
    negative: bool = False
    # Quality review (bot.console.quality): tagged "yes"/"no", theme, level, follow-up.
    tagged: str | None = None
    theme: str | None = None
    quality: str | None = None
    follow_up: str | None = None

    @property
    def by_tag(self) -> bool:
        return bool(self.tagged or self.theme or self.quality or self.follow_up)

    def tag_matches(self, tag: Any) -> bool:
        """``tag``: the conversation's ConversationTag, or None when untagged."""
        if self.tagged == "no":
            return tag is None
        if not self.by_tag:
            return True
        if tag is None:
            return False
        wanted = ((self.theme, tag.theme), (self.quality, tag.quality),
                  (self.follow_up, tag.follow_up))
        return all(have == value for value, have in wanted if value)

    def matches(self, conversation: Conversation) -> bool:
        if not conversation.user_messages:
            return False
        if self.channel and conversation.channel != self.channel:
            return False
        if self.procedure and self.procedure not in conversation.procedures:
            return False
        checks = (
            (self.fallback, conversation.fallback),
            (self.low_confidence, conversation.low_confidence),
            (self.handoff, conversation.handoff),
            (self.negative, conversation.rated_down),
        )
        return all(have for wanted, have in checks if wanted)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "on", "true", "yes")


def filters_from(query: Dict[str, str], default_days: int = 30, today: dt.date | None = None):
    """Filters from a query string; without dates, the last ``default_days`` days."""
    today = today or clock.today()
    start, end = _date(query.get("from")), _date(query.get("to"))
    if start is None and end is None and "from" not in query and "to" not in query:
        start = today - dt.timedelta(days=default_days - 1)
    return Filters(
        start=start,
        end=end,
        channel=(query.get("channel") or "").strip() or None,
        procedure=(query.get("procedure") or "").strip() or None,
        fallback=_flag(query.get("fallback")),
        low_confidence=_flag(query.get("low_confidence")),
        handoff=_flag(query.get("handoff")),
        negative=_flag(query.get("negative")),
        tagged=(query.get("tagged") or "") if query.get("tagged") in ("yes", "no") else None,
        theme=_text(query.get("theme")),
        quality=_text(query.get("quality")),
        follow_up=_text(query.get("follow_up")),
    )


def _text(value: str | None) -> str | None:
    return " ".join((value or "").split()) or None


def all_messages(
    reader: TrackerReader, start: dt.date | None, end: dt.date | None, low_confidence: float
) -> Iterable[Conversation]:
    a, b = clock.day_bounds(start, end)
    for rows in reader.scan(a, b):
        yield build(rows, low_confidence)


def conversations(
    reader: TrackerReader, filters: Filters, low_confidence: float,
    tags: Mapping[str, Any] | None = None,
) -> Tuple[List[Conversation], List[str]]:
    """Matching conversations, most recent first, and every channel seen in the range.

    ``tags``: the conversation tags by sender digest, needed by the tag filters."""
    found: List[Conversation] = []
    channels: Set[str] = set()
    tags = tags or {}
    for conversation in all_messages(reader, filters.start, filters.end, low_confidence):
        if conversation.channel:
            channels.add(conversation.channel)
        if filters.matches(conversation) and filters.tag_matches(
                tags.get(conversation.sender_digest)):
            found.append(conversation)
    found.sort(key=lambda c: c.last or clock.EARLIEST, reverse=True)
    return found, sorted(channels)
