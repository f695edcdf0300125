"""Panel invitation reminders: when sent, and the reminder's own RSVP link

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.database

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("panel_members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reminded_at", server.database.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("reminder_token_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_panel_members_reminder_token_hash"), ["reminder_token_hash"]
        )


def downgrade() -> None:
    with op.batch_alter_table("panel_members", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_panel_members_reminder_token_hash"), type_="unique")
        batch_op.drop_column("reminder_token_hash")
        batch_op.drop_column("reminded_at")
