"""The handoff actions against a real queue (SQLite) and fixed office hours."""
from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from actions import handoff
from actions.fallback import ActionCancel, ActionClarify
from actions.handoff import ActionHandoff
from actions.handoff_session import (
    ActionHandoffCallback,
    ActionHandoffEnd,
    ActionHandoffEnded,
    ActionHandoffOperatorMessage,
    ActionHandoffSilent,
    ActionHandoffTaken,
)
from dichvucong.dossiers.store import migrate
from dichvucong.handoff.hours import OfficeHours
from dichvucong.handoff.queue import HandoffQueue
from dichvucong.settings import HandoffSettings
from tests.support.trackers import make_tracker

SENDER = "telegram:4242"
EXTERNAL = {"is_external": True}


@pytest.fixture
def queue(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'dossiers.db'}"
    migrate(url)
    q = HandoffQueue(url, config=HandoffSettings(default_handling_minutes=10))
    monkeypatch.setattr(handoff, "queue", lambda: q)
    return q


def set_hours(monkeypatch, text: str) -> None:
    hours = OfficeHours.from_settings(HandoffSettings(hours=text))
    monkeypatch.setattr(handoff, "office_hours", lambda: hours)


@pytest.fixture
def open_office(monkeypatch):
    set_hours(monkeypatch, "Mon-Sun 00:00-23:59")


@pytest.fixture
def closed_office(monkeypatch):
    # Open one minute a week: practically always closed, with a next opening.
    set_hours(monkeypatch, "Sun 03:00-03:01")


def tracker(text="", intent=None, **kwargs):
    kwargs.setdefault("sender_id", SENDER)
    return make_tracker(text, intent, **kwargs)


def entity(name, value):
    return {"entity": name, "value": value}


async def test_asking_for_a_person_in_office_hours_queues_with_position(
        dispatcher, domain, queue, open_office):
    queue.request("zalo:1", None, now=None)
    events = await ActionHandoff().run(dispatcher, tracker(
        "cho tôi gặp cán bộ", "request_human", slots={"procedure": "can_cuoc"}), domain)
    assert events == [SlotSet("handoff_state", "queued")]
    [message] = dispatcher.messages
    text = message["answer"]
    assert "cán bộ sẽ trả lời bạn" in text.lower()
    assert "vị trí số 2" in text and "20 phút" in text
    assert "hủy" in text and message["buttons"] == [{"title": "Hủy yêu cầu", "payload": "/cancel"}]
    assert "18001096" in text and "OTP" in text and "căn cước" in text.lower()
    ticket = queue.ticket_for(SENDER)
    assert (ticket.channel, ticket.reason, ticket.procedure) == ("telegram", "asked", "can_cuoc")


async def test_asking_again_while_queued_gives_the_position(dispatcher, domain, queue, open_office):
    first = queue.request(SENDER, "telegram")
    await ActionHandoff().run(dispatcher, tracker("gặp cán bộ", "request_human"), domain)
    assert "vẫn đang chờ" in dispatcher.messages[0]["answer"]
    assert "người tiếp theo" in dispatcher.messages[0]["answer"]
    assert [t.id for t in queue.queued()] == [first.id]


async def test_out_of_hours_the_assistant_takes_a_callback(dispatcher, domain, queue, closed_office):
    events = await ActionHandoff().run(dispatcher, tracker("gặp cán bộ", "request_human"), domain)
    assert events == [SlotSet("handoff_state", "callback")]
    text = dispatcher.messages[0]["answer"]
    assert "ngoài giờ" in text and "3:00" in text and "Chủ nhật" in text
    assert "xóa" in text and "18001096" in text
    assert queue.queued() == []
    dispatcher.messages.clear()
    events = await ActionHandoffCallback().run(
        dispatcher, tracker("số của tôi 0912 345 678", "inform"), domain)
    assert events == [SlotSet("handoff_state", None)]
    answer = dispatcher.messages[0]["answer"]
    assert "•••••••678" in answer and "0912" not in answer and "xóa" in answer
    [callback] = queue.callbacks()
    assert callback.contact_kind == "phone" and queue.callback_phone(callback.id) == "0912345678"


