"""SQL tracker store that never keeps a citizen's identity or phone numbers.

Conversations are kept for staff review, so what is written must be safe to
leak: identity and phone numbers are masked in user messages, and a message
answering the second-factor question (the last 4 digits) has all its digits
masked. The running turn still sees the original text; only what is stored
is redacted.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterator

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions.dossiers.privacy import MASK, redact

SECOND_FACTOR_SLOT = "second_factor"
PRIVATE_METADATA = ("verified_phone",)


def mask_all_digits(text: str) -> str:
    return re.sub(r"\d", MASK, text)


def redact_user_event(data: Dict[str, Any], second_factor: bool) -> Dict[str, Any]:
    clean = mask_all_digits if second_factor else redact
    if isinstance(data.get("text"), str):
        data["text"] = clean(data["text"])
    parse = data.get("parse_data") or {}
    if isinstance(parse.get("text"), str):
        parse["text"] = clean(parse["text"])
    for entity in parse.get("entities") or []:
        if isinstance(entity.get("value"), str) and entity.get("entity") != "procedure":
            entity["value"] = clean(entity["value"])
    metadata = data.get("metadata") or {}
    for key in PRIVATE_METADATA:
        if key in metadata:
            metadata[key] = mask_all_digits(str(metadata[key]))
    return data


class RedactingSQLTrackerStore(SQLTrackerStore):
    def _additional_events(
        self, session: Any, tracker: DialogueStateTracker
    ) -> Iterator[Event]:
        stored = self._event_query(
            session, tracker.sender_id, fetch_events_from_all_sessions=False
        ).count()
        requested = None
        for index, event in enumerate(tracker.events):
            if isinstance(event, SlotSet) and event.key == "requested_slot":
                requested = event.value
            if index < stored:
                continue
            if isinstance(event, UserUttered):
                data = redact_user_event(event.as_dict(), requested == SECOND_FACTOR_SLOT)
                yield Event.from_parameters(data)
            else:
                yield event
