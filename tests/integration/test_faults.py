"""Faults in the scale-out topology: nothing a citizen was answered is lost.

A Rasa replica killed with SIGKILL under load, the action servers stopped
and started again, and PostgreSQL restarted under load. Real haproxy,
PostgreSQL and Redis (tests/integration/test_cluster.py); the PostgreSQL
server is the module's own (tests/support/private_postgres.py), since the
machine's shared one serves other tests. No timing assertions: waits are
generous, outcomes checked.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from typing import List, Tuple

import pytest
from sqlalchemy.engine import make_url

from bot.channels.safety import SYSTEM_FAILURE
from bot.patches.action_unavailable import ACTIONS_UNAVAILABLE
from tests.integration.test_cluster import make_cluster, say, stored_events, texts
from tests.support.private_postgres import PrivatePostgres
from tests.support.servers import free_port, http

# Questions without digits: stored texts are then the texts sent (redaction
# masks digits), so "stored exactly once and in order" is a plain comparison.
SCRIPT = ["xin chào", "thủ tục đăng ký khai sinh cần giấy tờ gì", "lệ phí bao nhiêu",
          "nộp hồ sơ ở đâu", "làm căn cước công dân cần những gì", "đăng ký kết hôn",
          "đăng ký thường trú làm thế nào", "cảm ơn bạn"]


class _Server:
    def __init__(self, url: str) -> None:
        self.url = make_url(url)


@pytest.fixture(scope="module")
def postgres():
    server = PrivatePostgres(free_port()).init()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, postgres):
    # A replica killed mid-turn leaves its conversation's lock in Redis until the
    # lock's lifetime ends (60 s by default); 10 s keeps the test short.
    running = make_cluster(tmp_path_factory, _Server(postgres.url), "faults",
                           TICKET_LOCK_LIFETIME="10")
    try:
        running.start()
        yield running
    finally:
        running.stop()


class Citizen(threading.Thread):
    """Sends SCRIPT's turns one after the other and records which were answered."""

    def __init__(self, url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.stop = url, stop
        self.sender = "fault-" + uuid.uuid4().hex[:8]
        self.sent: List[Tuple[str, bool]] = []

    def run(self) -> None:
        index = 0
        while not self.stop.is_set() and index < 60:
            text = f"{SCRIPT[index % len(SCRIPT)]}"
            try:
                status, body = http("POST", f"{self.url}/webhooks/rest/webhook",
                                    {"sender": self.sender, "message": text})
            except OSError:  # the replica died while answering
                status, body = 0, b""
            replies = json.loads(body or b"[]") if status == 200 else []
            # A turn that failed says so (bot/channels/safety.py): not an answer.
            answered = bool(replies) and not any(r.get("error") for r in replies)
            self.sent.append((text, answered))
            index += 1
            if not answered:
                time.sleep(0.5)  # as a citizen told to retry would, a little later


def user_texts(cluster, sender: str) -> List[str]:
    return [e["text"] for e in stored_events(cluster, sender) if e["event"] == "user"]


def is_subsequence(part: List[str], whole: List[str]) -> bool:
    remaining = iter(whole)
    return all(any(item == other for other in remaining) for item in part)


def under_load(cluster, fault) -> List[Tuple[Citizen, int]]:
    """Four citizens talking while ``fault()`` runs; each with its count sent before."""
    stop = threading.Event()
    citizens = [Citizen(cluster.url, stop) for _ in range(4)]
    for citizen in citizens:
        citizen.start()
    deadline = time.time() + 120
    while sum(len(c.sent) for c in citizens) < 12 and time.time() < deadline:
        time.sleep(0.2)
    fault()
    fault_at = [len(c.sent) for c in citizens]
    deadline = time.time() + 120
    while any(len(c.sent) < k + 4 for c, k in zip(citizens, fault_at, strict=True)) \
            and time.time() < deadline:
        time.sleep(0.5)
    stop.set()
    for citizen in citizens:
        citizen.join(timeout=120)
    return list(zip(citizens, fault_at, strict=True))


def assert_nothing_answered_was_lost(cluster, citizen: Citizen, fault_at: int) -> None:
    answered = [text for text, ok in citizen.sent if ok]
    stored = user_texts(cluster, citizen.sender)
    # Every answered message is stored once, in the order it was sent; a
    # message the citizen was told to resend may or may not be stored.
    assert len(stored) <= len(citizen.sent)
    assert is_subsequence(answered, stored), (answered, stored)
    counted = {text: stored.count(text) for text in set(answered)}
    sent_counts = {text: [t for t, _ in citizen.sent].count(text) for text in counted}
    assert all(counted[t] <= sent_counts[t] for t in counted), (counted, sent_counts)
    # The conversation went on after the fault.
    assert any(ok for _, ok in citizen.sent[fault_at + 1:]), citizen.sent


def test_a_replica_killed_under_load_loses_no_answered_message(cluster):
    for citizen, killed in under_load(cluster, lambda: cluster.kill("rasa1")):
        assert_nothing_answered_was_lost(cluster, citizen, killed)
    cluster.spawn("rasa1")
    cluster.wait_ready("rasa1")


def test_stopped_action_servers_get_a_vietnamese_message_and_service_resumes(cluster):
    sender = "actions-" + uuid.uuid4().hex[:8]
    assert say(cluster.url, sender, "xin chào")
    cluster.kill("actions1")
    cluster.kill("actions2")
    reply = texts(say(cluster.url, sender, "thủ tục đăng ký khai sinh cần giấy tờ gì"))
    assert ACTIONS_UNAVAILABLE in reply
    # The citizen's message is kept, and so is what they were told.
    events = stored_events(cluster, sender)
    assert "thủ tục đăng ký khai sinh cần giấy tờ gì" in [e.get("text") for e in events]
    assert ACTIONS_UNAVAILABLE in [e.get("text") for e in events if e["event"] == "bot"]
    for name in ("actions1", "actions2"):
        cluster.spawn(name)
    for name in ("actions1", "actions2"):
        cluster.wait_ready(name)
    deadline = time.time() + 60
    while time.time() < deadline:  # haproxy marks them up after two good checks
        reply = texts(say(cluster.url, sender, "thủ tục đăng ký khai sinh cần giấy tờ gì"))
        if ACTIONS_UNAVAILABLE not in reply:
            break
        time.sleep(1)
    assert ACTIONS_UNAVAILABLE not in reply and "khai sinh" in reply.lower()


def test_a_postgres_restart_under_load_loses_no_answered_message(cluster, postgres):
    sender = "pg-" + uuid.uuid4().hex[:8]
    assert "khai sinh" in texts(say(cluster.url, sender, "thủ tục đăng ký khai sinh cần giấy tờ gì"))
    postgres.stop()
    # Rasa alone would answer from an empty conversation and keep the turn in
    # memory (bot/patches/tracker_store_failsafe.py): the citizen is told instead.
    down = say(cluster.url, sender, "nộp hồ sơ ở đâu")
    assert [m.get("text", "").split(" (mã lỗi")[0] for m in down] == \
        [SYSTEM_FAILURE.split(" (mã lỗi")[0]]
    postgres.start()
    # The context from before the outage is intact: the fee of khai sinh.
    after = texts(say(cluster.url, sender, "lệ phí bao nhiêu"))
    assert "khai sinh" in after.lower() and "lệ phí" in after.lower()
    assert user_texts(cluster, sender) == ["thủ tục đăng ký khai sinh cần giấy tờ gì",
                                           "lệ phí bao nhiêu"]

    def restart() -> None:
        postgres.stop()
        time.sleep(2)
        postgres.start()

    for citizen, restarted in under_load(cluster, restart):
        assert_nothing_answered_was_lost(cluster, citizen, restarted)
