"""The SMS outbox: one row per text to send, claimed by workers with a lease.

``to_number`` and ``text`` (which holds the single-use link) live here only until the
gateway accepts the message or it finally fails; then both are erased. ``invitation_id``
names the SMS answer invitation a text belongs to; other senders (panel invitations and
reminders) leave it empty and keep their own state.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base, UTCDateTime

MAX_TEXT_CHARS = 400
"""Longest text the outbox takes (three GSM-7 parts, or six UCS-2 parts)."""


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_state_next", "state", "next_attempt_at"),
        Index("ix_outbox_messages_provider_id", "provider_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("invitations.id"), nullable=True
    )
    to_number: Mapped[str | None] = mapped_column(String(16), nullable=True)
    text: Mapped[str | None] = mapped_column(String(MAX_TEXT_CHARS), nullable=True)
    send_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
