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
