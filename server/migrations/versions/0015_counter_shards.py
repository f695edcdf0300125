"""Counter shards: concurrent ingests add to different rows of a hot roll-up cell

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23

Every answer to a path adds to the same few roll-up, total and cube rows. On PostgreSQL a
transaction holds those rows locked until its commit has reached the disk, so
concurrent ingests queued behind each other's WAL flush, one at a time (sampled in
pg_stat_activity: Lock:transactionid behind IO:WALSync). A ``shard`` column in each
key lets concurrent statements count in different rows of the same cell; every reader
sums over it. Existing rows are shard 0.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

DIMENSIONS = ("unit_id", "path_id", "step_id", "channel", "contact_mode")
#: table -> (unique constraint, key columns before the shard)
KEYS = {
    "response_rollups": (
        "uq_response_rollups_key",
        ("bucket", *DIMENSIONS, "question", "option", "misuse"),
    ),
    "response_totals": ("uq_response_totals_key", (*DIMENSIONS, "option", "misuse")),
    "response_cubes": (
        "uq_response_cubes_key",
        ("cube", "bucket", "slot", *DIMENSIONS, "question", "option", "misuse"),
    ),
}


def upgrade() -> None:
    for table, (constraint, columns) in KEYS.items():
        # Batch mode: plain ALTERs on PostgreSQL, a table copy on SQLite.
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("shard", sa.SmallInteger(), nullable=False, server_default="0")
            )
            batch.drop_constraint(constraint, type_="unique")
            batch.create_unique_constraint(constraint, [*columns, "shard"])


def downgrade() -> None:
    for table, (constraint, columns) in KEYS.items():
        keys = ", ".join(columns)
        # Fold every cell's shards into one row before the key loses the column.
        op.execute(
            f"CREATE TEMPORARY TABLE folded AS SELECT {keys}, SUM(count) AS count "  # noqa: S608
            f"FROM {table} GROUP BY {keys}"
        )
        op.execute(f"DELETE FROM {table}")  # noqa: S608
        op.execute(
            f"INSERT INTO {table} ({keys}, count, shard) "  # noqa: S608
            f"SELECT {keys}, count, 0 FROM folded"
        )
        op.execute("DROP TABLE folded")
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(constraint, type_="unique")
            batch.create_unique_constraint(constraint, list(columns))
            batch.drop_column("shard")
