"""The queue of conversations waiting for, or held by, a staff member.

All state lives in the dossier database, never in process memory: every Rasa
replica, the action server, the console and the cron sweep read and change
the same rows, and a restart loses nothing. Each method is one short
transaction; state changes are conditional UPDATEs, so two operators (or two
replicas) racing for a ticket cannot both win.
"""
from __future__ import annotations

import datetime as dt
import math
import statistics
from typing import Dict, List, Optional, Sequence, Union

from sqlalchemy import and_, delete, func, or_, select, true, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from dichvucong.dossiers.models import as_utc, local_date, utcnow
from dichvucong.dossiers.store.engine import make_engine
from dichvucong.handoff.models import (
    CONTACT_KINDS,
    ENDED_BY,
    OPEN_STATUSES,
    REASONS,
    HandoffCallback,
    HandoffRequest,
)
from dichvucong.handoff.tickets import (
    AlreadyTaken,
    Callback,
    HandoffError,
    HandoffNotFound,
    HandoffStats,
    Ticket,
)
from dichvucong.privacy import normalize_phone, redact
from dichvucong.settings import HandoffSettings, settings

MAX_QUESTION = 2000
# Median handling time is taken over this many recent conversations.
RECENT_HANDLED = 50


def _now(now: Optional[dt.datetime]) -> dt.datetime:
    return as_utc(now) if now else utcnow()


def _channel_of(conversation_id: str) -> str:
    return conversation_id.split(":", 1)[0] if ":" in conversation_id else "rest"


def _median(values: Sequence[float]) -> Optional[float]:
    return statistics.median(values) if values else None


