"""Names shared between the Rasa domain (``domain/*.yml``) and the code.

The console, the tracker store, the channels and the actions all rely on these
names; ``tests`` check that the domain still declares them, so renaming one in
YAML cannot silently break masking or a security check.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import FrozenSet

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DOMAIN_DIR = PROJECT_ROOT / "domain"

# Slots only actions may set (a citizen's payload never reaches them).
SLOT_DOSSIER_CODE = "dossier_code"
SLOT_SECOND_FACTOR = "second_factor"
SLOT_LOOKUP_LOCKED = "lookup_locked"
SLOT_VERIFIED_DOSSIER = "verified_dossier"
SLOT_REQUESTED = "requested_slot"
UTTER_ASK_SECOND_FACTOR = "utter_ask_second_factor"
UTTER_ASK_SECOND_FACTOR_AGAIN = "utter_ask_second_factor_again"
# Bot messages after which the citizen's next message holds the digits.
SECOND_FACTOR_PROMPTS = frozenset({UTTER_ASK_SECOND_FACTOR, UTTER_ASK_SECOND_FACTOR_AGAIN})

# Intents only the notifier sends, through the authenticated Rasa API.
SYSTEM_INTENT_PREFIX = "EXTERNAL_"
INTENT_DOSSIER_UPDATE = "EXTERNAL_dossier_update"
INTENT_DOSSIER_REMINDER = "EXTERNAL_dossier_reminder"
# The staff side of the live handoff (dichvucong/handoff/relay.py).
INTENT_HANDOFF_TAKEN = "EXTERNAL_handoff_taken"
INTENT_HANDOFF_MESSAGE = "EXTERNAL_handoff_message"
INTENT_HANDOFF_ENDED = "EXTERNAL_handoff_ended"
HANDOFF_SYSTEM_INTENTS = frozenset({INTENT_HANDOFF_TAKEN, INTENT_HANDOFF_MESSAGE,
                                    INTENT_HANDOFF_ENDED})
# Entities those intents carry (never accepted from a citizen's payload).
ENTITY_HANDOFF_TEXT = "handoff_text"
ENTITY_HANDOFF_OPERATOR = "handoff_operator"
ENTITY_HANDOFF_TICKET = "handoff_ticket"
ENTITY_HANDOFF_ENDED_BY = "handoff_ended_by"
# The handoff state, set only by actions from the queue's own state:
# None, "queued", "active" or "callback" (waiting for the callback number).
SLOT_HANDOFF_STATE = "handoff_state"
INTENT_END_HANDOFF = "end_handoff"

INTENT_FALLBACK = "nlu_fallback"
INTENT_HANDOFF = "request_human"
INTENT_RATING = "rate_answer"

# Metadata a channel sets only from the platform's own proof (Telegram: a
# contact whose user id is the sender's). Accepted from that channel alone.
METADATA_VERIFIED_PHONE = "verified_phone"
VERIFIED_PHONE_CHANNEL = "telegram"
VERIFIED_PHONE_PREFIX = "phone:"

# Rasa's own intents that a citizen could type as a payload; none is useful
# to a citizen and /restart or /session_start would reset state mid-lookup.
RASA_DEFAULT_INTENTS = frozenset({"restart", "session_start", "back", "nlu_fallback"})


@functools.cache
def domain_intents(domain_dir: Path = DOMAIN_DIR) -> FrozenSet[str]:
    """Every intent declared in ``domain_dir``/*.yml."""
    intents = set()
    for path in sorted(Path(domain_dir).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("intents") or []:
            intents.add(next(iter(item)) if isinstance(item, dict) else str(item))
    return frozenset(intents)


@functools.cache
def citizen_intents(domain_dir: Path = DOMAIN_DIR) -> FrozenSet[str]:
    """Intents a citizen may send as a button payload: all but the system ones."""
    return frozenset(
        name
        for name in domain_intents(domain_dir)
        if not name.startswith(SYSTEM_INTENT_PREFIX) and name not in RASA_DEFAULT_INTENTS
    )
