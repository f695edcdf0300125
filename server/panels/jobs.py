"""The daily panel job: erase volunteers past retention, close unanswered invitations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.panels import volunteers
from server.panels.models import Panel, PanelMember


async def close_unanswered(session: AsyncSession, now: dt.datetime) -> int:
    """Invitations still open on the day of the panel's first meeting become ``no_answer``."""
    today = now.date().isoformat()
    closed = 0
    for panel in await session.scalars(select(Panel)):
        if not panel.meeting_dates or panel.meeting_dates[0] > today:
            continue
        open_members = await session.scalars(
            select(PanelMember).where(
                PanelMember.panel_id == panel.id, PanelMember.status == "invited"
            )
        )
        for member in open_members:
            member.status = "no_answer"
            closed += 1
    await session.flush()
    return closed


async def daily(engine: AsyncEngine, retention_months: int) -> int:
    """Run both; returns how many rows changed."""
    now = dt.datetime.now(dt.UTC)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        purged = await volunteers.purge(session, retention_months, now, dry_run=False)
        closed = await close_unanswered(session, now)
        await session.commit()
    return purged + closed
