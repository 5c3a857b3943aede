"""Database schema of the dossier store (SQLAlchemy declarative, 2.0 style).

The schema itself is created and changed only by the Alembic migrations in
``migrations/``; these classes must stay in step with them (a test compares
the two).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Dict

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

# Explicit constraint names keep migrations reproducible across SQLite and
# PostgreSQL and let later migrations drop constraints by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

# Vietnam has had no daylight saving since 1975: a fixed offset is exact.
VIETNAM_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
    return value.astimezone(dt.timezone.utc)


def local_date(value: dt.datetime) -> dt.date:
    """The calendar date in Vietnam of an instant: what "days" mean to citizens."""
    return as_utc(value).astimezone(VIETNAM_TZ).date()


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on the way in and out, on every backend.

    SQLite has no timezone type and hands back naive values; PostgreSQL hands
    them back in the session's time zone. Both become aware UTC here.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Status(str, enum.Enum):
    received = "received"
    processing = "processing"
    needs_supplement = "needs_supplement"
    result_ready = "result_ready"
    returned = "returned"
    rejected = "rejected"


STATUS_LABELS: Dict[str, str] = {
    Status.received.value: "Đã tiếp nhận",
    Status.processing.value: "Đang xử lý",
    Status.needs_supplement.value: "Chờ bổ sung",
    Status.result_ready.value: "Đã có kết quả, chờ trả",
    Status.returned.value: "Đã trả kết quả",
    Status.rejected.value: "Từ chối giải quyết",
}
STATUSES = tuple(status.value for status in Status)
FINAL_STATUSES = frozenset({Status.returned.value, Status.rejected.value})
# Statuses in which the office is still working against the due date. While a
# dossier waits for the citizen's supplement the legal clock is paused, and
# once the result is ready the office has met its deadline.
RUNNING_STATUSES = frozenset({Status.received.value, Status.processing.value})
OPEN_STATUSES = frozenset(STATUSES) - FINAL_STATUSES

NOTIFICATION_KINDS = ("status", "overdue", "stalled")


def _in(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


class Dossier(Base):
    __tablename__ = "dossiers"

    id = Column(Integer, primary_key=True)
    code = Column(String(40), nullable=False, unique=True, index=True)
    procedure_id = Column(String(40), nullable=False, index=True)
    applicant_name = Column(String(200), nullable=False)
    id_digest = Column(String(64), nullable=False)
    id_last4_digest = Column(String(64), nullable=False)
    phone_digest = Column(String(64), nullable=True)
    phone_last4_digest = Column(String(64), nullable=True)
    receiving_agency = Column(String(300), nullable=False)
    received_at = Column(Date, nullable=False)
    due_at = Column(Date, nullable=False)
    status = Column(String(32), nullable=False, index=True)
    updated_at = Column(UTCDateTime(), nullable=False)

    __table_args__ = (CheckConstraint(f"status IN ({_in(STATUSES)})", name="status"),)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def __repr__(self) -> str:
        return f"<Dossier {self.code} {self.status}>"


class StatusEvent(Base):
    __tablename__ = "status_events"

    id = Column(Integer, primary_key=True)
    dossier_id = Column(Integer, ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False)
    status = Column(String(32), nullable=False)
    at = Column(UTCDateTime(), nullable=False)
    actor = Column(String(200), nullable=True)
    office = Column(String(300), nullable=True)
    reason = Column(Text, nullable=True)
    missing_items = Column(JSON, nullable=True)
    instructions = Column(Text, nullable=True)

    # Joined so that an event handed to the notifier still knows its dossier
    # after the session that loaded it has closed.
    dossier = relationship(Dossier, lazy="joined", innerjoin=True)

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(STATUSES)})", name="status"),
        Index("ix_status_events_dossier_id_at", "dossier_id", "at"),
    )

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def __repr__(self) -> str:
        return f"<StatusEvent {self.dossier_id} {self.status} {self.at:%Y-%m-%d %H:%M}>"


class Subscription(Base):
    __tablename__ = "subscriptions"

    id = Column(Integer, primary_key=True)
    dossier_id = Column(Integer, ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False)
    channel = Column(String(32), nullable=False)
    recipient_id = Column(String(200), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False)
    active = Column(Boolean, nullable=False, default=True)

    dossier = relationship(Dossier, lazy="joined", innerjoin=True)

    __table_args__ = (UniqueConstraint("dossier_id", "channel", "recipient_id"),)

    def __repr__(self) -> str:
        return f"<Subscription {self.dossier_id} {self.channel}:{self.recipient_id}>"


class ThrottleScope(Base):
    """Failed attempts against one key ("conv:<id>", "code:<code>", "login:<user>").

    ``failures`` counts the current streak (reset by a lock or a success), ``locks``
    how often the key was locked in the current month window (each lock lasts
    twice the one before), and the day and month counters bound how many
    guesses a key can take whatever the streaks (see ``dichvucong.throttle``).
    """

    __tablename__ = "throttle_scopes"

    id = Column(Integer, primary_key=True)
    scope = Column(String(300), nullable=False, unique=True)
    failures = Column(Integer, nullable=False, default=0)
    window_started_at = Column(UTCDateTime(), nullable=False)
    locked_until = Column(UTCDateTime(), nullable=True)
    locks = Column(Integer, nullable=False, default=0)
    day_started_at = Column(UTCDateTime(), nullable=False)
    day_failures = Column(Integer, nullable=False, default=0)
    month_started_at = Column(UTCDateTime(), nullable=False)
    month_failures = Column(Integer, nullable=False, default=0)


class Notification(Base):
    __tablename__ = "notifications"

    id = Column(Integer, primary_key=True)
    dossier_id = Column(Integer, ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False)
    subscription_id = Column(
        Integer, ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False
    )
    kind = Column(String(16), nullable=False)
    event_id = Column(Integer, ForeignKey("status_events.id", ondelete="CASCADE"), nullable=True)
    sent_at = Column(UTCDateTime(), nullable=False)

    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(NOTIFICATION_KINDS)})", name="kind"),
        Index("ix_notifications_subscription_id_kind", "subscription_id", "kind"),
    )


class ChannelDelivery(Base):
    """A platform delivery already accepted (``dichvucong.deliveries``).

    Telegram and Zalo resend what they think was lost; a key here (a message
    or update id, or a digest of the event) means "answered already", for
    every replica and across restarts. Rows older than the platforms' retry
    schedule are pruned.
    """

    __tablename__ = "channel_deliveries"

    id = Column(Integer, primary_key=True)
    key = Column(String(300), nullable=False, unique=True)
    channel = Column(String(32), nullable=False)
    seen_at = Column(UTCDateTime(), nullable=False, index=True)
