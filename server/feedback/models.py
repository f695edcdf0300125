"""Raw responses and their hourly roll-up.

A response row holds nothing that points to a person. The roll-up is keyed by hour
and every dimension statistics need, so reading statistics never scans responses.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base, JSONValue, UTCDateTime

NO_STEP = 0
"""Roll-up rows use 0 for "no step" so the unique key has no NULLs (NULLs never conflict)."""


class Response(Base):
    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_kiosk_answered", "kiosk_id", "answered_at"),
        Index("ix_responses_received_at", "received_at"),
        # The managers' comment list (server.feedback.comment_queries) pages newest first
        # by (answered_at, id). Only answers with a comment are indexed: they are few, so
        # the index stays small and writes without a comment never touch it, while a page
        # walks it backwards from the cursor instead of sorting every answer.
        Index(
            "ix_responses_commented",
            "answered_at",
            "id",
            postgresql_where=text("comment IS NOT NULL"),
            sqlite_where=text("comment IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Catalog ids without foreign keys, as in the roll-ups: ingest checks them against
    # the catalog before inserting and catalog rows are never deleted, while a key check
    # per id cost two thirds of PostgreSQL's time per stored answer (migration 0014).
    unit_id: Mapped[int] = mapped_column(Integer)
    path_id: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kiosk_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    contact_mode: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(String(32))
    option: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSONValue)
    comment: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    comment_review: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8))
    misuse: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RolledUpCounts:
    """Columns every time-bucketed roll-up shares: a bucket, the dimensions, a count.

    A cell's count may be spread over several rows, one per ``shard`` (see migration
    0015): readers always sum over the shards.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    unit_id: Mapped[int] = mapped_column(Integer)
    path_id: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    contact_mode: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(String(32))
    option: Mapped[str] = mapped_column(String(16))
    misuse: Mapped[bool] = mapped_column(Boolean)
    shard: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    count: Mapped[int] = mapped_column(Integer)


class ResponseRollup(RolledUpCounts, Base):
    __tablename__ = "response_rollups"
    __table_args__ = (
        UniqueConstraint(
            "bucket",
            "unit_id",
            "path_id",
            "step_id",
            "channel",
            "contact_mode",
            "question",
            "option",
            "misuse",
            "shard",
            name="uq_response_rollups_key",
        ),
        Index("ix_response_rollups_path_bucket", "path_id", "bucket"),
    )


class ResponseTotal(Base):
    """All-time count per metric series: what ``/metrics`` reads, so a scrape costs the
    number of series, not the number of hours times series."""

    __tablename__ = "response_totals"
    __table_args__ = (
        UniqueConstraint(
            "unit_id",
            "path_id",
            "step_id",
            "channel",
            "contact_mode",
            "option",
            "misuse",
            "shard",
            name="uq_response_totals_key",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer)
    path_id: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    contact_mode: Mapped[str] = mapped_column(String(16))
    option: Mapped[str] = mapped_column(String(16))
    misuse: Mapped[bool] = mapped_column(Boolean)
    shard: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    count: Mapped[int] = mapped_column(Integer)


class KioskPairing(Base):
    """A short one-time code that lets a tablet fetch its device key without typing it."""

    __tablename__ = "kiosk_pairings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ResponseCube(RolledUpCounts, Base):
    """Coarser roll-ups beside the hourly one, so long statistics windows read few rows.

    Each ``cube`` (see :mod:`server.feedback.cubes`) keeps some dimensions at a time grain
    of an hour, a Helsinki day or a Helsinki month; dimensions a cube leaves out hold
    ``NO_STEP`` / ``""``. ``bucket`` is the UTC instant the local hour, day or month starts;
    ``slot`` is the Helsinki hour of day in cubes kept per hour slot, else -1.
    """

    __tablename__ = "response_cubes"
    __table_args__ = (
        UniqueConstraint(
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
            "shard",
            name="uq_response_cubes_key",
        ),
        Index("ix_response_cubes_path_bucket", "cube", "path_id", "bucket"),
    )

    cube: Mapped[int] = mapped_column(Integer)
    slot: Mapped[int] = mapped_column(Integer)
