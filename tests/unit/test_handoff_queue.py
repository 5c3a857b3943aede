"""The handoff queue and office hours against a real (SQLite) dossier database."""
from __future__ import annotations

import datetime as dt

import pytest

from dichvucong.dossiers.store import migrate
from dichvucong.handoff.hours import HoursError, OfficeHours, describe_opening, parse_hours
from dichvucong.handoff.queue import HandoffQueue
from dichvucong.handoff.tickets import AlreadyTaken, HandoffError
from dichvucong.settings import HandoffSettings

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội, a Wednesday
CONFIG = HandoffSettings(idle_timeout_minutes=30, queued_limit_minutes=120,
                         default_handling_minutes=10)


def minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


@pytest.fixture
def queue(tmp_path):
    url = f"sqlite:///{tmp_path / 'dossiers.db'}"
    migrate(url)
    return HandoffQueue(url, config=CONFIG)


def test_request_is_idempotent_and_masks_the_question(queue):
    ticket = queue.request("telegram:42", "telegram", "asked",
                           "gọi cho tôi 0912345678 về căn cước", "can_cuoc", "Hà Nội", now=T0)
    assert ticket.status == "queued" and ticket.reason == "asked"
    assert "0912345678" not in ticket.question and "678" in ticket.question
    again = queue.request("telegram:42", "telegram", "failed_twice", "khác", now=T0 + minutes(1))
    assert again.id == ticket.id
    assert queue.ticket_for("telegram:42").id == ticket.id
    assert queue.ticket_for("zalo:42") is None


def test_positions_and_expected_wait(queue):
    first = queue.request("telegram:1", None, now=T0)
    second = queue.request("zalo:2", None, now=T0 + minutes(1))
    third = queue.request("webchat:3", None, now=T0 + minutes(2))
    assert second.channel == "zalo"
    assert [queue.position(t.id) for t in (first, second, third)] == [1, 2, 3]
    # No history yet: the configured default handling time.
    assert queue.expected_wait_minutes(2) == 20
    queue.take(first.id, "trang", now=T0 + minutes(5))
    assert queue.position(first.id) == 0
    assert queue.position(third.id) == 2
    queue.end(first.id, "operator", now=T0 + minutes(9))
    # One handled conversation of 4 minutes is now the median.
    assert queue.expected_wait_minutes(2) == 8


def test_take_is_exclusive(queue):
    ticket = queue.request("telegram:1", None, now=T0)
    taken = queue.take(ticket.id, "trang", now=T0 + minutes(3))
    assert taken.status == "active" and taken.taken_by == "trang"
    assert queue.take(ticket.id, "trang").taken_by == "trang"  # a double click is fine
    with pytest.raises(AlreadyTaken, match="trang"):
        queue.take(ticket.id, "minh")
    assert [t.id for t in queue.active()] == [ticket.id]
    assert queue.queued() == []


def test_cancel_and_end_by_conversation(queue):
    waiting = queue.request("telegram:1", None, now=T0)
    cancelled = queue.cancel("telegram:1", "citizen", now=T0 + minutes(1))
    assert cancelled.status == "cancelled" and cancelled.ended_by == "citizen"
    assert queue.ticket_for("telegram:1") is None
    assert queue.cancel("telegram:1") is None
    # A new request after the cancel is a new ticket.
    fresh = queue.request("telegram:1", None, now=T0 + minutes(2))
    assert fresh.id != waiting.id
    queue.take(fresh.id, "trang", now=T0 + minutes(3))
    ended = queue.end("telegram:1", "citizen", now=T0 + minutes(8))
    assert ended.status == "closed" and ended.ended_by == "citizen"
    assert queue.end(fresh.id, "operator") is None
    with pytest.raises(HandoffError):
        queue.take(fresh.id, "minh")


def test_expire_idle_active_and_stale_queued(queue):
    active = queue.request("telegram:1", None, now=T0)
    queue.take(active.id, "trang", now=T0)
    queue.touch(active.id, T0 + minutes(20))
    stale = queue.request("zalo:2", None, now=T0)
    recent = queue.request("webchat:3", None, now=T0 + minutes(100))
    assert queue.expire(T0 + minutes(45)) == []  # idle 25 min, queued 45 min
    ended = queue.expire(T0 + minutes(121))
    assert {(t.id, t.status, t.ended_by) for t in ended} == {
        (active.id, "closed", "timeout"), (stale.id, "cancelled", "timeout")}
    assert queue.ticket_for("webchat:3").id == recent.id


