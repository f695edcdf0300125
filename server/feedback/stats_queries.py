"""All SQL behind the statistics API and exports: grouped sums over the roll-ups.

Statistics never read ``responses`` (only the comment list does, in
:mod:`server.feedback.comment_queries`). Each query sums the cheapest roll-up that answers
it exactly: a cube (a Helsinki day or month, fewer dimensions; see
:mod:`server.feedback.cubes`) when one fits, else the hourly ``response_rollups``. Its
cost follows the number of series and periods in the filter, not the number of answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, Table, and_, case, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from server.feedback import cubes
from server.feedback.models import ResponseCube, ResponseRollup

rollups: Table = ResponseRollup.__table__  # type: ignore[assignment]
cube_table: Table = ResponseCube.__table__  # type: ignore[assignment]
Dimension = Literal["unit_id", "path_id", "step_id", "channel", "contact_mode"]
Period = Literal["day", "week", "month", "hour", "weekday"]
ZONE = "Europe/Helsinki"
#: Years whose EU summer-time bounds SQLite's local-time expression knows (it has no zones).
DST_YEARS = range(2000, 2061)


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

    def dimensions(self) -> dict[str, int | str]:
        """The dimensions this filter pins, with their values."""
        values = {
            "unit_id": self.unit_id,
            "path_id": self.path_id,
            "step_id": self.step_id,
            "channel": self.channel,
            "contact_mode": self.contact_mode,
        }
        return {name: value for name, value in values.items() if value is not None}

    def conditions(self, table: Table = rollups, time: str = "bucket") -> list[ColumnElement[bool]]:
        """WHERE terms on ``table``; ``time`` names its UTC time column (the comment list
        filters ``responses.answered_at`` with the same rules as the roll-ups' buckets)."""
        c = table.c
        where: list[ColumnElement[bool]] = [
            c[name] == value for name, value in self.dimensions().items()
        ]
        if self.start is not None:
            where.append(c[time] >= self.start)
        if self.end is not None:
            where.append(c[time] < self.end)
        if not self.include_misuse:
            where.append(c.misuse.is_(False))
        return where


async def grouped_counts(
    conn: AsyncConnection,
    where: StatsFilter,
    by: Sequence[Dimension] = (),
    *,
    period: Period | None = None,
    use_cubes: bool = True,
) -> list[Any]:
    """Sum of answers per (``by``…, [period], question, option) over the filtered rows.

    Rows are named tuples with the ``by`` columns, ``period`` (a local-time label, see
    :func:`local_period`) when asked, then ``question``, ``option`` and ``count``.
    Grouping by local period happens in SQL so replies carry periods, not hours.
    ``use_cubes=False`` reads the hourly roll-up, the reference the cubes are tested against.
    """
    needed = {*by, *where.dimensions()}
    pieces = (
        cubes.plan(needed, period, where.start, where.end)
        if use_cubes
        else [(None, (where.start, where.end))]
    )
    selects = [
        _sum_from(conn.dialect.name, replace(where, start=low, end=high), by, period, cube)
        for cube, (low, high) in pieces
    ]
    if len(selects) == 1:
        return list(await conn.execute(selects[0]))
    parts = union_all(*selects).subquery()
    keys = [column for column in parts.c if column.name != "count"]
    stmt = select(*keys, func.sum(parts.c.count).label("count")).group_by(*keys)
    return list(await conn.execute(stmt))


def _sum_from(
    dialect: str,
    where: StatsFilter,
    by: Sequence[Dimension],
    period: Period | None,
    cube: cubes.Cube | None,
) -> Select[Any]:
    """Grouped sum over one roll-up: a cube, or the hourly table when ``cube`` is None."""
    table = rollups if cube is None else cube_table
    conditions = where.conditions(table)
    if cube is not None:
        conditions.append(table.c.cube == cube.number)
    columns: list[Any] = [table.c[name].label(name) for name in by]
    if cube is not None and cube.hour_slots:
        columns.append(_two_digits(dialect, table.c.slot).label("period"))
    elif period is not None:
        columns.append(local_period(dialect, period, table.c.bucket).label("period"))
    columns += [table.c.question, table.c.option]
    return (
        select(*columns, func.sum(table.c.count).label("count"))
        .where(*conditions)
        .group_by(*columns)
    )


def local_period(
    dialect: str, period: Period, bucket: ColumnElement[dt.datetime]
) -> ColumnElement[str]:
    """Helsinki-time label of a UTC bucket start: ISO date of the day, the week's Monday or
    the month's first day; two-digit hour; ISO weekday "1" (Monday) … "7"."""
    if dialect == "postgresql":
        local = func.timezone(ZONE, bucket)
        formats = {
            "day": func.to_char(local, "YYYY-MM-DD"),
            "week": func.to_char(func.date_trunc("week", local), "YYYY-MM-DD"),
            "month": func.to_char(local, "YYYY-MM-01"),
            "hour": func.to_char(local, "HH24"),
            "weekday": func.to_char(local, "ID"),
        }
        return formats[period]
    shift = _sqlite_offset(bucket)
    formats = {
        "day": func.date(bucket, shift),
        "week": func.date(bucket, shift, "weekday 0", "-6 days"),
        "month": func.strftime("%Y-%m-01", bucket, shift),
        "hour": func.strftime("%H", bucket, shift),
        # %w counts from Sunday = 0; make it ISO (Sunday = 7).
        "weekday": func.replace(func.strftime("%w", bucket, shift), "0", "7"),
    }
    return formats[period]


def _two_digits(dialect: str, number: ColumnElement[int]) -> ColumnElement[str]:
    """ "07" for 7: an hour slot spelled as :func:`local_period` spells hours."""
    if dialect == "postgresql":
        return func.to_char(number, "FM00")
    return func.printf("%02d", number)


def _sqlite_offset(bucket: ColumnElement[dt.datetime]) -> ColumnElement[str]:
    """'+3 hours' inside EU summer time (last Sunday of March to last Sunday of October,
    01:00 UTC), else '+2 hours': Helsinki's UTC offset, spelled as a SQLite date modifier."""
    summer = [
        (
            and_(bucket >= _last_sunday(year, 3), bucket < _last_sunday(year, 10)),
            "+3 hours",
        )
        for year in DST_YEARS
    ]
    return case(*summer, else_=literal("+2 hours"))


def _last_sunday(year: int, month: int) -> dt.datetime:
    last = dt.date(year, month, 31)
    day = last - dt.timedelta(days=(last.weekday() + 1) % 7)
    return dt.datetime(day.year, day.month, day.day, 1, tzinfo=dt.UTC)
