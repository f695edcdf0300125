"""Per-series response totals

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "response_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("contact_mode", sa.String(length=16), nullable=False),
        sa.Column("option", sa.String(length=16), nullable=False),
        sa.Column("misuse", sa.Boolean(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_totals")),
        sa.UniqueConstraint(
            "unit_id",
            "path_id",
            "step_id",
            "channel",
            "contact_mode",
            "option",
            "misuse",
            name="uq_response_totals_key",
        ),
    )

    # Existing installations: the totals start as the sum of the hourly roll-up.
    op.execute(
        "INSERT INTO response_totals "
        "(unit_id, path_id, step_id, channel, contact_mode, option, misuse, count) "
        "SELECT unit_id, path_id, step_id, channel, contact_mode, option, misuse, SUM(count) "
        "FROM response_rollups "
        "GROUP BY unit_id, path_id, step_id, channel, contact_mode, option, misuse"
    )


def downgrade() -> None:

    op.drop_table("response_totals")
