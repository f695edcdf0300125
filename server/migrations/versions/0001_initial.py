"""Catalog, credentials, responses and roll-ups

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import server.database

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "names",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("sms_sender", sa.String(length=11), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
    )
    op.create_table(
        "response_rollups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", server.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("contact_mode", sa.String(length=16), nullable=False),
        sa.Column("question", sa.String(length=32), nullable=False),
        sa.Column("option", sa.String(length=16), nullable=False),
        sa.Column("misuse", sa.Boolean(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_rollups")),
        sa.UniqueConstraint(
            "bucket",
            "unit_id",
            "path_id",
            "step_id",
            "channel",
            "contact_mode",
            "question",
            "option",
            "misuse",
            name="uq_response_rollups_key",
        ),
    )
    with op.batch_alter_table("response_rollups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_response_rollups_path_bucket", ["path_id", "bucket"], unique=False
        )

    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column(
            "names",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("code", name=op.f("uq_units_code")),
    )
    op.create_table(
        "kiosks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "services",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("last_seen_at", server.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outbox_pending", sa.Integer(), nullable=False),
        sa.Column("app_version", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_kiosks_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosks")),
        sa.UniqueConstraint("code", name=op.f("uq_kiosks_code")),
    )
    op.create_table(
        "service_paths",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column(
            "names",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("scale", sa.String(length=8), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("comments", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_service_paths_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_paths")),
        sa.UniqueConstraint("unit_id", "code", name=op.f("uq_service_paths_unit_id_code")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.Integer(), nullable=True),
        sa.Column("created_at", server.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", server.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", server.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["kiosk_id"], ["kiosks.id"], name=op.f("fk_api_keys_kiosk_id_kiosks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "kiosk_pairings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kiosk_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", server.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", server.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["kiosk_id"], ["kiosks.id"], name=op.f("fk_kiosk_pairings_kiosk_id_kiosks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosk_pairings")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_kiosk_pairings_code_hash")),
    )
    op.create_table(
        "path_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column(
            "names",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("icon", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["path_id"], ["service_paths.id"], name=op.f("fk_path_steps_path_id_service_paths")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_path_steps")),
        sa.UniqueConstraint("path_id", "code", name=op.f("uq_path_steps_path_id_code")),
    )
    op.create_table(
        "responses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=True),
        sa.Column("kiosk_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("contact_mode", sa.String(length=16), nullable=False),
        sa.Column("question", sa.String(length=32), nullable=False),
        sa.Column("option", sa.String(length=16), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("comment", sa.String(length=2000), nullable=True),
        sa.Column("comment_review", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("misuse", sa.Boolean(), nullable=False),
        sa.Column("answered_at", server.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", server.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kiosk_id"], ["kiosks.id"], name=op.f("fk_responses_kiosk_id_kiosks")
        ),
        sa.ForeignKeyConstraint(
            ["path_id"], ["service_paths.id"], name=op.f("fk_responses_path_id_service_paths")
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["path_steps.id"], name=op.f("fk_responses_step_id_path_steps")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_responses_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responses")),
    )
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_responses_kiosk_answered", ["kiosk_id", "answered_at"], unique=False
        )
        batch_op.create_index("ix_responses_received_at", ["received_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index("ix_responses_received_at")
        batch_op.drop_index("ix_responses_kiosk_answered")

    op.drop_table("responses")
    op.drop_table("path_steps")
    op.drop_table("kiosk_pairings")
    op.drop_table("api_keys")
    op.drop_table("service_paths")
    op.drop_table("kiosks")
    op.drop_table("units")
    with op.batch_alter_table("response_rollups", schema=None) as batch_op:
        batch_op.drop_index("ix_response_rollups_path_bucket")

    op.drop_table("response_rollups")
    op.drop_table("organisation")
