"""The scale-out topology (`make cluster`): two Rasa replicas behind haproxy share
one PostgreSQL tracker store and Rasa's Redis lock store.

Real components: haproxy from Debian, PostgreSQL (a scale_* database pair made
for the module) and Redis (its own key prefix).
"""
from __future__ import annotations

import json
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List

import pytest
import sqlalchemy as sa

from tests.support.servers import MODEL, ROOT, free_port, http

sys.path.insert(0, str(ROOT / "scripts"))
from cluster import Cluster  # noqa: E402

LOOKUP = "000.45.02.H58-261120-0012"


def make_cluster(tmp_path_factory, postgres_server, tag: str, **env: str) -> Cluster:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train`")
    url = postgres_server.url.set(database="postgres").render_as_string(hide_password=False)
    ports = {name: free_port() for name in
             ("lb", "rasa1", "rasa2", "action_lb", "actions1", "actions2")}
    return Cluster(tmp_path_factory.mktemp(tag), name=f"scale_{tag}_{uuid.uuid4().hex[:8]}",
                   model=MODEL, postgres_url=url, ports=ports,
                   extra_env={"ASSISTANT_TODAY": "2026-11-26", **env})


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, postgres_server):
    running = make_cluster(tmp_path_factory, postgres_server, "cluster")
    try:
        running.start()
        yield running
    finally:
        running.stop()
        running.drop_databases()


def say(url: str, sender: str, text: str) -> List[Dict]:
    status, body = http("POST", f"{url}/webhooks/rest/webhook", {"sender": sender, "message": text})
    assert status == 200, body
    return json.loads(body)


def texts(messages: List[Dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def stored_events(cluster: Cluster, sender: str) -> List[Dict]:
    engine = sa.create_engine(cluster.tracker_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"),
                {"s": f"rest:{sender}"}).all()
    finally:
        engine.dispose()
    return [json.loads(row.data) for row in rows]


def test_a_lookup_started_on_one_replica_ends_on_the_other(cluster):
    sender = "lookup-" + uuid.uuid4().hex[:8]
    asked = say(cluster.replica_url("rasa1"), sender, f"tra cứu hồ sơ {LOOKUP}")
    assert "4 chữ số cuối" in texts(asked)
    answer = texts(say(cluster.replica_url("rasa2"), sender, "4567"))
    assert "Chờ bổ sung" in answer and "4567" not in answer
    # And through the balancer, which alternates between the replicas.
    assert say(cluster.url, sender, "cảm ơn")


def turns_of(events: List[Dict]) -> List[List[Dict]]:
    """The events cut at each user message."""
    turns: List[List[Dict]] = []
    for event in events:
        if event["event"] == "user":
            turns.append([event])
        elif turns:
            turns[-1].append(event)
    return turns


def test_one_conversations_messages_sent_at_once_to_both_replicas_never_interleave(cluster):
    sender = "burst-" + uuid.uuid4().hex[:8]
    say(cluster.url, sender, "xin chào")
    questions = ["thủ tục đăng ký khai sinh cần giấy tờ gì", "lệ phí đăng ký kết hôn",
                 "làm căn cước công dân ở đâu", "đăng ký thường trú mất bao lâu",
                 "cảm ơn", "tạm biệt"]
    replicas = [cluster.replica_url("rasa1"), cluster.replica_url("rasa2")]
    with ThreadPoolExecutor(len(questions)) as pool:
        replies = list(pool.map(lambda item: say(replicas[item[0] % 2], sender, item[1]),
                                enumerate(questions)))
    assert all(replies)
    turns = turns_of(stored_events(cluster, sender))
    users = [turn[0]["text"] for turn in turns]
    assert sorted(users) == sorted(["xin chào", *questions])  # each stored exactly once
    for turn in turns:
        # A turn is the user's message, its actions, and one action_listen at the
        # end: another message's events never land in the middle.
        listens = [i for i, e in enumerate(turn)
                   if e["event"] == "action" and e.get("name") == "action_listen"]
        assert listens == [len(turn) - 1], [e["event"] + ":" + str(e.get("name")) for e in turn]


def test_a_message_queued_behind_a_dead_replicas_ticket_is_served():
    """Rasa 3.6's own Redis lock store lets the waiter's ticket expire: it hangs."""
    import asyncio
    import time

    from bot.patches.lock_store import AtomicRedisLockStore

    store = AtomicRedisLockStore(host="127.0.0.1", port=6379, db=1,
                                 key_prefix="scale" + uuid.uuid4().hex[:8])
    store.issue_ticket("c", 2)  # a replica took it, then died

    async def queued() -> float:
        started = time.monotonic()
        async with store.lock("c", lock_lifetime=2):
            return time.monotonic() - started

    assert asyncio.run(asyncio.wait_for(queued(), 60)) > 0
    assert store.get_lock("c") is None

    async def burst() -> int:
        inside, worst = 0, 0

        async def one() -> None:
            nonlocal inside, worst
            async with store.lock("d"):
                inside += 1
                worst = max(worst, inside)
                await asyncio.sleep(0.01)
                inside -= 1

        await asyncio.gather(*(one() for _ in range(20)))
        return worst

    assert asyncio.run(asyncio.wait_for(burst(), 60)) == 1
