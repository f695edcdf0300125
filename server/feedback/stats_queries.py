"""All SQL behind the statistics API and exports: grouped sums over ``response_rollups``.

Statistics never read ``responses``: every query here sums hourly roll-up rows, so its
cost follows the number of series and hours in the filter, not the number of answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.feedback.models import ResponseRollup

rollups = ResponseRollup.__table__
Dimension = Literal["unit_id", "path_id", "step_id", "channel", "contact_mode"]


@dataclass(frozen=True)
class StatsFilter:
    """Which roll-up rows to count; ``start``/``end`` are UTC instants, end exclusive."""

    unit_id: int | None = None
    path_id: int | None = None
    step_id: int | None = None
    channel: str | None = None
    contact_mode: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    include_misuse: bool = False

    def conditions(self) -> list[ColumnElement[bool]]:
        c = rollups.c
        where: list[ColumnElement[bool]] = []
        for column, value in (
            (c.unit_id, self.unit_id),
            (c.path_id, self.path_id),
            (c.step_id, self.step_id),
            (c.channel, self.channel),
            (c.contact_mode, self.contact_mode),
        ):
            if value is not None:
                where.append(column == value)
        if self.start is not None:
            where.append(c.bucket >= self.start)
        if self.end is not None:
            where.append(c.bucket < self.end)
        if not self.include_misuse:
            where.append(c.misuse.is_(False))
        return where


async def grouped_counts(
    conn: AsyncConnection,
    where: StatsFilter,
    by: Sequence[Dimension] = (),
    *,
    hourly: bool = False,
) -> list[Any]:
    """Sum of answers per (``by``…, [bucket], question, option) over the filtered rows.

    Rows are named tuples with the ``by`` columns, ``bucket`` when ``hourly``, then
    ``question``, ``option`` and ``count``.
    """
    columns = [rollups.c[name] for name in by]
    if hourly:
        columns.append(rollups.c.bucket)
    columns += [rollups.c.question, rollups.c.option]
    stmt = (
        select(*columns, func.sum(rollups.c.count).label("count"))
        .where(*where.conditions())
        .group_by(*columns)
    )
    return list(await conn.execute(stmt))