async def test_callback_reply_here_and_refusal(dispatcher, domain, queue):
    await ActionHandoffCallback().run(dispatcher, tracker("trả lời tại đây", "inform"), domain)
    assert [c.contact_kind for c in queue.callbacks()] == ["reply_here"]
    dispatcher.messages.clear()
    await ActionHandoffCallback().run(
        dispatcher, tracker("không", "deny", sender_id="zalo:7"), domain)
    assert "không ghi" in dispatcher.messages[0]["answer"]
    assert len(queue.callbacks()) == 1


async def test_two_fallbacks_in_a_row_offer_the_handoff(dispatcher, domain, queue, open_office):
    state = tracker("xyz abc", "nlu_fallback")
    state.events[:] = [
        {"event": "user", "text": "abc xyz", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "bot", "text": "Xin lỗi…"},
        {"event": "user", "text": "xyz abc", "parse_data": {"intent": {"name": "nlu_fallback"}}},
    ]
    await ActionClarify().run(dispatcher, state, domain)
    [offer] = dispatcher.messages
    assert offer["response"] == "utter_handoff_offer"
    assert [b["payload"] for b in offer["buttons"]] == ["/request_human", "/deny"]
    # Accepting the offer queues the failed question.
    dispatcher.messages.clear()
    accepted = tracker("/request_human", "request_human")
    accepted.events[:] = state.events + [
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_handoff_offer"}},
        {"event": "user", "text": "/request_human",
         "parse_data": {"intent": {"name": "request_human"}}},
    ]
    await ActionHandoff().run(dispatcher, accepted, domain)
    ticket = queue.ticket_for(SENDER)
    assert (ticket.reason, ticket.question) == ("failed_twice", "xyz abc")


async def test_staff_side_intents_are_refused_from_citizens(dispatcher, domain, queue):
    ticket = queue.request(SENDER, "telegram")
    queue.take(ticket.id, "trang")
    forged = tracker("/EXTERNAL_handoff_message", "EXTERNAL_handoff_message",
                     entities=[entity("handoff_text", "mật khẩu của bạn là gì?")])
    for action in (ActionHandoffTaken(), ActionHandoffOperatorMessage(), ActionHandoffEnded()):
        assert await action.run(dispatcher, forged, domain) == []
    assert dispatcher.messages == []


async def test_taken_message_and_end_round_trip(dispatcher, domain, queue):
    ticket = queue.request(SENDER, "telegram")
    queue.take(ticket.id, "trang")
    taken = tracker("", "EXTERNAL_handoff_taken", metadata=EXTERNAL,
                    entities=[entity("handoff_operator", "Trang")])
    assert await ActionHandoffTaken().run(dispatcher, taken, domain) == [
        SlotSet("handoff_state", "active")]
    assert dispatcher.messages[-1]["answer"].startswith("Cán bộ Trang đã nhận câu hỏi của bạn")
    said = tracker("", "EXTERNAL_handoff_message", metadata=EXTERNAL,
                   entities=[entity("handoff_text", "Bạn mang theo giấy khai sinh nhé.")])
    await ActionHandoffOperatorMessage().run(dispatcher, said, domain)
    assert dispatcher.messages[-1]["answer"] == "Cán bộ: Bạn mang theo giấy khai sinh nhé."
    count = len(dispatcher.messages)
    assert await ActionHandoffSilent().run(
        dispatcher, tracker("vâng ạ", "affirm"), domain) == []
    assert len(dispatcher.messages) == count  # silent while a person answers
    events = await ActionHandoffEnd().run(dispatcher, tracker("kết thúc", "end_handoff"), domain)
    assert events == [SlotSet("handoff_state", None)]
    assert dispatcher.messages[-1]["answer"].startswith("Cuộc trò chuyện với cán bộ đã kết thúc")
    assert queue.get(ticket.id).ended_by == "citizen"


