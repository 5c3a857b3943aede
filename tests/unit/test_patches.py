"""The framework replacements in bot/patches: same results as Rasa's own code."""
import asyncio

import pytest
import rasa
import sqlalchemy as sa
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import patches
from bot.patches import action_schema
from bot.tracker_store import RedactingSQLTrackerStore

DOMAIN = Domain.from_dict({"intents": ["chao"], "slots": {
    "procedure": {"type": "text", "mappings": [{"type": "custom"}]}}})


def test_a_replacement_refuses_another_rasa(monkeypatch):
    monkeypatch.setattr(rasa, "__version__", "3.6.20")
    with pytest.raises(RuntimeError, match="3.6.21"):
        patches.require_rasa("test")
    with pytest.raises(RuntimeError, match="3.6.21"):
        RedactingSQLTrackerStore(DOMAIN, dialect="sqlite", db=":memory:")


@pytest.mark.parametrize("raw,steps", [(None, {"schema", "tracker", "graph", "load"}), ("all", {"schema", "tracker", "graph", "load"}),
                                       ("none", set()), ("schema", {"schema"})])
def test_steps_are_chosen_by_the_environment(monkeypatch, raw, steps):
    if raw is None:
        monkeypatch.delenv("ASSISTANT_HOTPATH", raising=False)
    else:
        monkeypatch.setenv("ASSISTANT_HOTPATH", raw)
    assert patches.enabled() == steps


def test_an_unknown_step_is_refused(monkeypatch):
    monkeypatch.setenv("ASSISTANT_HOTPATH", "schema,turbo")
    with pytest.raises(ValueError, match="turbo"):
        patches.enabled()


@pytest.mark.parametrize("result", [
    {"events": [{"event": "slot", "name": "procedure", "value": "khai_sinh"}], "responses": []},
    {"events": [], "responses": [{"text": "Xin chào"}]},
    {},
])
def test_valid_action_results_pass_both_checks(result):
    action = RemoteAction("action_x", None)
    assert action_schema.ORIGINAL(action, result) is True
    assert action_schema.validate_action_result(action, result) is True


@pytest.mark.parametrize("result", [
    {"events": "not a list"},
    {"events": [{"event": "slot"}]},
    {"responses": [3]},
    {"events": [{"event": "no_such_event"}]},
])
def test_invalid_action_results_fail_with_the_same_message(result):
    action = RemoteAction("action_x", None)
    with pytest.raises(ValidationError) as original:
        action_schema.ORIGINAL(action, result)
    with pytest.raises(ValidationError) as ours:
        action_schema.validate_action_result(action, result)
    assert ours.value.message == original.value.message


def turn(tracker, text, slot=None):
    tracker.update(UserUttered(text, parse_data={"text": text, "intent": {"name": "chao"}}))
    if slot:
        tracker.update(SlotSet("procedure", slot))
    tracker.update(ActionExecuted("action_listen"))


def dumps(tracker):
    return [e.as_dict() for e in tracker.events]


def test_the_memory_reads_back_what_rasa_reads(tmp_path, monkeypatch):
    db = str(tmp_path / "t.db")
    ours = RedactingSQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
    stock = SQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
    other_replica = RedactingSQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
    assert ours.cache is not None
    tracker = DialogueStateTracker("c", DOMAIN.slots)
    tracker.update(SessionStarted())
    turn(tracker, "số điện thoại 0912345601", "khai_sinh")
    asyncio.run(ours.save(tracker))
    for text in ("lệ phí", "nộp ở đâu"):
        tracker = asyncio.run(ours.retrieve("c"))
        turn(tracker, text)
        asyncio.run(ours.save(tracker))
    # Another replica continues the conversation: this one must see its rows.
    elsewhere = asyncio.run(other_replica.retrieve("c"))
    turn(elsewhere, "cảm ơn")
    asyncio.run(other_replica.save(elsewhere))
    mine = asyncio.run(ours.retrieve("c"))
    assert dumps(mine) == dumps(asyncio.run(stock.retrieve("c")))
    assert "0912345601" not in str(dumps(mine))  # redacted as stored
    assert mine.get_slot("procedure") == "khai_sinh"
    turn(mine, "tạm biệt")
    asyncio.run(ours.save(mine))
    with stock.session_scope() as session:
        count = session.query(stock.SQLEvent).filter(stock.SQLEvent.sender_id == "c").count()
    assert count == len(mine.events)  # every event stored exactly once


def test_a_new_session_and_a_deleted_conversation_are_read_again(tmp_path):
    db = str(tmp_path / "t.db")
    ours = RedactingSQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
    stock = SQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
    tracker = DialogueStateTracker("c", DOMAIN.slots)
    turn(tracker, "xin chào", "khai_sinh")
    asyncio.run(ours.save(tracker))
    tracker = asyncio.run(ours.retrieve("c"))
    tracker.update(SessionStarted())
    turn(tracker, "lần hai")
    asyncio.run(ours.save(tracker))
    assert dumps(asyncio.run(ours.retrieve("c"))) == dumps(asyncio.run(stock.retrieve("c")))
    # Retention (or an erasure) deletes the conversation behind the memory's back.
    with stock.session_scope() as session:
        session.execute(sa.delete(stock.SQLEvent).where(stock.SQLEvent.sender_id == "c"))
        session.commit()
    assert asyncio.run(ours.retrieve("c")) is None


def test_an_unreachable_action_server_gives_the_citizen_a_vietnamese_message():
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.events import BotUttered
    from rasa.utils.endpoints import EndpointConfig

    from bot.patches import action_unavailable
    from tests.support.servers import free_port

    patches.install()
    action = RemoteAction("action_x", EndpointConfig(f"http://127.0.0.1:{free_port()}/webhook"))
    tracker = DialogueStateTracker("c", DOMAIN.slots)
    events = asyncio.run(action.run(CollectingOutputChannel(),
                                    TemplatedNaturalLanguageGenerator({}), tracker, DOMAIN))
    assert [type(e) for e in events] == [BotUttered]
    assert events[0].text == action_unavailable.ACTIONS_UNAVAILABLE
    assert "gửi lại sau ít phút" in events[0].text


def test_a_new_conversation_is_remembered_from_its_first_save(tmp_path):
    db = str(tmp_path / "t.db")
    ours = RedactingSQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
    stock = SQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
    for round_ in range(3):
        tracker = asyncio.run(ours.retrieve("n")) or DialogueStateTracker("n", DOMAIN.slots)
        if round_ == 0:
            tracker.update(ActionExecuted("action_session_start"))
            tracker.update(SessionStarted())
        turn(tracker, f"câu {round_}")
        asyncio.run(ours.save(tracker))
        assert ours.cache.entries["n"].count > 0
    assert dumps(asyncio.run(ours.retrieve("n"))) == dumps(asyncio.run(stock.retrieve("n")))
    with stock.session_scope() as session:
        rows = session.query(stock.SQLEvent).filter(stock.SQLEvent.sender_id == "n").count()
    assert rows == 2 + 3 * 2  # every event once
