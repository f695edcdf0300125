"""Panels: create, pool, figures, select-and-invite. Controllers stay thin over this."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import secrets
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.lookup import CatalogSnapshot
from server.panels import respondents
from server.panels.models import Panel, PanelMember, Volunteer, VolunteerExperience
from server.panels.schemas import ContactScope, Figures, PanelCreate, PathFigures
from server.panels.selection import Candidate, Quota, Selection
from server.panels.selection import select as choose
from server.panels.volunteers import token_hash

STATUSES = ("invited", "accepted", "declined", "no_answer")
YEAR = dt.timedelta(days=365)


class PanelError(ValueError):
    """The request names something that does not exist or cannot be done."""


async def create_panel(
    session: AsyncSession, catalog: CatalogSnapshot, data: PanelCreate, now: dt.datetime
) -> Panel:
    unit_id = catalog.unit_id(data.unit)
    if unit_id is None:
        raise PanelError(f"unknown unit {data.unit!r}")
    path_ids = []
    for code in data.paths:
        path = catalog.path(unit_id, code)
        if path is None:
            raise PanelError(f"unknown path {code!r} in unit {data.unit!r}")
        path_ids.append(path.id)
    if await session.scalar(select(Panel.id).where(Panel.code == data.code)) is not None:
        raise PanelError(f"a panel {data.code!r} exists already")
    panel = Panel(
        code=data.code,
        topic=data.topic,
        unit_id=unit_id,
        path_ids=path_ids,
        seats=data.seats,
        meeting_dates=sorted(d.isoformat() for d in data.meeting_dates),
        targets={
            "min_negative": data.targets.min_negative,
            "languages": list(data.targets.languages),
            "age_bands": dict(data.targets.age_bands),
        },
        created_at=now,
    )
    session.add(panel)
    await session.flush()
    return panel


def quotas_of(panel: Panel) -> list[Quota]:
    targets = panel.targets
    quotas = []
    if targets.get("min_negative"):
        quotas.append(Quota("sentiment", "negative", int(targets["min_negative"])))
    quotas += [Quota("language", lang, 1) for lang in targets.get("languages", [])]
    quotas += [Quota("age_band", b, int(n)) for b, n in targets.get("age_bands", {}).items() if n]
    return quotas


@dataclass(frozen=True)
class PoolEntry:
    candidate: Candidate
    channel: str
    path_ids: frozenset[int] = frozenset()


async def pool(session: AsyncSession, panel: Panel, now: dt.datetime) -> list[PoolEntry]:
    """Volunteers (not withdrawn) with an experience of the panel's unit and paths."""
    query = (
        select(
            Volunteer,
            VolunteerExperience.sentiment,
            VolunteerExperience.channel,
            VolunteerExperience.path_id,
        )
        .join(VolunteerExperience, VolunteerExperience.volunteer_id == Volunteer.id)
        .where(Volunteer.withdrawn_at.is_(None), VolunteerExperience.unit_id == panel.unit_id)
        .order_by(Volunteer.id)
    )
    if panel.path_ids:
        query = query.where(VolunteerExperience.path_id.in_(panel.path_ids))
    invites = dict(
        (
            await session.execute(
                select(PanelMember.volunteer_id, func.count())
                .where(PanelMember.invited_at >= now - YEAR)
                .group_by(PanelMember.volunteer_id)
            )
        ).all()
    )
    members = set(
        await session.scalars(
            select(PanelMember.volunteer_id).where(PanelMember.panel_id == panel.id)
        )
    )
    entries: dict[int, PoolEntry] = {}
    paths: dict[int, set[int]] = {}
    for volunteer, sentiment, channel, path_id in (await session.execute(query)).all():
        if volunteer.id in members:
            continue
        if path_id is not None:
            paths.setdefault(volunteer.id, set()).add(path_id)
        if volunteer.id in entries:
            continue
        candidate = Candidate(
            id=volunteer.id,
            sentiment=sentiment,
            language=volunteer.preferred_language,
            age_band=volunteer.background.get("age_band"),
            staff=volunteer.staff,
            invites_last_year=int(invites.get(volunteer.id, 0)),
        )
        entries[volunteer.id] = PoolEntry(candidate, channel)
    return [
        dataclasses.replace(e, path_ids=frozenset(paths.get(i, ()))) for i, e in entries.items()
    ]


