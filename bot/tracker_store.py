"""SQL tracker store that never keeps a citizen's identity or phone numbers.

Conversations are kept for staff review, so what is written must be safe to
leak. Before an event is written:

* identity and phone numbers are masked wherever text is stored: the message,
  ``parse_data`` (text, entities, metadata), the event's metadata, slot values
  and bot texts, in every format citizens type (separators, spaces, +84);
* during a dossier lookup (the form active or asking, a message carrying a
  dossier code, or a message of digits alone, e.g. digits retyped while the
  lookup is locked) every digit outside dossier codes is masked;
* a platform-vouched phone number (Telegram's shared contact) is masked whole.

The running turn still sees the original text; only what is stored is redacted.

Creating the store also installs the hot-path fixes (bot/patches): the
action-result schema compiled once, and a per-process memory of what was
stored, so a turn reads and parses only the rows written since
(bot/patches/tracker_cache.py). What is read back is what was written:
redacted events, exactly as without the memory.

It also replaces one framework method, ``session_scope``: Rasa 3.6 turns any
``ValueError`` raised while a session is open into ``sys.exit(1)`` (it means
"PostgreSQL schema missing"), and a string the database driver cannot encode
(a lone UTF-16 surrogate in a sender id) is a ``UnicodeEncodeError``, a
``ValueError``: one request ended the whole server. Here only the schema check
itself may stop the process, at start-up; anything else fails its own request.
"""
from __future__ import annotations

import contextlib
import json
from typing import Any, Dict, Generator, Iterator, Optional

import sqlalchemy as sa
import sqlalchemy.orm  # noqa: F401  (sa.orm.session)
from rasa.core.tracker_store import (
    SQLTrackerStore,
    create_engine_kwargs,
    ensure_schema_exists,
    is_postgresql_url,
)
from rasa.shared.core.events import ActiveLoop, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.utils.cli import print_error_and_exit

from bot import patches
from bot.patches.tracker_cache import StoredRow, TrackerCache
from dichvucong import contract, logsafety
from dichvucong.codes import find_code
from dichvucong.privacy import is_digits_message, mask_all_digits, redact

LOOKUP_FORM = "dossier_status_form"
LOOKUP_SLOTS = (contract.SLOT_DOSSIER_CODE, contract.SLOT_SECOND_FACTOR)
PRIVATE_METADATA = (contract.METADATA_VERIFIED_PHONE,)
# The override above is checked against the Rasa it was written for.
SUPPORTED_RASA = patches.SUPPORTED_RASA


def _clean_metadata(metadata: Any, clean) -> None:
    if not isinstance(metadata, dict):
        return
    for key, value in list(metadata.items()):
        if key in PRIVATE_METADATA:
            metadata[key] = mask_all_digits(str(value))
        elif isinstance(value, str):
            metadata[key] = clean(value)
        elif isinstance(value, dict):
            _clean_metadata(value, clean)


def redact_user_event(data: Dict[str, Any], in_lookup: bool) -> Dict[str, Any]:
    """Redact a serialised ``UserUttered`` in place; ``in_lookup`` masks every digit."""
    text = data.get("text") if isinstance(data.get("text"), str) else ""
    full = in_lookup or is_digits_message(text) or find_code(text) is not None
    clean = mask_all_digits if full else redact
    if isinstance(data.get("text"), str):
        data["text"] = clean(data["text"])
    parse = data.get("parse_data") or {}
    if isinstance(parse.get("text"), str):
        parse["text"] = clean(parse["text"])
    for entity in parse.get("entities") or []:
        if isinstance(entity.get("value"), str) and entity.get("entity") != "procedure":
            entity["value"] = clean(entity["value"])
    _clean_metadata(data.get("metadata"), clean)
    _clean_metadata(parse.get("metadata"), clean)
    return data


class _LookupState:
    """Whether the conversation is inside a dossier lookup, from its events."""

    def __init__(self) -> None:
        self.form_active = False
        self.requested = None

    def see(self, event: Event) -> None:
        if isinstance(event, ActiveLoop):
            self.form_active = event.name == LOOKUP_FORM
        elif isinstance(event, SlotSet) and event.key == contract.SLOT_REQUESTED:
            self.requested = event.value

    @property
    def active(self) -> bool:
        return self.form_active or self.requested in LOOKUP_SLOTS


def redact_event(event: Event, in_lookup: bool) -> Event:
    if isinstance(event, UserUttered):
        return Event.from_parameters(redact_user_event(event.as_dict(), in_lookup))
    if isinstance(event, SlotSet) and isinstance(event.value, str):
        clean = mask_all_digits if event.key == contract.SLOT_SECOND_FACTOR else redact
        return SlotSet(event.key, clean(event.value), timestamp=event.timestamp,
                       metadata=event.metadata)
    if isinstance(event, BotUttered) and event.text:
        return BotUttered(redact(event.text), event.data, event.metadata, event.timestamp)
    return event


class RedactingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        patches.require_rasa("bot.tracker_store (SQLTrackerStore.session_scope)")
        logsafety.install()
        steps = patches.install()
        self.cache: Optional[TrackerCache] = TrackerCache() if "tracker" in steps else None
        super().__init__(*args, **kwargs)
        if is_postgresql_url(self.engine.url):
            # After a database restart every pooled connection is dead; checking
            # each one as it leaves the pool replaces it instead of failing a turn.
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    @contextlib.contextmanager
    def session_scope(self) -> Generator[Any, None, None]:
        session = self.sessionmaker()
        try:
            try:
                ensure_schema_exists(session)
            except ValueError as e:
                print_error_and_exit(
                    f"Requested PostgreSQL schema '{e}' was not found in the database."
                )
            yield session
        finally:
            session.close()

    def _additional_events(
        self, session: Any, tracker: DialogueStateTracker, stored: Optional[int] = None
    ) -> Iterator[Event]:
        if stored is None:
            stored = self._event_query(
                session, tracker.sender_id, fetch_events_from_all_sessions=False
            ).count()
        state = _LookupState()
        for index, event in enumerate(tracker.events):
            state.see(event)
            if index >= stored:
                yield redact_event(event, state.active)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        if self.cache is None or fetch_events_from_all_sessions or not self.domain:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            events = self.cache.events(self, session, sender_id)
        if not events:
            return None
        return DialogueStateTracker.from_events(sender_id, events, self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save (stream, then insert the new events), remembering what it wrote."""
        if self.cache is None:
            return await super().save(tracker)
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = self.cache.stored_count(self, session, tracker.sender_id)
            events = list(self._additional_events(session, tracker, stored))
            rows = [self._row(tracker.sender_id, event) for event in events]
            session.add_all(rows)
            # Ids are known after the flush; after the commit reading them would
            # cost one query per row (the session expires them).
            session.flush()
            written = [StoredRow(row.id, row.type_name, row.data) for row in rows]
            session.commit()
            self.cache.saved(tracker.sender_id, written, events)

    def _row(self, sender_id: str, event: Event) -> Any:
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"),
            data=json.dumps(data),
        )
