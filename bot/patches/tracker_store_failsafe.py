"""A tracker store that cannot be read or written fails the turn, loudly.

Rasa 3.6 wraps every tracker store in ``FailSafeTrackerStore``: when the
database cannot be read it starts a *new, empty* conversation, and when it
cannot be written it keeps the turn in process memory. During a PostgreSQL
restart a citizen was then answered without the conversation's context (the
procedure they were asking about, a lookup in progress), and the turn was
lost when the server came back (found by tests/integration/test_faults.py).

Here the wrapper lets the primary store's error through: the turn fails, the
channel tells the citizen in Vietnamese to send the message again
(bot/channels/safety.py, the Telegram and Zalo channels), and nothing is
answered that is not stored. ``keys()`` keeps Rasa's behaviour (only the
API's conversation listing uses it).
"""
from __future__ import annotations

from typing import Optional

from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker


async def retrieve(self: FailSafeTrackerStore, sender_id: str) -> Optional[DialogueStateTracker]:
    return await self._tracker_store.retrieve(sender_id)


async def retrieve_full_tracker(self: FailSafeTrackerStore,
                                sender_id: str) -> Optional[DialogueStateTracker]:
    return await self._tracker_store.retrieve_full_tracker(sender_id)


async def save(self: FailSafeTrackerStore, tracker: DialogueStateTracker) -> None:
    await self._tracker_store.save(tracker)


def install() -> None:
    FailSafeTrackerStore.retrieve = retrieve
    FailSafeTrackerStore.retrieve_full_tracker = retrieve_full_tracker
    FailSafeTrackerStore.save = save