async def contact_ids(
    session: AsyncSession, panel: Panel, scope: ContactScope, now: dt.datetime
) -> list[int]:
    """Whose contact details a contacts view is about: members, or the pool."""
    if scope == "pool":
        return [e.candidate.id for e in await pool(session, panel, now)]
    return list(
        await session.scalars(
            select(PanelMember.volunteer_id).where(
                PanelMember.panel_id == panel.id,
                PanelMember.status.in_(("invited", "accepted")),
            )
        )
    )


@dataclass(frozen=True)
class Invited:
    volunteer_id: int
    token: str


async def select_and_invite(
    session: AsyncSession,
    panel: Panel,
    max_invites: int,
    now: dt.datetime,
    rng: random.Random | None = None,
) -> tuple[Selection, list[Invited]]:
    """Choose for the free seats and record invitations; the caller sends them after commit."""
    taken = await session.scalar(
        select(func.count())
        .select_from(PanelMember)
        .where(PanelMember.panel_id == panel.id, PanelMember.status.in_(("invited", "accepted")))
    )
    free = max(0, panel.seats - int(taken or 0))
    entries = await pool(session, panel, now)
    result = choose(
        [e.candidate for e in entries], free, quotas_of(panel), max_invites=max_invites, rng=rng
    )
    invited = []
    for volunteer_id in result.chosen:
        token = secrets.token_urlsafe(24)
        session.add(
            PanelMember(
                panel_id=panel.id,
                volunteer_id=volunteer_id,
                status="invited",
                invited_at=now,
                rsvp_token_hash=token_hash(token),
            )
        )
        invited.append(Invited(volunteer_id, token))
    await session.flush()
    return result, invited


