"""Console tables (users, sessions, login attempts, annotations, model versions,
training jobs, the audit log, conversation tags) in the same database as the dossier store.

They share the dossier store's declarative ``Base`` so that one metadata
describes the whole database that the Alembic migrations build; the schema is
created only by ``migrations/versions/0002_console.py``.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    inspect,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, relationship, sessionmaker

from dichvucong.dossiers.models import Base, UTCDateTime, utcnow
from dichvucong.dossiers.store import make_engine, migrate

ROLES = ("reviewer", "trainer", "operator")
ROLE_LABELS = {
    "reviewer": "Người duyệt",
    "trainer": "Người huấn luyện",
    "operator": "Cán bộ trả lời người dân",
}
# Who takes handoff tickets and writes to citizens (bot.console.handoff). Trainers are
# not in it: answering citizens and reading callback numbers is a job of its own,
# audited per person; a trainer who also answers gets a second, operator account.
OPERATOR_ROLES = frozenset({"operator"})
DECISIONS = ("confirmed", "corrected", "noise")
DECISION_LABELS = {"confirmed": "Xác nhận", "corrected": "Đã sửa", "noise": "Nhiễu"}
VERSION_STATUSES = ("candidate", "active", "retired", "discarded")
VERSION_LABELS = {
    "candidate": "Ứng viên",
    "active": "Đang dùng",
    "retired": "Đã thay thế",
    "discarded": "Đã bỏ",
}
# What a reviewer says should happen after reading a conversation (``bot.console.quality``).
FOLLOW_UPS = ("update_knowledge", "add_training", "contact_citizen", "none")
JOB_STATUSES = ("queued", "running", "done", "failed")
JOB_LABELS = {
    "queued": "Đang chờ",
    "running": "Đang chạy",
    "done": "Hoàn tất",
    "failed": "Thất bại",
}


def _in(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


class ConsoleUser(Base):
    __tablename__ = "console_users"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    last_login_at = Column(UTCDateTime(), nullable=True)

    __table_args__ = (CheckConstraint(f"role IN ({_in(ROLES)})", name="role"),)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def is_trainer(self) -> bool:
        return self.role == "trainer"

    @property
    def is_operator(self) -> bool:
        return self.role in OPERATOR_ROLES


class ConsoleSession(Base):
    __tablename__ = "console_sessions"

    id = Column(Integer, primary_key=True)
    # Only a digest of the cookie is stored: a copy of the database does not
    # let anyone take over a live session.
    token_hash = Column(String(64), nullable=False, unique=True)
    user_id = Column(
        Integer, ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False)
    last_seen_at = Column(UTCDateTime(), nullable=False)
    expires_at = Column(UTCDateTime(), nullable=False)
    # Messages shown once on the next page ("Đã lưu…"), kept server-side.
    flash = Column(JSON, nullable=True)

    user = relationship(ConsoleUser, lazy="joined", innerjoin=True)


class Annotation(Base):
    __tablename__ = "console_annotations"

    id = Column(Integer, primary_key=True)
    # The row id of the user event in the tracker store's ``events`` table.
    event_id = Column(Integer, nullable=False, unique=True)
    conversation_key = Column(Integer, nullable=False)
    message_at = Column(UTCDateTime(), nullable=False)
    # Already masked: the console database never holds the personal numbers
    # a citizen may have typed.
    text = Column(Text, nullable=False)
    predicted_intent = Column(String(100), nullable=True)
    confidence = Column(Float, nullable=True)
    reasons = Column(String(100), nullable=False, default="")
    decision = Column(String(16), nullable=False)
    intent = Column(String(100), nullable=True)
    procedure = Column(String(40), nullable=True)
    reviewer_id = Column(
        Integer, ForeignKey("console_users.id", ondelete="SET NULL"), nullable=True
    )
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    exported_at = Column(UTCDateTime(), nullable=True)

    reviewer = relationship(ConsoleUser, lazy="joined")

    __table_args__ = (CheckConstraint(f"decision IN ({_in(DECISIONS)})", name="decision"),)

    @property
    def decision_label(self) -> str:
        return DECISION_LABELS.get(self.decision, self.decision)


class TrainingJob(Base):
    __tablename__ = "console_training_jobs"

    id = Column(Integer, primary_key=True)
    kind = Column(String(32), nullable=False, default="train_compare")
    status = Column(String(16), nullable=False, default="queued")
    stage = Column(String(200), nullable=False, default="")
    progress = Column(Integer, nullable=False, default=0)
    version = Column(String(64), nullable=True)
    created_by = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    started_at = Column(UTCDateTime(), nullable=True)
    finished_at = Column(UTCDateTime(), nullable=True)
    heartbeat_at = Column(UTCDateTime(), nullable=True)
    # Which process runs the job, to tell a live job from one whose console died.
    host = Column(String(200), nullable=True)
    pid = Column(Integer, nullable=True)
    log_tail = Column(Text, nullable=True)
    error = Column(Text, nullable=True)
    result = Column(JSON, nullable=True)

    __table_args__ = (CheckConstraint(f"status IN ({_in(JOB_STATUSES)})", name="status"),)

    @property
    def status_label(self) -> str:
        return JOB_LABELS.get(self.status, self.status)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


class ModelVersion(Base):
    __tablename__ = "console_model_versions"

    id = Column(String(64), primary_key=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    created_by = Column(String(64), nullable=False)
    job_id = Column(
        Integer, ForeignKey("console_training_jobs.id", ondelete="SET NULL"), nullable=True
    )
    status = Column(String(16), nullable=False)
    path = Column(String(500), nullable=False)
    sha256 = Column(String(64), nullable=True)
    metrics = Column(JSON, nullable=True)
    promoted_at = Column(UTCDateTime(), nullable=True)
    promoted_by = Column(String(64), nullable=True)
    note = Column(Text, nullable=True)

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(VERSION_STATUSES)})", name="status"),
    )

    @property
    def status_label(self) -> str:
        return VERSION_LABELS.get(self.status, self.status)


class AuditEntry(Base):
    """One staff action in the console: who, what, on what, when, from where."""

    __tablename__ = "console_audit"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime(), nullable=False, default=utcnow)
    # The account name as typed for a failed login (no account may exist).
    username = Column(String(64), nullable=False)
    action = Column(String(32), nullable=False)
    target = Column(String(200), nullable=True)
    address = Column(String(64), nullable=True)

    __table_args__ = (Index("ix_console_audit_at", "at"),)


class ConversationTag(Base):
    """A reviewer's judgement of one whole conversation: theme, answer quality, follow-up.

    Keyed by a SHA-256 digest of the tracker's sender id, so that the tag is found
    whatever date range a list scans (a conversation's key is the first event the
    scan sees); ``conversation_key`` is kept to link back to the transcript.
    The quality levels are configurable (``quality.yml``), hence no CHECK on them.
    """

    __tablename__ = "console_conversation_tags"

    id = Column(Integer, primary_key=True)
    sender_digest = Column(String(64), nullable=False, unique=True)
    conversation_key = Column(Integer, nullable=False)
    theme = Column(String(100), nullable=False)
    quality = Column(String(32), nullable=False)
    follow_up = Column(String(32), nullable=False)
    # The procedure whose knowledge-base file a follow-up concerns (slot ``procedure``).
    procedure = Column(String(40), nullable=True)
    tagged_by = Column(
        Integer, ForeignKey("console_users.id", ondelete="SET NULL"), nullable=True
    )
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    tagger = relationship(ConsoleUser, lazy="joined")

    __table_args__ = (
        CheckConstraint(f"follow_up IN ({_in(FOLLOW_UPS)})", name="follow_up"),
    )


class Database:
    """Engine and short transactions for the console tables."""

    def __init__(self, url: str, *, auto_migrate: bool = False) -> None:
        self.url = url
        if auto_migrate:
            migrate(url)
        self.engine: Engine = make_engine(url)
        self._sessions = sessionmaker(bind=self.engine, future=True, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def schema_ready(self) -> bool:
        return inspect(self.engine).has_table(ConsoleUser.__tablename__)

    def dispose(self) -> None:
        self.engine.dispose()


def now() -> dt.datetime:
    return utcnow()
