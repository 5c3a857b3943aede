"""Rasa's Redis lock store, made safe for several replicas.

Rasa 3.6's ``RedisLockStore`` keeps each conversation's ticket queue in one
Redis key, and has two faults once replicas share it (found by the fault
tests, tests/integration/test_faults.py):

* every change is a read-modify-write without a transaction, so two replicas
  changing one conversation's queue at once can lose each other's ticket;
* a ticket expires while its message is still waiting: a waiter queued behind
  a replica killed mid-turn usually outlives the dead ticket by less than the
  one-second poll, finds its own ticket expired, and waits forever (the
  request hangs until the balancer gives up).

Here each change is one Redis transaction (WATCH/MULTI, retried on conflict),
and a waiting ticket is kept alive at each poll, so only the tickets of
processes that died expire (``TICKET_LOCK_LIFETIME``, Rasa's setting). The
queue is polled every ``ASSISTANT_LOCK_POLL`` seconds (default 0.1; Rasa polls
every second, which costs a queued message up to a second).
"""
from __future__ import annotations

import asyncio
import json
import os
import time
from collections import deque
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, Optional, Tuple

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

from bot import patches

POLL_SECONDS = float(os.environ.get("ASSISTANT_LOCK_POLL", "0.1"))


def _keep_alive(lock: TicketLock, ticket: int, lifetime: float) -> None:
    """Give ``ticket`` a fresh expiry, putting it back in its place if it expired."""
    lock.remove_expired_tickets()
    expires = time.time() + lifetime
    kept = [t for t in lock.tickets if t.number != ticket]
    kept.append(Ticket(ticket, expires))
    lock.tickets = deque(sorted(kept, key=lambda t: t.number))


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        patches.require_rasa("bot.patches.lock_store")
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs}
        super().__init__(**kwargs)

    def _change(self, conversation_id: str,
                change: Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], Any]]) -> Any:
        """Apply ``change`` to the stored lock in one transaction; None deletes it."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    new, result = change(lock)
                    pipe.multi()
                    if new is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, new.dumps())
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def change(lock: Optional[TicketLock]):
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, change)
        except Exception as e:
            raise LockError(f"Error while acquiring lock. Error:\n{e}") from e

    def update_lock(self, conversation_id: str) -> None:
        def change(lock: Optional[TicketLock]):
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, change)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.cleanup(conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove the ticket, and the lock with it when no one else is queued."""

        def change(lock: Optional[TicketLock]):
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, change)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncGenerator[TicketLock, None]:
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        try:
            yield await self._wait_for(conversation_id, ticket, lock_lifetime,
                                       wait_time_in_seconds)
        finally:
            self.cleanup(conversation_id, ticket)

    async def _wait_for(self, conversation_id: str, ticket: int, lifetime: float,
                        wait: float) -> TicketLock:
        def change(lock: Optional[TicketLock]):
            lock = lock or TicketLock(conversation_id)
            _keep_alive(lock, ticket, lifetime)
            return lock, lock

        while True:
            lock = self._change(conversation_id, change)
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait)
