"""SMS invitations, the quarantine and the do-not-contact list.

An invitation keeps no phone number: only the keyed hash (for its link's opt-out page,
erased with the request fingerprint made from it once the link is over) and the hash of
its link token. Its timestamps record how far it got (sent, delivered, failed,
answered) so response rates are counted without touching responses, and no response row
points back to an invitation.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base, UTCDateTime


class Invitation(Base):
    __tablename__ = "invitations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    path_id: Mapped[int] = mapped_column(ForeignKey("service_paths.id"))
    step_id: Mapped[int | None] = mapped_column(ForeignKey("path_steps.id"), nullable=True)
    contact_mode: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    phone_hash: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    skip_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    contact_ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    send_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answer_claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DoNotContact(Base):
    """Keyed hashes of numbers that asked not to be surveyed."""

    __tablename__ = "do_not_contact"

    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SmsQuarantine(Base):
    """Keyed hashes of numbers invited lately, and when; see ``server.feedback.quarantine``."""

    __tablename__ = "sms_quarantine"

    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    invited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
