"""What the handoff queue hands out: tickets, callback requests, figures, errors.

Plain frozen values built from the rows (dichvucong/handoff/models.py), so the
console, the actions and the CLI never hold an ORM object or a session.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Dict, Optional

from dichvucong.handoff.models import OPEN_STATUSES, HandoffCallback, HandoffRequest
from dichvucong.privacy import mask_digits


class HandoffError(ValueError):
    """A request the queue refuses; the message is Vietnamese, shown to staff as is."""


class HandoffNotFound(HandoffError):
    pass


class AlreadyTaken(HandoffError):
    pass


@dataclasses.dataclass(frozen=True)
class Ticket:
    id: int
    conversation_id: str
    channel: str
    status: str
    reason: str
    question: Optional[str]
    procedure: Optional[str]
    locality: Optional[str]
    created_at: dt.datetime
    taken_at: Optional[dt.datetime]
    taken_by: Optional[str]
    ended_at: Optional[dt.datetime]
    ended_by: Optional[str]
    last_activity_at: dt.datetime

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def waiting_seconds(self) -> Optional[float]:
        return (self.taken_at - self.created_at).total_seconds() if self.taken_at else None

    @property
    def handling_seconds(self) -> Optional[float]:
        if self.taken_at and self.ended_at:
            return (self.ended_at - self.taken_at).total_seconds()
        return None

    @classmethod
    def of(cls, row: HandoffRequest) -> Ticket:
        return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class Callback:
    """A callback request as staff lists see it: the number masked."""

    id: int
    conversation_id: str
    channel: str
    contact_kind: str
    phone_masked: Optional[str]
    question: Optional[str]
    procedure: Optional[str]
    created_at: dt.datetime

    @classmethod
    def of(cls, row: HandoffCallback) -> Callback:
        return cls(
            id=row.id, conversation_id=row.conversation_id, channel=row.channel,
            contact_kind=row.contact_kind,
            phone_masked=mask_digits(row.phone) if row.phone else None,
            question=row.question, procedure=row.procedure, created_at=row.created_at,
        )


@dataclasses.dataclass(frozen=True)
class HandoffStats:
    requested: int
    taken: int
    cancelled: int
    timed_out: int
    median_waiting_seconds: Optional[float]
    median_handling_seconds: Optional[float]
    per_day: Dict[dt.date, int]
