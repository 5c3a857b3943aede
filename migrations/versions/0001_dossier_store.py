"""Dossier store: dossiers, status history, subscriptions, lookup lockout, notices.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 00:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Names are wrapped in op.f(): they are final, and the models' naming
# convention must not be applied to them a second time.
# Frozen copies: a later change to the models must come with its own migration
# rather than silently rewrite this one.
STATUSES = ("received", "processing", "needs_supplement", "result_ready", "returned", "rejected")
NOTIFICATION_KINDS = ("status", "overdue", "stalled")


def _in(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("procedure_id", sa.String(length=40), nullable=False),
        sa.Column("applicant_name", sa.String(length=200), nullable=False),
        sa.Column("id_digest", sa.String(length=64), nullable=False),
        sa.Column("id_last4_digest", sa.String(length=64), nullable=False),
        sa.Column("phone_digest", sa.String(length=64), nullable=True),
        sa.Column("phone_last4_digest", sa.String(length=64), nullable=True),
        sa.Column("receiving_agency", sa.String(length=300), nullable=False),
        sa.Column("received_at", sa.Date(), nullable=False),
        sa.Column("due_at", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint(f"status IN ({_in(STATUSES)})", name=op.f("ck_dossiers_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossiers")),
    )
    op.create_index(op.f("ix_dossiers_code"), "dossiers", ["code"], unique=True)
    op.create_index(op.f("ix_dossiers_procedure_id"), "dossiers", ["procedure_id"])
    op.create_index(op.f("ix_dossiers_status"), "dossiers", ["status"])

    op.create_table(
        "status_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("office", sa.String(length=300), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("missing_items", sa.JSON(), nullable=True),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.CheckConstraint(f"status IN ({_in(STATUSES)})", name=op.f("ck_status_events_status")),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_status_events_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_events")),
    )
    op.create_index(op.f("ix_status_events_dossier_id_at"), "status_events", ["dossier_id", "at"])

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("recipient_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_subscriptions_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint(
            "dossier_id",
            "channel",
            "recipient_id",
            name=op.f("uq_subscriptions_dossier_id_channel_recipient_id"),
        ),
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
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", _utc(), nullable=False),
        sa.CheckConstraint(
            f"kind IN ({_in(NOTIFICATION_KINDS)})", name=op.f("ck_notifications_kind")
        ),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_notifications_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_notifications_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["status_events.id"],
            name=op.f("fk_notifications_event_id_status_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        op.f("ix_notifications_subscription_id_kind"), "notifications", ["subscription_id", "kind"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_subscription_id_kind"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("lookup_failures")
    op.drop_table("subscriptions")
    op.drop_index(op.f("ix_status_events_dossier_id_at"), table_name="status_events")
    op.drop_table("status_events")
    op.drop_index(op.f("ix_dossiers_status"), table_name="dossiers")
    op.drop_index(op.f("ix_dossiers_procedure_id"), table_name="dossiers")
    op.drop_index(op.f("ix_dossiers_code"), table_name="dossiers")
    op.drop_table("dossiers")
