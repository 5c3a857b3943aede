"""Quality review of whole conversations: theme, answer quality and follow-up per conversation.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:00:00+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FOLLOW_UPS = "'update_knowledge', 'add_training', 'contact_citizen', 'none'"


def upgrade() -> None:
    op.create_table(
        "console_conversation_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_digest", sa.String(length=64), nullable=False),
        sa.Column("conversation_key", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(length=100), nullable=False),
        sa.Column("quality", sa.String(length=32), nullable=False),
        sa.Column("follow_up", sa.String(length=32), nullable=False),
        sa.Column("procedure", sa.String(length=40), nullable=True),
        sa.Column("tagged_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"follow_up IN ({FOLLOW_UPS})",
                           name=op.f("ck_console_conversation_tags_follow_up")),
        sa.ForeignKeyConstraint(
            ["tagged_by"], ["console_users.id"],
            name=op.f("fk_console_conversation_tags_tagged_by_console_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_conversation_tags")),
        sa.UniqueConstraint("sender_digest",
                            name=op.f("uq_console_conversation_tags_sender_digest")),
    )


def downgrade() -> None:
    op.drop_table("console_conversation_tags")
