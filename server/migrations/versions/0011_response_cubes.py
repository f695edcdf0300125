"""Coarser roll-ups (cubes) for long statistics windows

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from server.database import UTCDateTime
from server.feedback import repository
from server.feedback.cubes import CubeKey, grain_start, next_month_start
from server.feedback.models import ResponseCube, ResponseRollup
from server.feedback.repository import RollupKey

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "response_cubes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cube", sa.Integer(), nullable=False),
        sa.Column("bucket", UTCDateTime(timezone=True), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("contact_mode", sa.String(length=16), nullable=False),
        sa.Column("question", sa.String(length=32), nullable=False),
        sa.Column("option", sa.String(length=16), nullable=False),
        sa.Column("misuse", sa.Boolean(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_cubes")),
        sa.UniqueConstraint(
            "cube",
            "bucket",
            "slot",
            "unit_id",
            "path_id",
            "step_id",
            "channel",
            "contact_mode",
            "question",
            "option",
            "misuse",
            name="uq_response_cubes_key",
        ),
    )
    op.create_index(
        "ix_response_cubes_path_bucket", "response_cubes", ["cube", "path_id", "bucket"]
    )
    _backfill()


def _backfill() -> None:
    """Existing installations: the cubes start as what the hourly roll-up adds up to.

    One Helsinki month at a time, since every cube cell lies inside one month.
    """
    bind = op.get_bind()
    rollups = ResponseRollup.__table__
    # The cube table as this revision creates it: the model has columns added since.
    cubes = sa.table(
        "response_cubes",
        *(
            sa.column(name, ResponseCube.__table__.c[name].type)
            for name in (*CubeKey._fields, "count")
        ),
    )
    first, last = bind.execute(
        sa.select(sa.func.min(rollups.c.bucket), sa.func.max(rollups.c.bucket))
    ).one()
    if first is None:
        return
    month = grain_start(_aware(first), "month")
    while month <= _aware(last):
        following = next_month_start(month)
        rows = bind.execute(
            sa.select(*(rollups.c[name] for name in (*RollupKey._fields, "count"))).where(
                rollups.c.bucket >= month, rollups.c.bucket < following
            )
        )
        counts = {RollupKey(*row[:-1]): row[-1] for row in rows}
        cells = repository.cubes_from_rollup(counts)
        if cells:
            bind.execute(sa.insert(cubes), [{**k._asdict(), "count": n} for k, n in cells.items()])
        month = following


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def downgrade() -> None:
    op.drop_index("ix_response_cubes_path_bucket", table_name="response_cubes")
    op.drop_table("response_cubes")
