"""Shared helpers for panel tests: volunteers through the real opt-in path."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.lookup import load_snapshot
from server.panels import volunteers
from server.panels.context import JoinContext
from server.panels.crypto import ContactCipher

UNIT = "vaasa-aikuissosiaalityo"
PATH = "toimeentulotuki"
NOW = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)


def add_volunteer(
    run: Any,
    cipher: ContactCipher,
    name: str = "Aino",
    *,
    phone: str = "+358401234567",
    email: str = "",
    language: str = "fi",
    sentiment: str | None = None,
    background: dict[str, str] | None = None,
    channel: str = "kiosk",
    now: dt.datetime = NOW,
    path: str = PATH,
    step: str | None = "hakemus",
) -> str:
    """Opt one person in; returns their withdraw token."""
    ctx = JoinContext(unit=UNIT, channel=channel, path=path, step=step, sentiment=sentiment)
    form = volunteers.OptIn(
        first_name=name,
        phone=phone,
        email=email,
        language=language,
        background=background or {},
        share_sentiment=sentiment is not None,
    )

    async def add(session: AsyncSession) -> str:
        catalog = await load_snapshot(session)
        return await volunteers.opt_in(session, cipher, catalog, ctx, form, now)

    token: str = run(add)
    return token
