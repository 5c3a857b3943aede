"""Staff console: users, sessions, login attempts, annotations, training jobs, model versions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 00:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of bot/console/db.py's value lists: a later change there must
# come with its own migration.
ROLES = ("reviewer", "trainer")
DECISIONS = ("confirmed", "corrected", "noise")
VERSION_STATUSES = ("candidate", "active", "retired", "discarded")
JOB_STATUSES = ("queued", "running", "done", "failed")


def _in(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("last_login_at", _utc(), nullable=True),
        sa.CheckConstraint(f"role IN ({_in(ROLES)})", name=op.f("ck_console_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_users")),
        sa.UniqueConstraint("username", name=op.f("uq_console_users_username")),
    )

    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("flash", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["console_users.id"],
            name=op.f("fk_console_sessions_user_id_console_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_console_sessions_token_hash")),
    )
    op.create_index(op.f("ix_console_sessions_user_id"), "console_sessions", ["user_id"])

    op.create_table(
        "console_login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", _utc(), nullable=False),
        sa.Column("locked_until", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_login_attempts")),
        sa.UniqueConstraint("key", name=op.f("uq_console_login_attempts_key")),
    )

    op.create_table(
        "console_annotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("conversation_key", sa.Integer(), nullable=False),
        sa.Column("message_at", _utc(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("predicted_intent", sa.String(length=100), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("reasons", sa.String(length=100), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("intent", sa.String(length=100), nullable=True),
        sa.Column("procedure", sa.String(length=40), nullable=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("exported_at", _utc(), nullable=True),
        sa.CheckConstraint(
            f"decision IN ({_in(DECISIONS)})", name=op.f("ck_console_annotations_decision")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["console_users.id"],
            name=op.f("fk_console_annotations_reviewer_id_console_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_annotations")),
        sa.UniqueConstraint("event_id", name=op.f("uq_console_annotations_event_id")),
    )

    op.create_table(
        "console_training_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("started_at", _utc(), nullable=True),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("heartbeat_at", _utc(), nullable=True),
        sa.Column("host", sa.String(length=200), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("log_tail", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            f"status IN ({_in(JOB_STATUSES)})", name=op.f("ck_console_training_jobs_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_training_jobs")),
    )

    op.create_table(
        "console_model_versions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("promoted_at", _utc(), nullable=True),
        sa.Column("promoted_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            f"status IN ({_in(VERSION_STATUSES)})",
            name=op.f("ck_console_model_versions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["console_training_jobs.id"],
            name=op.f("fk_console_model_versions_job_id_console_training_jobs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_model_versions")),
    )


def downgrade() -> None:
    op.drop_table("console_model_versions")
    op.drop_table("console_training_jobs")
    op.drop_table("console_annotations")
    op.drop_table("console_login_attempts")
    op.drop_index(op.f("ix_console_sessions_user_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
