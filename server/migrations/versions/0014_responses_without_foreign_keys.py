"""Raw answers without foreign keys to the catalog

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23

Every stored answer paid four foreign-key checks (unit, path, step, kiosk): on
PostgreSQL each is an index probe plus a FOR KEY SHARE lock on the catalog row, which
every concurrent ingest transaction takes on the same few rows. Measured on the 2-core
machine: inserting answers cost 44-47 us of PostgreSQL time per row with the checks and
14-18 us without. The ids are checked before the insert against the catalog (an answer
for an unknown unit, path, step or kiosk is a 422), catalog rows are never deleted (the
importer only adds and renames), and the roll-ups and cubes, which hold the same ids,
never had such keys.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

#: (constraint, column, referred table)
KEYS = (
    ("fk_responses_unit_id_units", "unit_id", "units"),
    ("fk_responses_path_id_service_paths", "path_id", "service_paths"),
    ("fk_responses_step_id_path_steps", "step_id", "path_steps"),
    ("fk_responses_kiosk_id_kiosks", "kiosk_id", "kiosks"),
)


def upgrade() -> None:
    # Batch mode: a plain ALTER on PostgreSQL, a table copy on SQLite (which cannot drop
    # a constraint in place).
    with op.batch_alter_table("responses") as batch:
        for name, _column, _table in KEYS:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("responses") as batch:
        for name, column, table in KEYS:
            batch.create_foreign_key(name, table, [column], ["id"])
