"""Panel tables: volunteers, their consents and experiences, panels and members.

Deliberately no foreign key or column refers to ``responses``: a volunteer's experience
records only the unit, path, step, channel and (if agreed) the coarse sentiment, never
which answer it came from. Contact columns hold Fernet ciphertext (see ``crypto``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base, JSONValue, UTCDateTime


class Volunteer(Base):
    __tablename__ = "volunteers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_name_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    email_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    preferred_language: Mapped[str] = mapped_column(String(8))
    background: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    staff: Mapped[bool] = mapped_column(Boolean, default=False)
    withdraw_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class VolunteerExperience(Base):
    __tablename__ = "volunteer_experiences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteers.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    path_id: Mapped[int | None] = mapped_column(ForeignKey("service_paths.id"), nullable=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("path_steps.id"), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    sentiment: Mapped[str | None] = mapped_column(String(16), nullable=True)


class ConsentText(Base):
    __tablename__ = "consent_texts"

    version: Mapped[str] = mapped_column(String(16), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class Consent(Base):
    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteers.id", ondelete="CASCADE"), index=True
    )
    consent_version: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    text_sha256: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    given_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Panel(Base):
    __tablename__ = "panels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    topic: Mapped[str] = mapped_column(String(300))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    path_ids: Mapped[list[int]] = mapped_column(JSONValue)
    seats: Mapped[int] = mapped_column(Integer)
    meeting_dates: Mapped[list[str]] = mapped_column(JSONValue)
    targets: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PanelMember(Base):
    __tablename__ = "panel_members"
    __table_args__ = (UniqueConstraint("panel_id", "volunteer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"), index=True)
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteers.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    invited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rsvp_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The reminder carries a second link; the first keeps working.
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reminder_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)


class JoinField(Base):
    """A unit's choice for one background question of the join form (see ``join_form``)."""

    __tablename__ = "panel_join_fields"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))


class ContactRead(Base):
    """Who read which volunteers' contact details, when and why (append-only)."""

    __tablename__ = "contact_reads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    volunteer_ids: Mapped[list[int]] = mapped_column(JSONValue)
    reason: Mapped[str] = mapped_column(String(500))
