"""One throttle table (lookups and console logins), growing locks, caps; namespaced subscribers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 00:00:00+00:00

``lookup_failures`` held only short-lived lock counters: it is replaced, not
copied. Subscriptions made before conversation ids carried their channel
("42" on Telegram is now "telegram:42") are renamed so notices still arrive.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "throttle_scopes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", _utc(), nullable=False),
        sa.Column("locked_until", _utc(), nullable=True),
        sa.Column("locks", sa.Integer(), nullable=False),
        sa.Column("day_started_at", _utc(), nullable=False),
        sa.Column("day_failures", sa.Integer(), nullable=False),
        sa.Column("month_started_at", _utc(), nullable=False),
        sa.Column("month_failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throttle_scopes")),
        sa.UniqueConstraint("scope", name=op.f("uq_throttle_scopes_scope")),
    )
    op.drop_table("lookup_failures")
    # The console's login throttle now uses throttle_scopes too ("user:", "ip:").
    op.drop_table("console_login_attempts")
    op.execute(
        "UPDATE subscriptions SET recipient_id = channel || ':' || recipient_id "
        "WHERE recipient_id NOT LIKE channel || ':%'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE subscriptions SET recipient_id = substr(recipient_id, length(channel) + 2) "
        "WHERE recipient_id LIKE channel || ':%'"
    )
    op.create_table(
        "lookup_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", _utc(), nullable=False),
        sa.Column("locked_until", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lookup_failures")),
        sa.UniqueConstraint("scope", name=op.f("uq_lookup_failures_scope")),
    )
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
    op.drop_table("throttle_scopes")