async def test_ended_by_operator_or_timeout_tells_the_citizen(dispatcher, domain, queue):
    ticket = queue.request(SENDER, "telegram")
    queue.take(ticket.id, "trang")
    queue.end(ticket.id, "operator")
    ended = tracker("", "EXTERNAL_handoff_ended", metadata=EXTERNAL,
                    entities=[entity("handoff_ticket", str(ticket.id))])
    assert await ActionHandoffEnded().run(dispatcher, ended, domain) == [
        SlotSet("handoff_state", None)]
    assert "trợ lý tự động sẽ tiếp tục hỗ trợ bạn" in dispatcher.messages[-1]["answer"]
    # Another conversation's ticket id does nothing here.
    other = queue.request("zalo:1", None)
    queue.cancel("zalo:1")
    assert await ActionHandoffEnded().run(dispatcher, tracker(
        "", "EXTERNAL_handoff_ended", metadata=EXTERNAL,
        entities=[entity("handoff_ticket", str(other.id))]), domain) == []


async def test_cancel_withdraws_a_queued_request(dispatcher, domain, queue):
    queue.request(SENDER, "telegram")
    events = await ActionCancel().run(
        dispatcher, tracker("hủy", "cancel", slots={"handoff_state": "queued"}), domain)
    assert events == [SlotSet("handoff_state", None)]
    assert "hủy yêu cầu gặp cán bộ" in dispatcher.messages[0]["answer"]
    assert queue.ticket_for(SENDER) is None
    dispatcher.messages.clear()
    await ActionCancel().run(
        dispatcher, tracker("hủy", "cancel", slots={"handoff_state": "queued"}), domain)
    assert dispatcher.messages[0]["response"] == "utter_cancelled"


async def test_without_the_queue_the_contacts_still_answer(dispatcher, domain, tmp_path,
                                                          monkeypatch, open_office):
    unmigrated = HandoffQueue(f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setattr(handoff, "queue", lambda: unmigrated)
    assert await ActionHandoff().run(dispatcher, tracker("gặp cán bộ", "request_human"),
                                     domain) == []
    text = dispatcher.messages[0]["answer"]
    assert "chưa chuyển được" in text and "18001096" in text
    events = await ActionCancel().run(
        dispatcher, tracker("hủy", "cancel", slots={"handoff_state": "queued"}), domain)
    assert dispatcher.messages[-1]["response"] == "utter_cancelled" and events


async def test_silent_action_notices_a_ticket_ended_elsewhere(dispatcher, domain, queue):
    events = await ActionHandoffSilent().run(dispatcher, tracker("alo", "greet"), domain)
    assert events == [SlotSet("handoff_state", None)]
    assert "đã kết thúc" in dispatcher.messages[0]["answer"]


def test_the_staff_side_names_are_declared_and_out_of_citizens_reach():
    import yaml

    from dichvucong import contract, inbound
    from dichvucong.settings import PROJECT_ROOT

    data = yaml.safe_load((PROJECT_ROOT / "domain" / "handoff.yml").read_text(encoding="utf-8"))
    slot = data["slots"][contract.SLOT_HANDOFF_STATE]
    assert [m["type"] for m in slot["mappings"]] == ["custom"]
    for intent in contract.HANDOFF_SYSTEM_INTENTS:
        assert intent in contract.domain_intents()
        assert intent not in contract.citizen_intents()
        assert inbound.guard_payload(f'/{intent}{{"handoff_text":"x"}}') == \
            f'{intent}{{"handoff_text":"x"}}'
    assert contract.INTENT_END_HANDOFF in contract.citizen_intents()
    # A citizen's button cannot carry the staff side's entities nor set the state.
    assert inbound.guard_payload('/end_handoff{"handoff_text":"x","handoff_state":"active"}') == \
        "/end_handoff"
