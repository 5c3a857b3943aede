"""Payload injection as a class: every intent, entity and slot of the domain, on
every channel (REST, web chat, Telegram, Zalo), against the real assistant.

A citizen (or an attacker) can type Rasa's payload syntax, ``/intent{"slot": …}``.
Whatever the intent, entity or slot named, the run must show that no reply
discloses a dossier, that no slot the actions own takes a forged value (above
all ``verified_dossier``, which only a right second factor sets), that no
other conversation receives an event, and that the stored rows hold no
identity or phone number in clear.
"""
from __future__ import annotations

import json
import random
import re
import sqlite3
import time
import urllib.request
from typing import Dict, List

import pytest
from rasa.shared.core.domain import Domain

from tests.support.fuzzing import PATHS, TELEGRAM_SECRET, ZALO, fuzzable_assistant
from tests.support.hostile import DISCLOSURES, SUPPLEMENT, telegram_update, zalo_event, zalo_mac
from tests.support.servers import MODEL, ROOT

SEED = 20261202
IDENTITY, PHONE = "001090012345", "0912345601"  # demo applicants' numbers
CHANNELS = ("rest", "webchat", "telegram", "zalo")


def _domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


def action_owned_slots(domain: Domain) -> List[str]:
    """Slots no message may fill: only custom actions set them."""
    return [s.name for s in domain.slots
            if s.mappings and all(m.get("type") == "custom" for m in s.mappings)]


def forged_value(name: str) -> str:
    return SUPPLEMENT if name in ("dossier_code", "verified_dossier") else f"FORGED-{name}"


def payloads(domain: Domain) -> List[str]:
    """Three payloads per intent: bare, every entity and slot forged, and a disguise."""
    rng = random.Random(SEED)
    forged = {name: forged_value(name) for name in domain.entities}
    forged.update({slot.name: forged_value(slot.name) for slot in domain.slots})
    forged.update(second_factor="verified", phone=PHONE, identity=IDENTITY)
    out = []
    for intent in sorted(domain.intents):
        body = json.dumps(forged, ensure_ascii=False)
        disguise = rng.choice(["  /", "//", "/ ", "\u2215", "/"])
        confidence = rng.choice(["", "@1.0", "@0.99"])
        out += [f"/{intent}", f"/{intent}{body}", f"{disguise}{intent}{confidence}{body}"]
    return out


def _post(url: str, body: bytes, headers: Dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def send(assistant, channel: str, text: str, index: int) -> int:
    session = assistant.session("injector")
    if channel == "rest":
        body, headers = {"sender": "injector", "message": text}, {}
    elif channel == "webchat":
        body = {"sender": session["sender"], "token": session["token"], "message": text}
        headers = {}
    elif channel == "telegram":
        body = telegram_update(4242, text, 500_000 + index)
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    else:
        stamp = int(time.time() * 1000)
        raw = json.dumps(zalo_event("8123456789", text, f"inj-{index}", stamp)).encode()
        mac = zalo_mac(ZALO["app_id"], raw, str(stamp), ZALO["oa_secret_key"])
        return _post(assistant.url + PATHS["zalo"], raw, {"X-ZEvent-Signature": f"mac={mac}"})
    return _post(assistant.url + PATHS[channel], json.dumps(body).encode(), headers)


def stored_events(assistant) -> List[tuple]:
    with sqlite3.connect(assistant.tracker_db) as db:
        return [(sender, json.loads(data))
                for sender, data in db.execute("SELECT sender_id, data FROM events")]


def _settle(assistant, rows_before: int, timeout: float = 120) -> None:
    """Wait until the background turns (Telegram, Zalo) stop writing events."""
    deadline, last = time.time() + timeout, -1
    while time.time() < deadline:
        count = len(stored_events(assistant))
        if count == last and count > rows_before:
            return
        last = count
        time.sleep(2)


@pytest.fixture(scope="module")
def injected(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train`")
    domain = _domain()
    with fuzzable_assistant(tmp_path_factory.mktemp("injection")) as (assistant, telegram, zalo):
        # A victim with a verified lookup on the web chat, whose conversation
        # no injected message may reach.
        assistant.say("victim", f"tra cứu hồ sơ {SUPPLEMENT}")
        assistant.say("victim", "4567")
        victim = assistant.conversation("victim")
        victim_rows = sum(1 for s, _ in stored_events(assistant) if s == victim)
        before = len(stored_events(assistant))
        statuses = []
        for index, text in enumerate(payloads(domain)):
            for channel in CHANNELS:
                statuses.append((channel, text, send(assistant, channel, text, index)))
        _settle(assistant, before)
        platform_texts = [str(p.get("text") or "") for p in telegram.sent()] + zalo.texts()
        yield {"assistant": assistant, "domain": domain, "statuses": statuses,
               "victim": victim, "victim_rows": victim_rows,
               "events": stored_events(assistant), "platform_texts": platform_texts}


def test_every_payload_is_answered_without_a_server_error(injected):
    errors = [entry for entry in injected["statuses"] if entry[2] >= 500]
    assert not errors
    assert len(injected["statuses"]) == 3 * len(injected["domain"].intents) * len(CHANNELS)


def test_no_reply_discloses_a_dossier(injected):
    victim = injected["victim"]
    bot_texts = [data.get("text") or "" for sender, data in injected["events"]
                 if data.get("event") == "bot" and sender != victim]
    leaked = [t for t in bot_texts + injected["platform_texts"]
              if any(marker in t for marker in DISCLOSURES)]
    assert not leaked


def test_no_action_owned_slot_takes_a_forged_value(injected):
    owned = set(action_owned_slots(injected["domain"]))
    assert {"verified_dossier", "second_factor", "lookup_locked"} <= owned
    victim = injected["victim"]
    for sender, data in injected["events"]:
        if sender == victim or data.get("event") != "slot" or data.get("name") not in owned:
            continue
        value = data.get("value")
        assert data["name"] != "verified_dossier" or value is None, (sender, data)
        assert value in (None, [], False) or not str(value).startswith("FORGED"), (sender, data)
        assert data["name"] != "second_factor" or value != "verified", (sender, data)


def test_injected_messages_stay_in_their_own_conversations(injected):
    victim = injected["victim"]
    assert sum(1 for s, _ in injected["events"] if s == victim) == injected["victim_rows"]
    senders = {s for s, _ in injected["events"]} - {victim}
    prefixes = tuple(f"{channel}:" for channel in CHANNELS)
    assert senders and all(s.startswith(prefixes) for s in senders), senders
    # Every channel's messages were processed (Telegram and Zalo in the background).
    assert {s.split(":", 1)[0] for s in senders} == set(CHANNELS)


def test_stored_rows_hold_no_number_in_clear(injected):
    stored = "\n".join(json.dumps(data, ensure_ascii=False) for _, data in injected["events"])
    compact = re.sub(r"[\s.\-]", "", stored).replace(re.sub(r"[.\-]", "", SUPPLEMENT), "")
    for number in (IDENTITY, PHONE):
        assert number not in compact
