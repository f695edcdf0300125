"""Catalog tables. Rows are never deleted by an import, so history keeps its ids."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base, JSONValue, UTCDateTime


class Organisation(Base):
    """The single organisation this installation serves (names used in messages)."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSONValue)
    sms_sender: Mapped[str] = mapped_column(String(11))


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    names: Mapped[dict[str, str]] = mapped_column(JSONValue)


class ServicePath(Base):
    __tablename__ = "service_paths"
    __table_args__ = (UniqueConstraint("unit_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    code: Mapped[str] = mapped_column(String(64))
    names: Mapped[dict[str, str]] = mapped_column(JSONValue)
    scale: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[list[str]] = mapped_column(JSONValue)
    comments: Mapped[bool] = mapped_column(Boolean)
    position: Mapped[int] = mapped_column(Integer)


class PathStep(Base):
    __tablename__ = "path_steps"
    __table_args__ = (UniqueConstraint("path_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("service_paths.id"))
    code: Mapped[str] = mapped_column(String(64))
    names: Mapped[dict[str, str]] = mapped_column(JSONValue)
    icon: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Kiosk(Base):
    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    services: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outbox_pending: Mapped[int] = mapped_column(Integer, default=0)
    app_version: Mapped[str] = mapped_column(String(32), default="")