async def due_reminders(
    session: AsyncSession, now: dt.datetime, after: dt.timedelta
) -> list[tuple[Panel, list[Invited]]]:
    """Give each invitation open longer than ``after`` its one reminder link, per panel.

    Only panels that have not met yet. The conditional UPDATE claims each member once,
    so a reminder is issued once even if two runs overlap; the caller queues the
    messages in the same transaction.
    """
    today = now.date().isoformat()
    rows = (
        await session.execute(
            select(PanelMember.id, PanelMember.volunteer_id, Panel)
            .join(Panel, Panel.id == PanelMember.panel_id)
            .where(
                PanelMember.status == "invited",
                PanelMember.reminded_at.is_(None),
                PanelMember.invited_at <= now - after,
            )
            .order_by(Panel.id, PanelMember.id)
        )
    ).all()
    due: dict[int, tuple[Panel, list[Invited]]] = {}
    for member_id, volunteer_id, panel in rows:
        if panel.meeting_dates and panel.meeting_dates[0] <= today:
            continue
        token = secrets.token_urlsafe(24)
        claimed = await session.execute(
            update(PanelMember)
            .where(PanelMember.id == member_id, PanelMember.reminded_at.is_(None))
            .values(reminded_at=now, reminder_token_hash=token_hash(token))
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            due.setdefault(panel.id, (panel, []))[1].append(Invited(volunteer_id, token))
    return list(due.values())


async def _by_path(
    session: AsyncSession, catalog: CatalogSnapshot, panel: Panel, available: list[PoolEntry]
) -> list[PathFigures]:
    """The pool and members per path of the panel (every path of the unit if it names
    none), from the paths of the volunteers' experiences."""
    path_ids = list(panel.path_ids) or [
        p.id for (unit_id, _), p in catalog.paths.items() if unit_id == panel.unit_id
    ]
    rows = await session.execute(
        select(
            VolunteerExperience.path_id,
            PanelMember.status,
            func.count(func.distinct(PanelMember.volunteer_id)),
        )
        .join(VolunteerExperience, VolunteerExperience.volunteer_id == PanelMember.volunteer_id)
        .where(PanelMember.panel_id == panel.id, VolunteerExperience.path_id.in_(path_ids))
        .group_by(VolunteerExperience.path_id, PanelMember.status)
    )
    members = {(path_id, status): int(n) for path_id, status, n in rows.all()}
    return [
        PathFigures(
            path=catalog.paths_by_id[path_id].code,
            pool=sum(1 for e in available if path_id in e.path_ids),
            **{status: members.get((path_id, status), 0) for status in STATUSES},
        )
        for path_id in path_ids
        if path_id in catalog.paths_by_id
    ]


def _mix(entries: list[tuple[str | None, str, str]]) -> dict[str, dict[str, int]]:
    return {
        "sentiment": dict(Counter(s or "not_shared" for s, _, _ in entries)),
        "language": dict(Counter(lang for _, lang, _ in entries)),
        "channel": dict(Counter(ch for _, _, ch in entries)),
    }


async def figures(
    session: AsyncSession,
    catalog: CatalogSnapshot,
    panel: Panel,
    now: dt.datetime,
    threshold: int = 5,
    *,
    with_respondents: bool = True,
) -> Figures:
    """Recruitment figures; ``with_respondents=False`` skips the respondents' mix (a read
    of a year of answers) where it is not shown, as in ``/metrics``."""
    counts = dict(
        (
            await session.execute(
                select(PanelMember.status, func.count())
                .where(PanelMember.panel_id == panel.id)
                .group_by(PanelMember.status)
            )
        ).all()
    )
    reminded = await session.scalar(
        select(func.count())
        .select_from(PanelMember)
        .where(
            PanelMember.panel_id == panel.id,
            PanelMember.status == "invited",
            PanelMember.reminded_at.is_not(None),
        )
    )
    available = await pool(session, panel, now)
    accepted_rows = (
        await session.execute(
            select(
                VolunteerExperience.sentiment,
                Volunteer.preferred_language,
                VolunteerExperience.channel,
            )
            .join(Volunteer, Volunteer.id == VolunteerExperience.volunteer_id)
            .join(PanelMember, PanelMember.volunteer_id == Volunteer.id)
            .where(PanelMember.panel_id == panel.id, PanelMember.status == "accepted")
        )
    ).all()
    accepted = int(counts.get("accepted", 0))
    return Figures(
        panel=panel.code,
        unit=catalog.units.get(panel.unit_id, ""),
        topic=panel.topic,
        seats=panel.seats,
        pool=len(available),
        pool_staff=sum(1 for e in available if e.candidate.staff),
        invited=int(counts.get("invited", 0)),
        reminded=int(reminded or 0),
        accepted=accepted,
        declined=int(counts.get("declined", 0)),
        no_answer=int(counts.get("no_answer", 0)),
        seats_left=max(0, panel.seats - accepted),
        first_meeting=panel.meeting_dates[0] if panel.meeting_dates else None,
        pool_mix=_mix(
            [(e.candidate.sentiment, e.candidate.language, e.channel) for e in available]
        ),
        accepted_mix=_mix([(s, lang, ch) for s, lang, ch in accepted_rows]),
        respondents_mix=(
            await respondents.mix(session, panel, threshold, now) if with_respondents else {}
        ),
        paths=await _by_path(session, catalog, panel, available),
    )


async def all_panels(session: AsyncSession) -> list[Panel]:
    return list(await session.scalars(select(Panel).order_by(Panel.id)))


async def panel_by_code(session: AsyncSession, code: str) -> Panel:
    panel = await session.scalar(select(Panel).where(Panel.code == code))
    if panel is None:
        raise PanelError(f"no panel {code!r}")
    return panel
