"""Load for `make bench`: closed-loop saturation and open-loop Poisson arrivals.

A conversation's turns are always sent one after the other (a citizen waits
for the answer); what varies is how many conversations run at once (closed
loop) or how fast new messages arrive (open loop). Open-loop latency counts
from the scheduled arrival, not from the send, so a server that falls behind
is charged for the queue it builds (no coordinated omission).
"""
from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Iterator, List, Optional

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=30)


@dataclass
class Result:
    latencies: List[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def messages(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Conversation:
    """One citizen going through one scripted conversation."""

    def __init__(self, turns: List[str], prefix: str) -> None:
        self.sender = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.turns = turns
        self.next = 0

    @property
    def done(self) -> bool:
        return self.next >= len(self.turns)


async def send(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> bool:
    try:
        async with session.post(f"{url}/webhooks/rest/webhook",
                                json={"sender": sender, "message": text}) as response:
            body = await response.json(content_type=None)
            return response.status == 200 and isinstance(body, list) and bool(body)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return False


def _scripts(conversations: List[List[str]], prefix: str) -> Iterator[Conversation]:
    for turns in itertools.cycle(conversations):
        yield Conversation(turns, prefix)


async def closed_loop(url: str, conversations: List[List[str]], concurrency: int,
                      seconds: float, prefix: str) -> Result:
    """``concurrency`` citizens, each starting a new conversation when one ends."""
    result = Result()
    scripts = _scripts(conversations, prefix)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=TIMEOUT, connector=connector) as session:
        start = time.perf_counter()
        stop = start + seconds

        async def citizen() -> None:
            while time.perf_counter() < stop:
                conversation = next(scripts)
                while not conversation.done and time.perf_counter() < stop:
                    sent = time.perf_counter()
                    ok = await send(session, url, conversation.sender,
                                    conversation.turns[conversation.next])
                    conversation.next += 1
                    if ok:
                        result.latencies.append(time.perf_counter() - sent)
                    else:
                        result.errors += 1

        await asyncio.gather(*(citizen() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - start
    return result


async def open_loop(url: str, conversations: List[List[str]], rate: float,
                    seconds: float, prefix: str, seed: int = 20261202) -> Result:
    """Messages arrive at ``rate`` per second (Poisson); each goes to an idle
    conversation, or starts a new one."""
    result = Result()
    scripts = _scripts(conversations, prefix)
    idle: List[Conversation] = []
    rng = random.Random(seed)
    tasks = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=TIMEOUT, connector=connector) as session:

        async def deliver(conversation: Conversation, scheduled: float) -> None:
            ok = await send(session, url, conversation.sender,
                            conversation.turns[conversation.next])
            conversation.next += 1
            if ok:
                result.latencies.append(time.perf_counter() - scheduled)
            else:
                result.errors += 1
            if not conversation.done:
                idle.append(conversation)

        start = time.perf_counter()
        scheduled = start
        while scheduled < start + seconds:
            scheduled += rng.expovariate(rate)
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            conversation: Optional[Conversation] = idle.pop(0) if idle else next(scripts)
            tasks.append(asyncio.ensure_future(deliver(conversation, scheduled)))
        await asyncio.gather(*tasks)
        result.seconds = time.perf_counter() - start
    return result


async def warm_up(url: str, conversations: List[List[str]], prefix: str) -> None:
    """Each conversation once, so first-call costs (graph, caches) are not measured."""
    await closed_loop(url, conversations, 1, 0.01, prefix)
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        for turns in conversations:
            conversation = Conversation(turns, prefix)
            for text in turns:
                await send(session, url, conversation.sender, text)
