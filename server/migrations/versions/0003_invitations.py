"""SMS invitations, do-not-contact list and the outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.database

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "do_not_contact",
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("added_at", server.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone_hash", name=op.f("pk_do_not_contact")),
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=True),
        sa.Column("contact_mode", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("skip_reason", sa.String(length=16), nullable=True),
        sa.Column("contact_ended_at", server.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", server.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("send_at", server.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", server.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", server.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", server.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", server.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer_claimed_at", server.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", server.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["path_id"], ["service_paths.id"], name=op.f("fk_invitations_path_id_service_paths")
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["path_steps.id"], name=op.f("fk_invitations_step_id_path_steps")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_invitations_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_invitations_idempotency_key")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invitations_phone_hash_created", ["phone_hash", "created_at"], unique=False
        )

    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Uuid(), nullable=False),
        sa.Column("to_number", sa.String(length=16), nullable=True),
        sa.Column("text", sa.String(length=400), nullable=True),
        sa.Column("send_at", server.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", server.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", server.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitations.id"],
            name=op.f("fk_outbox_messages_invitation_id_invitations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_messages_provider_id", ["provider_id"], unique=False)
        batch_op.create_index(
            "ix_outbox_messages_state_next", ["state", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_state_next")
        batch_op.drop_index("ix_outbox_messages_provider_id")

    op.drop_table("outbox_messages")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_invitations_phone_hash_created")

    op.drop_table("invitations")
    op.drop_table("do_not_contact")
