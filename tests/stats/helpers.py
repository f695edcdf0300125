"""Loading roll-up rows and a manager key for statistics tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.keys import create_key
from server.auth.roles import Role
from server.catalog.lookup import load_snapshot
from server.feedback import repository
from server.feedback.models import ResponseCube, ResponseRollup, ResponseTotal

UNIT = "vaasa-aikuissosiaalityo"
FFT_PATH = "toimeentulotuki"
NPS_UNIT = "mustasaari-lapsiperheet"
NPS_PATH = "perhetyo"
PATH_UNIT = {FFT_PATH: UNIT, NPS_PATH: NPS_UNIT}
WHEN = dt.datetime(2026, 10, 14, 9, tzinfo=dt.UTC)

#: (path, step or None, channel, contact_mode, option, count[, when[, misuse]])
Answer = tuple[str, str | None, str, str, str, int] | tuple[object, ...]


async def add_rollups(session: AsyncSession, answers: Iterable[Answer]) -> None:
    """Write counts straight into the hourly roll-up (what ingest would have produced)."""
    catalog = await load_snapshot(session)
    increments: dict[repository.RollupKey, int] = {}
    for path_code, step, channel, mode, option, count, *rest in answers:
        when = rest[0] if rest else WHEN
        misuse = bool(rest[1]) if len(rest) > 1 else False
        path = catalog.path(catalog.unit_id(PATH_UNIT[str(path_code)]) or 0, str(path_code))
        assert path is not None
        question = "recommendation" if path.scale == "nps" else "overall_experience"
        step_id = path.steps[str(step)].id if step else None
        assert isinstance(when, dt.datetime)
        key = repository.rollup_key(
            when,
            path.unit_id,
            path.id,
            step_id,
            str(channel),
            str(mode),
            question,
            str(option),
            misuse,
        )
        increments[key] = increments.get(key, 0) + int(str(count))
    await repository.increment_rollups(await session.connection(), increments)


async def clear_rollups(session: AsyncSession) -> None:
    """Empty every roll-up (hourly, cubes, totals) between generated examples."""
    for model in (ResponseRollup, ResponseCube, ResponseTotal):
        await session.execute(delete(model))


async def manager_key(session: AsyncSession) -> str:
    return (await create_key(session, "test manager", Role.MANAGER)).secret
