"""Index for the managers' comment list: commented answers by time

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22

``GET /api/v1/stats/comments`` pages answers that carry a comment newest first by
(answered_at, id). A partial index holds only those answers, so it stays small, answers
without a comment never touch it, and a page reads it backwards instead of sorting the
whole table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COMMENTED = sa.text("comment IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_responses_commented",
        "responses",
        ["answered_at", "id"],
        postgresql_where=COMMENTED,
        sqlite_where=COMMENTED,
    )


def downgrade() -> None:
    op.drop_index("ix_responses_commented", table_name="responses")
