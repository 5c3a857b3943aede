"""Who follows which dossier, and which notices have already gone out.

Subscriptions are per channel and recipient; the notifications table makes
every notice (status change, overdue, stalled) go out at most once.
"""

from __future__ import annotations

import datetime as dt
from typing import List, Tuple, Union

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dichvucong.dossiers.models import (
    NOTIFICATION_KINDS,
    Dossier,
    Notification,
    StatusEvent,
    Subscription,
    as_utc,
    utcnow,
)
from dichvucong.dossiers.store.base import find, get_or_raise, ref_id
from dichvucong.dossiers.store.dossiers import DossierRecords
from dichvucong.dossiers.store.validation import DossierError, require_channel, require_code
from dichvucong.settings import settings

Reminder = Tuple[Dossier, Subscription, str]
DossierRef = Union[Dossier, int]


class Subscriptions(DossierRecords):
    # --- subscriptions -------------------------------------------------------

    def subscribe(
        self, code: str, channel: str, recipient_id: str, now: dt.datetime | None = None
    ) -> Subscription:
        """Follow a dossier on a channel; subscribing twice keeps one active subscription."""
        canonical = require_code(code)
        channel = require_channel(channel)
        recipient_id = (recipient_id or "").strip()
        if not recipient_id:
            raise DossierError("Thiếu mã người nhận thông báo.")
        for attempt in range(2):
            try:
                with self._sessions.begin() as session:
                    dossier = get_or_raise(session, canonical)
                    row = session.execute(
                        select(Subscription).where(
                            Subscription.dossier_id == dossier.id,
                            Subscription.channel == channel,
                            Subscription.recipient_id == recipient_id,
                        )
                    ).scalar_one_or_none()
                    if row is None:
                        row = Subscription(
                            dossier=dossier,
                            channel=channel,
                            recipient_id=recipient_id,
                            created_at=as_utc(now) if now else utcnow(),
                            active=True,
                        )
                        session.add(row)
                    row.active = True
                return row
            except IntegrityError:
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def unsubscribe(self, code: str | None, channel: str, recipient_id: str) -> int:
        """Stop notices for one dossier, or for all of them when ``code`` is None.

        Returns how many subscriptions were active and are now stopped.
        """
        channel = require_channel(channel)
        query = select(Subscription).where(
            Subscription.channel == channel,
            Subscription.recipient_id == (recipient_id or "").strip(),
            Subscription.active.is_(True),
        )
        with self._sessions.begin() as session:
            if code is not None:
                dossier = find(session, require_code(code))
                if dossier is None:
                    return 0
                query = query.where(Subscription.dossier_id == dossier.id)
            rows = list(session.execute(query).scalars())
            for row in rows:
                row.active = False
        return len(rows)

    def subscribers(self, code: str) -> List[Subscription]:
        """Active subscriptions of a dossier, oldest first."""
        canonical = require_code(code)
        with self._sessions() as session:
            dossier = get_or_raise(session, canonical)
            return list(
                session.execute(
                    select(Subscription)
                    .where(Subscription.dossier_id == dossier.id, Subscription.active.is_(True))
                    .order_by(Subscription.created_at, Subscription.id)
                ).scalars()
            )

    def subscriptions_for(self, channel: str, recipient_id: str) -> List[Subscription]:
        """Active subscriptions of one person on one channel (each with ``.dossier``)."""
        channel = require_channel(channel)
        with self._sessions() as session:
            return list(
                session.execute(
                    select(Subscription)
                    .where(
                        Subscription.channel == channel,
                        Subscription.recipient_id == (recipient_id or "").strip(),
                        Subscription.active.is_(True),
                    )
                    .order_by(Subscription.created_at, Subscription.id)
                ).scalars()
            )

    # --- notifications -------------------------------------------------------

    def pending_reminders(
        self, today: dt.date | None = None, days: int | None = None
    ) -> List[Reminder]:
        """(dossier, subscription, kind) for overdue and stalled notices not yet sent.

        An overdue notice goes out once per subscription. A stalled notice goes
        out once per subscription and per status: if the status changes and the
        dossier stalls again, it is due again. An overdue dossier is not also
        reported as stalled.
        """
        today = today or settings().today()
        overdue = self.overdue(today)
        overdue_ids = {dossier.id for dossier in overdue}
        stalled = [d for d in self.stalled(today, days) if d.id not in overdue_ids]
        reminders: List[Reminder] = []
        with self._sessions() as session:
            for kind, dossiers in (("overdue", overdue), ("stalled", stalled)):
                for dossier in dossiers:
                    event_id = _latest_event_id(session, dossier.id) if kind == "stalled" else None
                    for subscription in _active_subscriptions(session, dossier.id):
                        if not _notified(session, subscription.id, kind, event_id):
                            reminders.append((dossier, subscription, kind))
        return reminders

    def mark_notified(
        self,
        dossier: DossierRef,
        subscription: Union[Subscription, int],
        kind: str,
        event: Union[StatusEvent, int, None] = None,
        at: dt.datetime | None = None,
    ) -> Notification:
        """Record that a notice went out; recording the same notice twice is harmless."""
        if kind not in NOTIFICATION_KINDS:
            raise DossierError(f"Loại thông báo “{kind}” không hợp lệ.")
        dossier_id = ref_id(dossier)
        subscription_id = ref_id(subscription)
        with self._sessions.begin() as session:
            if kind == "overdue":
                event_id = None
            elif event is not None:
                event_id = ref_id(event)
            elif kind == "stalled":
                event_id = _latest_event_id(session, dossier_id)
            else:
                raise DossierError("Thông báo đổi trạng thái phải gắn với một lần cập nhật.")
            existing = _notified(session, subscription_id, kind, event_id)
            if existing is not None:
                return existing
            row = Notification(
                dossier_id=dossier_id,
                subscription_id=subscription_id,
                kind=kind,
                event_id=event_id,
                sent_at=as_utc(at) if at else utcnow(),
            )
            session.add(row)
        return row

    def was_notified(
        self,
        subscription: Union[Subscription, int],
        kind: str,
        event: Union[StatusEvent, int, None] = None,
    ) -> bool:
        with self._sessions() as session:
            event_id = None if event is None else ref_id(event)
            return _notified(session, ref_id(subscription), kind, event_id) is not None


def _latest_event_id(session: Session, dossier_id: int) -> int | None:
    return session.execute(
        select(StatusEvent.id)
        .where(StatusEvent.dossier_id == dossier_id)
        .order_by(StatusEvent.at.desc(), StatusEvent.id.desc())
        .limit(1)
    ).scalar()


def _active_subscriptions(session: Session, dossier_id: int) -> List[Subscription]:
    return list(
        session.execute(
            select(Subscription)
            .where(Subscription.dossier_id == dossier_id, Subscription.active.is_(True))
            .order_by(Subscription.id)
        ).scalars()
    )


def _notified(
    session: Session, subscription_id: int, kind: str, event_id: int | None
) -> Notification | None:
    query = select(Notification).where(
        Notification.subscription_id == subscription_id, Notification.kind == kind
    )
    if kind != "overdue":
        query = query.where(
            Notification.event_id.is_(None)
            if event_id is None
            else Notification.event_id == event_id
        )
    return session.execute(query.limit(1)).scalar_one_or_none()
