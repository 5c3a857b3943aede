"""Live handoff to staff: the queue of requests and out-of-hours callbacks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Registers the handoff tables in the shared metadata, so that autogenerate
# and the migrations-versus-models test see them (env.py imports the others).
import dichvucong.handoff.models  # noqa: F401

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

STATUSES = "'queued', 'active', 'closed', 'cancelled'"
REASONS = "'asked', 'failed_twice'"
ENDED_BY = "'citizen', 'operator', 'timeout'"
CONTACT_KINDS = "'phone', 'reply_here'"


def upgrade() -> None:
    op.create_table(
        "handoff_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("procedure", sa.String(length=40), nullable=True),
        sa.Column("locality", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("taken_by", sa.String(length=64), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=16), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_handoff_requests_status")),
        sa.CheckConstraint(f"reason IN ({REASONS})", name=op.f("ck_handoff_requests_reason")),
        sa.CheckConstraint(f"ended_by IS NULL OR ended_by IN ({ENDED_BY})",
                           name=op.f("ck_handoff_requests_ended_by")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_requests")),
    )
    op.create_index("ix_handoff_requests_conversation_id", "handoff_requests",
                    ["conversation_id"])
    op.create_index("ix_handoff_requests_status", "handoff_requests", ["status"])
    op.create_index("ix_handoff_requests_status_created_at", "handoff_requests",
                    ["status", "created_at"])
    op.create_table(
        "handoff_callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("contact_kind", sa.String(length=16), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("procedure", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"contact_kind IN ({CONTACT_KINDS})",
                           name=op.f("ck_handoff_callbacks_contact_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_callbacks")),
    )
    op.create_index("ix_handoff_callbacks_conversation_id", "handoff_callbacks",
                    ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_handoff_callbacks_conversation_id", table_name="handoff_callbacks")
    op.drop_table("handoff_callbacks")
    op.drop_index("ix_handoff_requests_status_created_at", table_name="handoff_requests")
    op.drop_index("ix_handoff_requests_status", table_name="handoff_requests")
    op.drop_index("ix_handoff_requests_conversation_id", table_name="handoff_requests")
    op.drop_table("handoff_requests")
