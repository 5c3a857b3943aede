"""Tables of the live handoff, in the dossier database (same metadata as the dossiers).

Living next to the dossiers means one URL (SQLite by default, PostgreSQL for
replicas) holds the queue, so every Rasa replica, the action server and the
staff console see the same tickets, and they survive restarts.
"""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Index, Integer, String, Text

from dichvucong.dossiers.models import Base, UTCDateTime

STATUSES = ("queued", "active", "closed", "cancelled")
OPEN_STATUSES = ("queued", "active")
REASONS = ("asked", "failed_twice")
ENDED_BY = ("citizen", "operator", "timeout")
CONTACT_KINDS = ("phone", "reply_here")


def _in(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


class HandoffRequest(Base):
    __tablename__ = "handoff_requests"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(200), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False, index=True)
    reason = Column(String(16), nullable=False)
    # Masked with dichvucong.privacy before it is stored.
    question = Column(Text, nullable=True)
    procedure = Column(String(40), nullable=True)
    locality = Column(String(200), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False)
    taken_at = Column(UTCDateTime(), nullable=True)
    taken_by = Column(String(64), nullable=True)
    ended_at = Column(UTCDateTime(), nullable=True)
    ended_by = Column(String(16), nullable=True)
    last_activity_at = Column(UTCDateTime(), nullable=False)

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(STATUSES)})", name="status"),
        CheckConstraint(f"reason IN ({_in(REASONS)})", name="reason"),
        CheckConstraint(f"ended_by IS NULL OR ended_by IN ({_in(ENDED_BY)})", name="ended_by"),
        Index("ix_handoff_requests_status_created_at", "status", "created_at"),
    )


class HandoffCallback(Base):
    """A callback asked for out of office hours; the row goes once it is done.

    The phone number is stored here only (never in the tracker nor the logs)
    and only until an operator has called back.
    """

    __tablename__ = "handoff_callbacks"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(200), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    contact_kind = Column(String(16), nullable=False)
    phone = Column(String(16), nullable=True)
    question = Column(Text, nullable=True)
    procedure = Column(String(40), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False)
    done_at = Column(UTCDateTime(), nullable=True)

    __table_args__ = (
        CheckConstraint(f"contact_kind IN ({_in(CONTACT_KINDS)})", name="contact_kind"),
    )
