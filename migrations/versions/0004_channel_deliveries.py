"""Channel deliveries already accepted: de-duplication shared by replicas and restarts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 00:00:00+00:00

Telegram resends an update and Zalo an event it thinks was lost (Zalo up to
about two hours later); ``dichvucong.deliveries`` inserts one row per
delivery key and a second insert of the same key fails on the unique
constraint, which is what makes two replicas accept an event once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_channel_deliveries_key")),
    )
    op.create_index(
        op.f("ix_channel_deliveries_seen_at"), "channel_deliveries", ["seen_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_channel_deliveries_seen_at"), table_name="channel_deliveries")
    op.drop_table("channel_deliveries")
