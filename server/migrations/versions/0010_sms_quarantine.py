"""SMS quarantine claimed atomically (one row per recently invited number)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23

Numbers invited within the quarantine period carry over from the invitations, so an
upgrade lets no one get a second text early. The quarantine no longer reads invitations by
phone hash, so their index on it goes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.database

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_quarantine",
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_at", server.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone_hash", name=op.f("pk_sms_quarantine")),
    )
    # The daily purge deletes rows whose period is over, so old ones need not be copied,
    # but the setting is not known here: copying every number's latest invitation is exact.
    op.execute(
        "INSERT INTO sms_quarantine (phone_hash, invited_at) "
        "SELECT phone_hash, MAX(created_at) FROM invitations "
        "WHERE phone_hash <> '' GROUP BY phone_hash"
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_invitations_phone_hash_created")


def downgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invitations_phone_hash_created", ["phone_hash", "created_at"], unique=False
        )
    op.drop_table("sms_quarantine")
