"""Scheduled panel jobs: daily retention and closing, and the invitation reminders."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.messaging.mail import OutgoingMail
from server.panels import invite, service, volunteers
from server.panels.crypto import cipher_from_settings
from server.panels.models import Panel, PanelMember
from server.settings import Settings

HELSINKI = ZoneInfo("Europe/Helsinki")
REMINDER_PERIOD = dt.timedelta(hours=1)
SYSTEM = "system"


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


def in_sending_hours(now: dt.datetime, settings: Settings) -> bool:
    """Reminders go out in the same local hours as SMS invitations, never at night."""
    hour = now.astimezone(HELSINKI).hour
    return settings.sms_window_start_hour <= hour < settings.sms_window_end_hour


async def remind(engine: AsyncEngine, settings: Settings, now: dt.datetime) -> int:
    """Send the one reminder to each invitee who has not answered in time; returns how many.

    Reminder links, ``reminded_at``, the audited contact read and the queued texts commit
    together; e-mail follows the commit. A later run finds nobody twice.
    """
    if not settings.panel_reminder_hours or not in_sending_hours(now, settings):
        return 0
    after = dt.timedelta(hours=settings.panel_reminder_hours)
    cipher = cipher_from_settings(settings)
    mails: list[OutgoingMail] = []
    reminded = 0
    async with AsyncSession(engine, expire_on_commit=False) as session:
        for panel, due in await service.due_reminders(session, now, after):
            queued = await invite.queue(
                session, settings, cipher, SYSTEM, panel, due, now, reminder=True
            )
            reminded += queued.texts + len(queued.mails)
            mails += queued.mails
        await session.commit()
    await invite.send_mails(settings, mails)
    return reminded
