"""Which background questions a unit's join form asks, and which it requires.

The issue lets organisers decide: each background field (age band, municipality) is
``off`` (not asked), ``optional`` or ``required``. A unit nobody has configured asks both,
optionally, so a fresh installation collects nothing it must have. Name, contact and
language are the minimum and are not configurable; consent never is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import audit
from server.panels.models import JoinField
from server.panels.volunteers import BACKGROUND_FIELDS, BackgroundField

Mode = Literal["off", "optional", "required"]
MODES: tuple[Mode, ...] = get_args(Mode)
DEFAULT: Mode = "optional"


async def modes(session: AsyncSession, unit_id: int) -> dict[BackgroundField, Mode]:
    """Every background field with its mode for ``unit_id`` (defaults filled in)."""
    stored = dict(
        (
            await session.execute(
                select(JoinField.field, JoinField.mode).where(JoinField.unit_id == unit_id)
            )
        ).all()
    )
    return {name: _mode(stored.get(name, DEFAULT)) for name in BACKGROUND_FIELDS}


def _mode(value: str) -> Mode:
    return next((m for m in MODES if m == value), DEFAULT)


async def configure(
    session: AsyncSession,
    actor: str,
    unit_id: int,
    unit: str,
    wanted: Mapping[BackgroundField, Mode],
) -> dict[BackgroundField, Mode]:
    """Store the modes given (others keep theirs), audited; returns every field's mode."""
    if wanted:
        await session.execute(
            delete(JoinField).where(JoinField.unit_id == unit_id, JoinField.field.in_(wanted))
        )
        session.add_all(JoinField(unit_id=unit_id, field=f, mode=m) for f, m in wanted.items())
        await session.flush()
        await audit.record(
            session,
            actor,
            "panels.join-form",
            f"unit:{unit}",
            {str(f): m for f, m in wanted.items()},
        )
    return await modes(session, unit_id)
