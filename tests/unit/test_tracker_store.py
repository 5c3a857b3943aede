import asyncio

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import RedactingSQLTrackerStore


def test_numbers_and_second_factor_digits_are_masked_when_stored(tmp_path):
    store = RedactingSQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "t.db"))
    tracker = DialogueStateTracker("citizen", slots=[])
    tracker.update(UserUttered("số căn cước 001090012345 và điện thoại 0912345601",
                               parse_data={"text": "số căn cước 001090012345", "intent": {}}))
    tracker.update(ActionExecuted("dossier_status_form"))
    tracker.update(SlotSet("requested_slot", "second_factor"))
    tracker.update(UserUttered("2345", metadata={"verified_phone": "+84912345601"}))
    asyncio.run(store.save(tracker))
    # Saving again writes only the new events, still redacted.
    tracker.update(SlotSet("requested_slot", None))
    tracker.update(UserUttered("lệ phí 30000 đồng"))
    asyncio.run(store.save(tracker))

    stored = asyncio.run(store.retrieve("citizen"))
    texts = [e.text for e in stored.events if isinstance(e, UserUttered)]
    assert "001090012345" not in texts[0] and "0912345601" not in texts[0]
    assert texts[1] == "••••"
    assert texts[2] == "lệ phí 30000 đồng"
    second = [e for e in stored.events if isinstance(e, UserUttered)][1]
    assert "912345601" not in str(second.metadata)


def store_of(tmp_path):
    return RedactingSQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "t.db"))


def test_an_unencodable_sender_fails_its_request_not_the_process(tmp_path):
    import pytest

    store = store_of(tmp_path)
    tracker = DialogueStateTracker("fz-\ud83d", slots=[])
    tracker.update(UserUttered("xin chào"))
    # Rasa 3.6 turned this UnicodeEncodeError into sys.exit(1).
    with pytest.raises(ValueError):
        asyncio.run(store.save(tracker))
    assert asyncio.run(store.retrieve("ok")) is None  # the store still works


def test_every_stored_place_is_redacted(tmp_path):
    import json

    from rasa.shared.core.events import ActiveLoop, BotUttered

    store = store_of(tmp_path)
    tracker = DialogueStateTracker("c", slots=[])
    contact = {"verified_phone": "+84912345601", "note": "gọi 0912  345  601"}
    tracker.update(UserUttered("cccd 001.090.012.345", metadata=contact,
                               parse_data={"text": "cccd 001.090.012.345", "intent": {},
                                           "metadata": contact}))
    tracker.update(UserUttered("0010.9001.2345 và 001-090-012-345"))
    tracker.update(SlotSet("procedure", "khai_sinh 001090012345"))
    tracker.update(BotUttered("Số của bạn 001090012345"))
    tracker.update(UserUttered("000.45.02.H58-261120-0012 4567"))  # code and digits together
    tracker.update(UserUttered("4567"))  # digits alone, e.g. retyped during a lock
    tracker.update(ActiveLoop("dossier_status_form"))
    tracker.update(UserUttered("mã của tôi 12 34 nhé"))
    tracker.update(ActiveLoop(None))
    tracker.update(UserUttered("con 10 tuổi, lệ phí 30000 đồng"))
    asyncio.run(store.save(tracker))
    import sqlite3

    with sqlite3.connect(tmp_path / "t.db") as db:
        rows = [json.loads(r[0]) for r in db.execute("SELECT data FROM events")]
    stored = json.dumps(rows, ensure_ascii=False)
    for secret in ("001090012345", "001.090.012.345", "0010.9001.2345", "001-090-012-345",
                   "912345601", "0912  345  601", "4567", "12 34"):
        assert secret not in stored, secret
    assert "000.45.02.H58-261120-0012" in stored
    assert "con 10 tuổi, lệ phí 30000 đồng" in stored
