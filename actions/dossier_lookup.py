"""Dossier status lookup: code, second factor, lockout, subscriptions, notices.

Unknown codes and wrong second factors get the same neutral reply, so the
assistant never reveals whether a code exists. The digits a citizen types are
checked and dropped: no slot keeps them.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from functools import lru_cache
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from dichvucong import contract
from dichvucong.dossiers import (
    EXAMPLE_CODE,
    DossierRepository,
    code_key,
    conversation_key,
    find_code,
)
from dichvucong.dossiers.texts import lookup_answer, update_notice
from dichvucong.settings import settings
from dichvucong.throttle import minutes_left

logger = logging.getLogger(__name__)

FORM = "dossier_status_form"
CODE, FACTOR, LOCKED, VERIFIED = "dossier_code", "second_factor", "lookup_locked", "verified_dossier"
@lru_cache(maxsize=1)
def repository() -> DossierRepository:
    return DossierRepository.from_url(settings().dossiers.database_url)


async def call(fn, *args):
    """Run a blocking repository call off the action server's event loop."""
    return await asyncio.to_thread(fn, *args)


def say_locked(dispatcher: CollectingDispatcher, until: dt.datetime) -> None:
    dispatcher.utter_message(response="utter_lookup_locked", minutes=minutes_left(until))


def _keys(tracker: Tracker, code: Optional[str]) -> List[str]:
    keys = [conversation_key(tracker.sender_id)]
    if code:
        keys.append(code_key(code))
    return keys


# Intents that leave the form instead of being read as a code or digits.
ESCAPE_INTENTS = {"deny", "goodbye", "request_human", "cancel"}
# Something the citizen means as a dossier code but that is not one
# ("kiem tra ho so ABC-123"): letters or digits joined by dashes or dots,
# with at least one digit. It gets the format help, not "out of scope".
CODE_LIKE = re.compile(r"(?<![\w.-])(?=[\w.-]*\d)[A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)+(?![\w-])")


def _escaping(tracker: Tracker) -> bool:
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    text = tracker.latest_message.get("text") or ""
    return intent in ESCAPE_INTENTS and not re.search(r"\d", text)


def _shared_phone(tracker: Tracker) -> Optional[str]:
    """A phone number the platform vouched for, or None.

    Only the Telegram channel sets it, from a contact whose user id is the
    sender's; metadata arriving any other way (a REST client, a forged
    tracker) is not proof of anything.
    """
    if tracker.get_latest_input_channel() != contract.VERIFIED_PHONE_CHANNEL:
        return None
    if not tracker.sender_id.startswith(contract.VERIFIED_PHONE_CHANNEL + ":"):
        return None
    metadata = tracker.latest_message.get("metadata") or {}
    phone = metadata.get(contract.METADATA_VERIFIED_PHONE)
    return phone if isinstance(phone, str) and phone else None


def is_external(tracker: Tracker) -> bool:
    """True for an intent sent through the authenticated Rasa API (trigger_intent)."""
    metadata = tracker.latest_message.get("metadata") or {}
    return metadata.get("is_external") is True


class ValidateDossierStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_dossier_status_form"

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        # A locked conversation ends the form at once; the submit action explains.
        if tracker.get_slot(LOCKED):
            return []
        return domain_slots

    async def extract_dossier_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        text = tracker.latest_message.get("text") or ""
        requested = tracker.get_slot("requested_slot")
        if _escaping(tracker):
            return {}
        if requested == CODE:
            return {CODE: text}
        code = find_code(text)
        if requested == FACTOR and code:
            # After a wrong second factor the code is kept and the digits asked
            # again; a citizen who retypes the code instead changes it.
            return {CODE: code}
        if requested is None and tracker.active_loop_name != FORM:
            # The request itself may carry the code: "tra cứu hồ sơ 000.00.15.H10-...",
            # or something meant as one, which validation answers with the format.
            if code:
                return {CODE: code}
            malformed = CODE_LIKE.search(text)
            if malformed:
                return {CODE: malformed.group()}
        return {}

    async def extract_second_factor(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != FACTOR or _escaping(tracker):
            return {}
        if find_code(tracker.latest_message.get("text") or ""):
            return {}  # a new code (extract_dossier_code), not digits
        phone = _shared_phone(tracker)
        if phone:
            return {FACTOR: contract.VERIFIED_PHONE_PREFIX + phone}
        return {FACTOR: tracker.latest_message.get("text") or ""}

    async def validate_dossier_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        try:
            until = await call(repository().check_locked, _keys(tracker, None))
        except Exception:
            logger.exception("dossier store unavailable")
            dispatcher.utter_message(response="utter_lookup_unavailable")
            return {CODE: None, LOCKED: True}
        if until:
            say_locked(dispatcher, until)
            return {CODE: None, LOCKED: True}
        code = find_code(str(value or ""))
        if not code:
            dispatcher.utter_message(response="utter_lookup_bad_code", example=EXAMPLE_CODE)
            return {CODE: None}
        return {CODE: code}

    async def validate_second_factor(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        code = tracker.get_slot(CODE)
        repo = repository()
        text = str(value or "")
        vouched = text.startswith(contract.VERIFIED_PHONE_PREFIX)
        # A platform-vouched phone cannot be guessed: a stranger's failed
        # guesses on the code do not lock its owner out of that path.
        keys = _keys(tracker, None if vouched else code)
        try:
            until = await call(repo.check_locked, keys)
            if until:
                say_locked(dispatcher, until)
                return {FACTOR: None, LOCKED: True}
            if vouched:
                dossier = await call(repo.verify_phone, code, text[len(contract.VERIFIED_PHONE_PREFIX):])
            else:
                digits = re.sub(r"\D", "", text)
                if len(digits) != 4:
                    dispatcher.utter_message(response=contract.UTTER_ASK_SECOND_FACTOR_AGAIN)
                    return {FACTOR: None}
                dossier = await call(repo.verify, code, digits)
            if dossier is None:
                until = await call(repo.record_failure, keys)
                if until:
                    say_locked(dispatcher, until)
                    return {FACTOR: None, CODE: None, LOCKED: True}
                # Same reply whether the code exists or not. The code stays, so
                # the citizen may retype only the digits; each try still counts.
                dispatcher.utter_message(response="utter_lookup_failed")
                return {FACTOR: None}
            await call(repo.clear_failures, keys)
        except Exception:
            logger.exception("dossier store unavailable")
            dispatcher.utter_message(response="utter_lookup_unavailable")
            return {FACTOR: None, LOCKED: True}
        # The digits are not kept: the slot only records that the check passed.
        return {FACTOR: "verified", VERIFIED: dossier.code}


class ActionDossierStatus(Action):
    def name(self) -> str:
        return "action_dossier_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        reset = [SlotSet(CODE, None), SlotSet(FACTOR, None), SlotSet(LOCKED, None)]
        code = tracker.get_slot(VERIFIED)
        if tracker.get_slot(LOCKED) or tracker.get_slot(FACTOR) != "verified" or not code:
            return reset
        repo = repository()
        try:
            dossier = await call(repo.get, code)
            history = await call(repo.history, code)
        except Exception:
            logger.exception("dossier store unavailable")
            dispatcher.utter_message(response="utter_lookup_unavailable")
            return reset
        latest = history[-1] if history else None
        dispatcher.utter_message(
            response="utter_dossier_status",
            answer=lookup_answer(dossier, latest, settings().today()),
            buttons=[
                {"title": "Nhận thông báo khi hồ sơ thay đổi", "payload": "/subscribe_dossier"},
                {"title": "Tra cứu hồ sơ khác", "payload": "/check_dossier_status"},
            ],
        )
        return reset


class ActionSubscribeDossier(Action):
    def name(self) -> str:
        return "action_subscribe_dossier"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        code = tracker.get_slot(VERIFIED)
        if not code:
            dispatcher.utter_message(response="utter_subscribe_needs_lookup")
            return []
        channel = tracker.get_latest_input_channel() or "webchat"
        await call(repository().subscribe, code, channel, tracker.sender_id)
        dispatcher.utter_message(response="utter_subscribed", code=code)
        return []


class ActionUnsubscribeDossier(Action):
    def name(self) -> str:
        return "action_unsubscribe_dossier"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        channel = tracker.get_latest_input_channel() or "webchat"
        removed = await call(repository().unsubscribe, None, channel, tracker.sender_id)
        dispatcher.utter_message(
            response="utter_unsubscribed" if removed else "utter_not_subscribed"
        )
        return []


class ActionNotifyDossierUpdate(Action):
    """Runs on EXTERNAL_* intents sent by the notifier; composes the notice.

    Two checks stand between a notice and a disclosure: the intent must have
    come through the authenticated Rasa API (``trigger_intent`` marks it
    external; a citizen's typed payload never is), and this conversation must
    be an active subscriber of the dossier, i.e. it passed the second factor.
    """

    def name(self) -> str:
        return "action_notify_dossier_update"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        entities = {e.get("entity"): e.get("value") for e in tracker.latest_message.get("entities") or []}
        code = entities.get("dossier_code")
        kind = entities.get("reminder") or "status"
        if not is_external(tracker) or not isinstance(code, str):
            logger.warning("notice refused: not sent through the Rasa API")
            return []
        repo = repository()
        try:
            subscribers = await call(repo.subscribers, code)
        except Exception:
            logger.warning("notice refused: unknown dossier")
            return []
        if not any(s.recipient_id == tracker.sender_id for s in subscribers):
            logger.warning("notice refused: conversation is not a subscriber")
            return []
        dossier = await call(repo.get, code)
        history = await call(repo.history, code)
        dispatcher.utter_message(
            response="utter_dossier_status",
            answer=update_notice(dossier, history[-1] if history else None, settings().today(), kind),
        )
        return []