class HandoffQueue:
    """Build with an engine, a database URL, a DossierRepository, or nothing (DATABASE_URL)."""

    def __init__(self, engine_or_repo: Union[Engine, str, object, None] = None,
                 config: Optional[HandoffSettings] = None) -> None:
        if engine_or_repo is None or isinstance(engine_or_repo, str):
            engine = make_engine(engine_or_repo)
        elif isinstance(engine_or_repo, Engine):
            engine = engine_or_repo
        else:
            engine = engine_or_repo.engine
        self.engine = engine
        self.config = config or settings().handoff
        self._sessions = sessionmaker(bind=engine, future=True, expire_on_commit=False)

    # --- the citizen's side ------------------------------------------------

    def request(self, conversation_id: str, channel: Optional[str], reason: str = "asked",
                question: Optional[str] = None, procedure: Optional[str] = None,
                locality: Optional[str] = None, now: Optional[dt.datetime] = None) -> Ticket:
        """Queue the conversation; while a ticket is open, that ticket is returned."""
        if reason not in REASONS:
            raise HandoffError(f"Lý do không hợp lệ: {reason}.")
        now = _now(now)
        with self._sessions.begin() as session:
            row = session.scalars(self._open(conversation_id)).first()
            if row is None:
                row = HandoffRequest(
                    conversation_id=conversation_id,
                    channel=channel or _channel_of(conversation_id),
                    status="queued", reason=reason,
                    question=redact((question or "").strip()[:MAX_QUESTION]) or None,
                    procedure=procedure, locality=(locality or None) and locality[:200],
                    created_at=now, last_activity_at=now,
                )
                session.add(row)
                session.flush()
            return Ticket.of(row)

    def ticket_for(self, conversation_id: str) -> Optional[Ticket]:
        """The conversation's open (queued or active) ticket."""
        with self._sessions() as session:
            row = session.scalars(self._open(conversation_id)).first()
            return Ticket.of(row) if row else None

    def get(self, ticket_id: int) -> Ticket:
        with self._sessions() as session:
            row = session.get(HandoffRequest, ticket_id)
            if row is None:
                raise HandoffNotFound(f"Không có yêu cầu số {ticket_id}.")
            return Ticket.of(row)

    def position(self, ticket_id: int) -> int:
        """1 for the next one to be taken; 0 once taken or closed."""
        ticket = self.get(ticket_id)
        if ticket.status != "queued":
            return 0
        with self._sessions() as session:
            ahead = session.scalar(
                select(func.count(HandoffRequest.id)).where(
                    HandoffRequest.status == "queued",
                    or_(HandoffRequest.created_at < ticket.created_at,
                        and_(HandoffRequest.created_at == ticket.created_at,
                             HandoffRequest.id < ticket.id)),
                )
            )
        return int(ahead) + 1

    def median_handling_minutes(self) -> float:
        with self._sessions() as session:
            rows = session.execute(
                select(HandoffRequest.taken_at, HandoffRequest.ended_at)
                .where(HandoffRequest.status == "closed", HandoffRequest.taken_at.is_not(None),
                       HandoffRequest.ended_at.is_not(None))
                .order_by(HandoffRequest.ended_at.desc()).limit(RECENT_HANDLED)
            ).all()
        minutes = [(ended - taken).total_seconds() / 60 for taken, ended in rows]
        return _median(minutes) or float(self.config.default_handling_minutes)

    def expected_wait_minutes(self, position: int) -> int:
        """Position times the recent median handling time, shared by the operators at work."""
        if position <= 0:
            return 0
        with self._sessions() as session:
            operators = session.scalar(
                select(func.count(func.distinct(HandoffRequest.taken_by)))
                .where(HandoffRequest.status == "active")
            ) or 1
        return max(1, math.ceil(position * self.median_handling_minutes() / operators))

    def cancel(self, conversation_id: str, by: str = "citizen",
               now: Optional[dt.datetime] = None) -> Optional[Ticket]:
        """Withdraw a queued request (cancelled) or leave an active one (closed)."""
        ticket = self.ticket_for(conversation_id)
        if ticket is None:
            return None
        status = "cancelled" if ticket.status == "queued" else "closed"
        return self._finish(ticket, status, by, now)

    # --- the operator's side -----------------------------------------------

    def take(self, ticket_id: int, operator: str, now: Optional[dt.datetime] = None) -> Ticket:
        """The operator has the conversation; AlreadyTaken if someone else was first."""
        operator = (operator or "").strip()
        if not operator:
            raise HandoffError("Thiếu tên cán bộ nhận yêu cầu.")
        now = _now(now)
        with self._sessions.begin() as session:
            done = session.execute(
                update(HandoffRequest)
                .where(HandoffRequest.id == ticket_id, HandoffRequest.status == "queued")
                .values(status="active", taken_at=now, taken_by=operator[:64],
                        last_activity_at=now)
            ).rowcount
        ticket = self.get(ticket_id)
        if done or (ticket.status == "active" and ticket.taken_by == operator[:64]):
            return ticket
        if ticket.status == "active":
            raise AlreadyTaken(f"Yêu cầu số {ticket_id} đã được cán bộ {ticket.taken_by} nhận.")
        raise HandoffError(f"Yêu cầu số {ticket_id} đã kết thúc, không nhận được nữa.")

    def touch(self, ticket_id: int, now: Optional[dt.datetime] = None) -> None:
        """A message from either side: the idle timeout starts again."""
        with self._sessions.begin() as session:
            session.execute(
                update(HandoffRequest)
                .where(HandoffRequest.id == ticket_id,
                       HandoffRequest.status.in_(OPEN_STATUSES))
                .values(last_activity_at=_now(now))
            )

    def end(self, ticket: Union[int, str], by: str,
            now: Optional[dt.datetime] = None) -> Optional[Ticket]:
        """Close a ticket (by id) or a conversation's open ticket (by conversation id).

        Returns the closed ticket, or None when there was nothing open to end.
        """
        if isinstance(ticket, int):
            current = self.get(ticket)
            if not current.is_open:
                return None
        else:
            current = self.ticket_for(ticket)
            if current is None:
                return None
        status = "closed" if current.status == "active" else "cancelled"
        return self._finish(current, status, by, now)

    def queued(self) -> List[Ticket]:
        return self._list(HandoffRequest.status == "queued")

    def active(self, operator: Optional[str] = None) -> List[Ticket]:
        condition = HandoffRequest.status == "active"
        if operator:
            condition = and_(condition, HandoffRequest.taken_by == operator)
        return self._list(condition)

    def expire(self, now: Optional[dt.datetime] = None) -> List[Ticket]:
        """Close active tickets idle past the timeout, drop queued ones past the limit."""
        now = _now(now)
        idle = now - dt.timedelta(minutes=self.config.idle_timeout_minutes)
        stale = now - dt.timedelta(minutes=self.config.queued_limit_minutes)
        expired = self._list(or_(
            and_(HandoffRequest.status == "active", HandoffRequest.last_activity_at < idle),
            and_(HandoffRequest.status == "queued", HandoffRequest.created_at < stale),
        ))
        ended = []
        for ticket in expired:
            status = "closed" if ticket.status == "active" else "cancelled"
            done = self._finish(ticket, status, "timeout", now)
            if done is not None:
                ended.append(done)
        return ended

    # --- callbacks -----------------------------------------------------------

    def add_callback(self, conversation_id: str, channel: Optional[str], contact_kind: str,
                     phone: Optional[str] = None, question: Optional[str] = None,
                     procedure: Optional[str] = None,
                     now: Optional[dt.datetime] = None) -> Callback:
        if contact_kind not in CONTACT_KINDS:
            raise HandoffError(f"Cách liên hệ không hợp lệ: {contact_kind}.")
        number = None
        if contact_kind == "phone":
            number = normalize_phone(phone or "")
            if number is None:
                raise HandoffError("Số điện thoại không hợp lệ.")
        with self._sessions.begin() as session:
            # One pending callback per conversation: asking again replaces it.
            session.execute(delete(HandoffCallback).where(
                HandoffCallback.conversation_id == conversation_id))
            row = HandoffCallback(
                conversation_id=conversation_id,
                channel=channel or _channel_of(conversation_id),
                contact_kind=contact_kind, phone=number,
                question=redact((question or "").strip()[:MAX_QUESTION]) or None,
                procedure=procedure, created_at=_now(now),
            )
            session.add(row)
            session.flush()
            return Callback.of(row)

    def callbacks(self) -> List[Callback]:
        with self._sessions() as session:
            rows = session.scalars(select(HandoffCallback).order_by(HandoffCallback.created_at,
                                                                    HandoffCallback.id)).all()
            return [Callback.of(row) for row in rows]

    def callback_phone(self, callback_id: int) -> Optional[str]:
        """The whole number, for the operator who opens the callback (the caller audits it)."""
        with self._sessions() as session:
            row = session.get(HandoffCallback, callback_id)
            if row is None:
                raise HandoffNotFound(f"Không có yêu cầu gọi lại số {callback_id}.")
            return row.phone

    def callback_done(self, callback_id: int) -> bool:
        """Delete the callback, and with it the number; False if it was gone already."""
        with self._sessions.begin() as session:
            return bool(session.execute(
                delete(HandoffCallback).where(HandoffCallback.id == callback_id)).rowcount)

    # --- analytics -----------------------------------------------------------

    def finished(self, since: Optional[dt.datetime] = None,
                 until: Optional[dt.datetime] = None) -> List[Ticket]:
        """Tickets created in [since, until), all statuses, oldest first."""
        conditions = []
        if since:
            conditions.append(HandoffRequest.created_at >= as_utc(since))
        if until:
            conditions.append(HandoffRequest.created_at < as_utc(until))
        return self._list(and_(true(), *conditions))

    def stats(self, since: Optional[dt.datetime] = None,
              until: Optional[dt.datetime] = None) -> HandoffStats:
        """Waiting time is taken_at - created_at, handling time ended_at - taken_at."""
        tickets = self.finished(since, until)
        per_day: Dict[dt.date, int] = {}
        for ticket in tickets:
            day = local_date(ticket.created_at)
            per_day[day] = per_day.get(day, 0) + 1
        return HandoffStats(
            requested=len(tickets),
            taken=sum(1 for t in tickets if t.taken_at),
            cancelled=sum(1 for t in tickets if t.status == "cancelled" and t.ended_by != "timeout"),
            timed_out=sum(1 for t in tickets if t.ended_by == "timeout"),
            median_waiting_seconds=_median([t.waiting_seconds for t in tickets
                                            if t.waiting_seconds is not None]),
            median_handling_seconds=_median([t.handling_seconds for t in tickets
                                             if t.handling_seconds is not None]),
            per_day=dict(sorted(per_day.items())),
        )

    # --- internals -------------------------------------------------------------

    @staticmethod
    def _open(conversation_id: str):
        return (select(HandoffRequest)
                .where(HandoffRequest.conversation_id == conversation_id,
                       HandoffRequest.status.in_(OPEN_STATUSES))
                .order_by(HandoffRequest.created_at, HandoffRequest.id))

    def _list(self, condition) -> List[Ticket]:
        with self._sessions() as session:
            rows = session.scalars(select(HandoffRequest).where(condition)
                                   .order_by(HandoffRequest.created_at, HandoffRequest.id)).all()
            return [Ticket.of(row) for row in rows]

    def _finish(self, ticket: Ticket, status: str, by: str,
                now: Optional[dt.datetime]) -> Optional[Ticket]:
        if by not in ENDED_BY:
            raise HandoffError(f"Người kết thúc không hợp lệ: {by}.")
        now = _now(now)
        with self._sessions.begin() as session:
            done = session.execute(
                update(HandoffRequest)
                .where(HandoffRequest.id == ticket.id, HandoffRequest.status == ticket.status)
                .values(status=status, ended_at=now, ended_by=by, last_activity_at=now)
            ).rowcount
        return self.get(ticket.id) if done else None
