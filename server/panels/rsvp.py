"""RSVP links: one token per invitation (and one per reminder); accept, decline or
withdraw from all panels."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.panels import volunteers
from server.panels.models import Panel, PanelMember, Volunteer
from server.panels.volunteers import token_hash

CHOICES = ("accepted", "declined", "withdraw")


@dataclass(frozen=True)
class RsvpView:
    topic: str
    dates: list[str]
    language: str
    status: str


async def _find(session: AsyncSession, token: str) -> tuple[PanelMember, Panel, Volunteer] | None:
    row = (
        await session.execute(
            select(PanelMember, Panel, Volunteer)
            .join(Panel, Panel.id == PanelMember.panel_id)
            .join(Volunteer, Volunteer.id == PanelMember.volunteer_id)
            .where(
                or_(
                    PanelMember.rsvp_token_hash == token_hash(token),
                    PanelMember.reminder_token_hash == token_hash(token),
                )
            )
        )
    ).one_or_none()
    if row is None or row[2].withdrawn_at is not None:
        return None
    return row[0], row[1], row[2]


async def lookup(session: AsyncSession, token: str) -> RsvpView | None:
    found = await _find(session, token)
    if found is None:
        return None
    member, panel, volunteer = found
    return RsvpView(
        panel.topic, list(panel.meeting_dates), volunteer.preferred_language, member.status
    )


async def answer(session: AsyncSession, token: str, choice: str, now: dt.datetime) -> str | None:
    """Record the answer; returns the volunteer's language, or None for a bad link/choice."""
    found = await _find(session, token)
    if found is None or choice not in CHOICES:
        return None
    member, _panel, volunteer = found
    volunteer.last_activity_at = now
    if choice == "withdraw":
        member.status = "declined"
        member.answered_at = now
        await volunteers.erase(session, [volunteer.id], now)
    else:
        member.status = choice
        member.answered_at = now
    await session.flush()
    return volunteer.preferred_language