def test_callbacks_keep_the_number_only_until_done(queue):
    with pytest.raises(HandoffError, match="Số điện thoại"):
        queue.add_callback("zalo:9", None, "phone", "12345")
    callback = queue.add_callback("zalo:9", None, "phone", "+84 912 345 678",
                                  "hỏi về khai sinh", "khai_sinh", now=T0)
    assert callback.phone_masked == "•••••••678"
    assert "0912345678" not in repr(queue.callbacks())
    assert queue.callback_phone(callback.id) == "0912345678"
    here = queue.add_callback("telegram:5", None, "reply_here", now=T0)
    assert here.phone_masked is None
    assert queue.callback_done(callback.id) is True
    assert queue.callback_done(callback.id) is False
    assert [c.id for c in queue.callbacks()] == [here.id]


def test_stats_measure_waiting_and_handling(queue):
    for n, (wait, handle) in enumerate([(2, 6), (4, 10), (6, 14)]):
        ticket = queue.request(f"telegram:{n}", None, now=T0)
        queue.take(ticket.id, "trang", now=T0 + minutes(wait))
        queue.end(ticket.id, "operator", now=T0 + minutes(wait + handle))
    gone = queue.request("zalo:1", None, now=T0)
    queue.cancel("zalo:1")
    stats = queue.stats(T0 - minutes(1), T0 + dt.timedelta(days=1))
    assert (stats.requested, stats.taken, stats.cancelled) == (4, 3, 1)
    assert stats.median_waiting_seconds == 240
    assert stats.median_handling_seconds == 600
    assert stats.per_day == {dt.date(2026, 12, 2): 4}
    assert gone.id in {t.id for t in queue.finished()}


def test_office_hours_open_close_and_next_opening():
    hours = OfficeHours.from_settings(HandoffSettings(
        hours="Mon-Fri 07:30-11:30,13:30-17:00; Sat 07:30-11:30", holidays=("2026-12-04",)))
    wednesday_9 = dt.datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    assert hours.is_open(wednesday_9)
    lunch = dt.datetime(2026, 12, 2, 5, 0, tzinfo=UTC)  # 12:00
    assert not hours.is_open(lunch)
    assert hours.next_opening(lunch).strftime("%d %H:%M") == "02 13:30"
    assert describe_opening(hours.next_opening(lunch), lunch) == "13:30 hôm nay"
    thursday_evening = dt.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # 19:00
    # Friday is a holiday: Saturday morning.
    opening = hours.next_opening(thursday_evening)
    assert opening.strftime("%a %d %H:%M") == "Sat 05 07:30"
    assert describe_opening(opening, thursday_evening) == "7:30 thứ Bảy, 05/12/2026"
    saturday_noon = dt.datetime(2026, 12, 5, 5, 0, tzinfo=UTC)
    assert describe_opening(hours.next_opening(saturday_noon), saturday_noon).startswith(
        "7:30 thứ Hai")


def test_a_day_may_end_at_midnight():
    hours = OfficeHours.from_settings(HandoffSettings(hours="Mon-Sun 00:00-24:00"))
    assert hours.is_open(dt.datetime(2026, 12, 2, 16, 59, 59, tzinfo=UTC))  # 23:59:59


@pytest.mark.parametrize("text", ["Mon-Fri 7h-11h", "Xyz 07:30-11:30", "Mon 11:30-07:30"])
def test_unreadable_hours_are_refused(text):
    with pytest.raises(HoursError):
        parse_hours(text)


def test_the_cli_lists_the_queue_and_explains_a_missing_schema(queue, tmp_path, capsys):
    from bot.cli.handoff import main

    queue.request("zalo:7", None, question="hỏi về tạm trú", now=T0)
    assert main(["list", "--database-url", str(queue.engine.url)]) == 0
    listed = capsys.readouterr().out
    assert "zalo:7 đang chờ" in listed and "hỏi về tạm trú" in listed
    assert main(["list", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}"]) == 2
    assert "migrate" in capsys.readouterr().err
