"""One throttle for everything a stranger could guess: dossier lookups, logins.

Each key ("conv:<conversation>", "code:<dossier code>", ...) has its own
:class:`Policy`. A streak of ``max_failures`` locks the key; each further lock
in the same month lasts twice the one before (15 min, 30 min, 1 h, ... capped
at ``max_lock``). On top of the streaks, ``per_day`` and ``per_month`` cap the
failures a key can take in a day or a month window: once reached, the key
stays locked until that window ends. A success ends the streak and the
growth, not the day and month counts, so that an owner's own lookup cannot
be used to reset an attacker's budget.

The second factor of a dossier lookup is the last 4 digits of the identity
number or of the phone number: a guess hits with probability at most
2/10,000. With the dossier-code policy (``CODE_POLICY``: 5 failures a day,
15 a month), a guesser has at most 0.1% a day and 0.3% a month per dossier,
whatever the number of conversations used. A stranger can keep a code locked
for at most the rest of a month window, and only for the typed digits: a
Telegram contact (the platform's proof of the phone number) is checked
against the conversation's lock only, and staff can unlock a code with
``python -m bot.cli.dossiers unlock``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Callable, Iterable, Optional

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dichvucong import metrics
from dichvucong.dossiers.models import ThrottleScope, as_utc, utcnow

DAY = dt.timedelta(days=1)
MONTH = dt.timedelta(days=30)


@dataclasses.dataclass(frozen=True)
class Policy:
    max_failures: int = 3
    lock: dt.timedelta = dt.timedelta(minutes=15)
    # Failures further apart than this do not make a streak.
    window: dt.timedelta = dt.timedelta(minutes=15)
    max_lock: dt.timedelta = dt.timedelta(hours=24)
    per_day: Optional[int] = None
    per_month: Optional[int] = None

    def lock_for(self, locks: int) -> dt.timedelta:
        return min(self.lock * (2 ** max(locks - 1, 0)), self.max_lock)


CODE_POLICY = Policy(per_day=5, per_month=15)
PolicyFor = Callable[[str], Policy]


def minutes_left(until: dt.datetime, now: Optional[dt.datetime] = None) -> int:
    """Whole minutes, rounded up, until ``until``: what the citizen or staff member is told."""
    now = as_utc(now) if now else utcnow()
    return max(1, int((until - now).total_seconds() // 60) + 1)


class Throttle:
    """Counts failures per key in the database (shared by every replica)."""

    def __init__(self, sessions: sessionmaker, policy_for: PolicyFor):
        self._sessions = sessions
        self.policy_for = policy_for

    def locked_until(
        self, keys: Iterable[str], now: Optional[dt.datetime] = None
    ) -> Optional[dt.datetime]:
        """The time until which any of ``keys`` is locked, or None."""
        now = as_utc(now) if now else utcnow()
        with self._sessions() as session:
            return session.execute(
                select(func.max(ThrottleScope.locked_until)).where(
                    ThrottleScope.scope.in_(sorted(set(keys))), ThrottleScope.locked_until > now
                )
            ).scalar()

    def fail(
        self, keys: Iterable[str], now: Optional[dt.datetime] = None
    ) -> Optional[dt.datetime]:
        """Count one failure against every key; the lock end if now locked."""
        now = as_utc(now) if now else utcnow()
        keys = sorted(set(keys))
        for attempt in range(3):
            try:
                with self._sessions.begin() as session:
                    for key in keys:
                        self._count(session, key, now)
                break
            except IntegrityError:
                # Another worker created the same row first: count again on it.
                if attempt == 2:
                    raise
        return self.locked_until(keys, now)

    def _count(self, session: Session, key: str, now: dt.datetime) -> None:
        policy = self.policy_for(key)
        row = session.execute(
            select(ThrottleScope).where(ThrottleScope.scope == key).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            row = ThrottleScope(scope=key, failures=0, window_started_at=now, locks=0,
                                day_started_at=now, day_failures=0,
                                month_started_at=now, month_failures=0)
            session.add(row)
        if row.locked_until is not None and row.locked_until > now:
            return  # attempts during a lock are refused before they are checked
        if now - row.month_started_at >= MONTH:
            row.month_started_at, row.month_failures, row.locks = now, 0, 0
        if now - row.day_started_at >= DAY:
            row.day_started_at, row.day_failures = now, 0
        if row.locked_until is not None or now - row.window_started_at >= policy.window:
            row.failures, row.window_started_at, row.locked_until = 0, now, None
        row.failures += 1
        row.day_failures += 1
        row.month_failures += 1
        until = None
        if row.failures >= policy.max_failures:
            row.locks += 1
            row.failures = 0
            until = now + policy.lock_for(row.locks)
        if policy.per_day and row.day_failures >= policy.per_day:
            until = max(until or now, row.day_started_at + DAY)
        if policy.per_month and row.month_failures >= policy.per_month:
            until = max(until or now, row.month_started_at + MONTH)
        row.locked_until = until
        if until is not None:
            metrics.LOCKOUTS.labels(metrics.scope_kind(key)).inc()
        session.flush()

    def attempt(
        self, keys: Iterable[str], now: Optional[dt.datetime] = None
    ) -> Optional[dt.datetime]:
        """Reserve one try before checking a secret: the lock end if refused, else None.

        The try is counted as a failure first (:meth:`forgive` it on success), in
        one transaction, so that parallel requests cannot all pass a check made
        before any of them failed.
        """
        now = as_utc(now) if now else utcnow()
        keys = sorted(set(keys))
        for attempt in range(3):
            try:
                with self._sessions.begin() as session:
                    # Take the write lock first (SQLite) and the rows' locks (PostgreSQL).
                    session.execute(
                        update(ThrottleScope).where(ThrottleScope.scope.in_(keys))
                        .values(failures=ThrottleScope.failures)
                    )
                    until = session.execute(
                        select(func.max(ThrottleScope.locked_until)).where(
                            ThrottleScope.scope.in_(keys), ThrottleScope.locked_until > now)
                    ).scalar()
                    if until is not None:
                        return until
                    for key in keys:
                        self._count(session, key, now)
                return None
            except IntegrityError:
                if attempt == 2:
                    raise
        return None

    def forgive(self, keys: Iterable[str]) -> None:
        """Take back one reserved try of ``keys`` (the secret was right)."""
        with self._sessions.begin() as session:
            for row in session.execute(
                select(ThrottleScope).where(ThrottleScope.scope.in_(sorted(set(keys))))
            ).scalars():
                row.failures = max(row.failures - 1, 0)
                row.day_failures = max(row.day_failures - 1, 0)
                row.month_failures = max(row.month_failures - 1, 0)

    def succeed(self, keys: Iterable[str]) -> None:
        """A success ends the streaks and the lock growth of ``keys``."""
        with self._sessions.begin() as session:
            for row in session.execute(
                select(ThrottleScope).where(ThrottleScope.scope.in_(sorted(set(keys))))
            ).scalars():
                row.failures, row.locks, row.locked_until = 0, 0, None

    def unlock(self, keys: Iterable[str]) -> int:
        """Staff lift every lock and count of ``keys``; returns how many rows went."""
        with self._sessions.begin() as session:
            result = session.execute(
                delete(ThrottleScope).where(ThrottleScope.scope.in_(sorted(set(keys))))
            )
            return result.rowcount or 0
