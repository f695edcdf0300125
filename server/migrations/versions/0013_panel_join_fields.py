"""Organiser-chosen background questions of a unit's panel join form

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "panel_join_fields",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_panel_join_fields_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("unit_id", "field", name=op.f("pk_panel_join_fields")),
    )


def downgrade() -> None:
    op.drop_table("panel_join_fields")
