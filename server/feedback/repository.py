"""All SQL on ``responses`` and ``response_rollups`` (Core statements: this is the hot path)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, TextClause, Uuid, bindparam, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from server.database import UTCDateTime, upsert_insert
from server.feedback import cubes
from server.feedback.cubes import CubeKey
from server.feedback.models import Response, ResponseCube, ResponseRollup, ResponseTotal
from server.feedback.statistics import HELSINKI

responses = Response.__table__
rollups = ResponseRollup.__table__
totals = ResponseTotal.__table__
cube_table = ResponseCube.__table__


REBUILD_TOTALS_SQL = (
    "INSERT INTO response_totals "
    "(unit_id, path_id, step_id, channel, contact_mode, option, misuse, count) "
    "SELECT unit_id, path_id, step_id, channel, contact_mode, option, misuse, SUM(count) "
    "FROM response_rollups "
    "GROUP BY unit_id, path_id, step_id, channel, contact_mode, option, misuse"
)
"""Fill an empty ``response_totals`` from the roll-up (bulk loads; repair)."""


class TotalKey(NamedTuple):
    unit_id: int
    path_id: int
    step_id: int
    channel: str
    contact_mode: str
    option: str
    misuse: bool


class RollupKey(NamedTuple):
    bucket: dt.datetime
    unit_id: int
    path_id: int
    step_id: int
    channel: str
    contact_mode: str
    question: str
    option: str
    misuse: bool


@cache
def _insert_new_statement(dialect: str) -> Any:
    if dialect == "postgresql":
        every_column = [column.name for column in responses.columns]
        return _unnest_insert(responses, every_column, "(id) DO NOTHING RETURNING id").columns(
            id=Uuid()
        )
    return (
        upsert_insert(dialect, responses)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(responses.c.id)
    )


_COUNTED: dict[str, tuple[Any, tuple[str, ...]]] = {
    "rollups": (rollups, RollupKey._fields),
    "totals": (totals, TotalKey._fields),
    "cubes": (cube_table, CubeKey._fields),
}


@cache
def _increment_statement(dialect: str, table_name: str) -> Any:
    table, fields = _COUNTED[table_name]
    if dialect == "postgresql":
        keys = ", ".join(fields)
        return _unnest_insert(
            table,
            [*fields, "count"],
            f"({keys}) DO UPDATE SET count = {table.name}.count + excluded.count",
        )
    insert = upsert_insert(dialect, table)
    return insert.on_conflict_do_update(
        index_elements=list(fields),
        set_={"count": table.c.count + insert.excluded.count},
    )


def _unnest_insert(table: Any, names: Sequence[str], on_conflict: str) -> TextClause:
    """PostgreSQL: insert many rows as one array per column, ``ON CONFLICT <on_conflict>``.

    One statement whatever the number of rows, and the driver encodes arrays in C: the
    row-by-row alternatives (a VALUES list with a parameter per cell, or one execution
    per row) cost more Python per cell and more PostgreSQL work per row. Column types
    come from the table; JSON travels as text and is cast back.
    """
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    arrays, values = [], []
    for name in names:
        kind = table.c[name].type.compile(dialect=dialect)
        is_json = "JSON" in kind
        arrays.append(f"CAST(:{name} AS {'TEXT' if is_json else kind}[])")
        values.append(f"CAST({name} AS {kind})" if is_json else name)
    columns = ", ".join(names)
    return text(  # names and types are the table's own, never input
        f"INSERT INTO {table.name} ({columns}) SELECT {', '.join(values)} "  # noqa: S608
        f"FROM unnest({', '.join(arrays)}) AS incoming({columns}) ON CONFLICT {on_conflict}"
    )


def _as_arrays(
    rows: Sequence[Mapping[str, Any]], json_columns: Sequence[str] = ()
) -> dict[str, Any]:
    """Row dicts as one list per column, for :func:`_unnest_insert` (JSON as text)."""
    columns: dict[str, list[Any]] = {name: [row[name] for row in rows] for name in rows[0]}
    for name in json_columns:
        columns[name] = [None if v is None else json.dumps(v) for v in columns[name]]
    return columns


def cube_keys(key: RollupKey) -> list[CubeKey]:
    """The cube cells an hourly roll-up cell adds to, one per cube."""
    starts = {grain: cubes.grain_start(key.bucket, grain) for grain in cubes.GRAIN_ORDER}
    values: dict[str, Any] = key._asdict()
    result = []
    for cube in cubes.CUBES:
        kept = {
            name: values[name] if name in cube.dimensions else cubes.EMPTY[name]
            for name in cubes.ALL_DIMENSIONS
        }
        slot = key.bucket.astimezone(HELSINKI).hour if cube.hour_slots else cubes.NO_SLOT
        fields = {
            **values,
            **kept,
            "cube": cube.number,
            "bucket": starts[cube.grain],
            "slot": slot,
        }
        result.append(CubeKey(**{name: fields[name] for name in CubeKey._fields}))
    return result


def total_key(key: RollupKey) -> TotalKey:
    return TotalKey(
        key.unit_id,
        key.path_id,
        key.step_id,
        key.channel,
        key.contact_mode,
        key.option,
        key.misuse,
    )


async def insert_new(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> set[uuid.UUID]:
    """Insert rows whose id is new; return the ids actually inserted."""
    if not rows:
        return set()
    # Statements are built once per dialect: building them is a visible cost per request.
    statement = _insert_new_statement(conn.dialect.name)
    if conn.dialect.name == "postgresql":
        result = await conn.execute(statement, _as_arrays(rows, json_columns=("reasons",)))
    else:
        result = await conn.execute(statement, list(rows))
    return set(result.scalars().all())


async def fingerprints(conn: AsyncConnection, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    ids = list(ids)
    if not ids:
        return {}
    rows = await conn.execute(
        select(responses.c.id, responses.c.fingerprint).where(responses.c.id.in_(ids))
    )
    return {row.id: row.fingerprint for row in rows}


class TapWindow(NamedTuple):
    """Stored answer times of one kiosk to read for the repeat-tap check.

    ``latest_only``: just the latest time in the window (one index probe), enough when
    the kiosk has a single new answer; otherwise every time in the window.
    """

    kiosk_id: int
    start: dt.datetime
    end: dt.datetime
    latest_only: bool


@cache
def _tap_times_statement(probes: int, ranges: int) -> Any:
    """One UNION ALL over ``probes`` latest-only windows, then ``ranges`` full ones.

    Plain SQL that both backends read alike, cached per shape: building and compiling
    a select per kiosk on every transaction was a visible cost of the ingest path.
    """
    # Only parameter numbers are put into the text; every value is a bound parameter.
    latest = (
        "SELECT :k{n} AS kiosk_id, max(answered_at) AS answered_at FROM responses "
        "WHERE kiosk_id = :k{n} AND answered_at >= :start{n} AND answered_at <= :end{n}"
    )
    every = (
        "SELECT kiosk_id, answered_at FROM responses "
        "WHERE kiosk_id = :k{n} AND answered_at >= :start{n} AND answered_at <= :end{n}"
    )
    parts = [latest if n < probes else every for n in range(probes + ranges)]
    params = [
        bindparam(f"{name}{n}", type_=kind)
        for n in range(probes + ranges)
        for name, kind in (("k", Integer()), ("start", UTCDateTime()), ("end", UTCDateTime()))
    ]
    sql = " UNION ALL ".join(part.format(n=n) for n, part in enumerate(parts))
    return text(sql).bindparams(*params).columns(kiosk_id=Integer(), answered_at=UTCDateTime())


async def stored_tap_times(
    conn: AsyncConnection, windows: Sequence[TapWindow]
) -> dict[int, list[dt.datetime]]:
    """Answer times already stored per kiosk in each window, in one round trip."""
    if not windows:
        return {}
    ordered = sorted(windows, key=lambda window: not window.latest_only)
    probes = sum(window.latest_only for window in ordered)
    params: dict[str, Any] = {}
    for n, window in enumerate(ordered):
        params |= {f"k{n}": window.kiosk_id, f"start{n}": window.start, f"end{n}": window.end}
    statement = _tap_times_statement(probes, len(ordered) - probes)
    times: dict[int, list[dt.datetime]] = {}
    for kiosk_id, answered_at in await conn.execute(statement, params):
        if answered_at is not None:
            times.setdefault(kiosk_id, []).append(answered_at)
    return times


async def increment_rollups(conn: AsyncConnection, increments: Mapping[RollupKey, int]) -> None:
    """Add counts to roll-up rows, the cubes and the per-series totals, creating rows as needed.

    Keys are applied in sorted order so concurrent transactions lock rows in the same
    order and cannot deadlock each other on PostgreSQL.
    """
    if not increments:
        return
    series: dict[TotalKey, int] = {}
    for key, n in increments.items():
        series[total_key(key)] = series.get(total_key(key), 0) + n
    await _add_counts(conn, "rollups", increments)
    await _add_counts(conn, "totals", series)
    await _add_counts(conn, "cubes", cubes_from_rollup(increments))


async def _add_counts(conn: AsyncConnection, table_name: str, counts: Mapping[Any, int]) -> None:
    rows = [{**key._asdict(), "count": n} for key, n in sorted(counts.items())]
    statement = _increment_statement(conn.dialect.name, table_name)
    if conn.dialect.name == "postgresql":
        await conn.execute(statement, _as_arrays(rows))
    else:
        await conn.execute(statement, rows)


async def recount_from_raw(conn: AsyncConnection) -> dict[RollupKey, int]:
    """What the roll-up should hold, recounted from raw rows (tests and repair)."""
    bucket_rows = await conn.execute(
        select(
            responses.c.answered_at,
            responses.c.unit_id,
            responses.c.path_id,
            responses.c.step_id,
            responses.c.channel,
            responses.c.contact_mode,
            responses.c.question,
            responses.c.option,
            responses.c.misuse,
        )
    )
    counts: dict[RollupKey, int] = {}
    for row in bucket_rows:
        key = rollup_key(
            row.answered_at,
            row.unit_id,
            row.path_id,
            row.step_id,
            row.channel,
            row.contact_mode,
            row.question,
            row.option,
            row.misuse,
        )
        counts[key] = counts.get(key, 0) + 1
    return counts


async def rollup_contents(conn: AsyncConnection) -> dict[RollupKey, int]:
    rows = await conn.execute(select(rollups))
    return {
        RollupKey(*(row._mapping[f] for f in RollupKey._fields)): row._mapping["count"]
        for row in rows
        if row._mapping["count"]
    }


async def totals_by_series(
    conn: AsyncConnection, at_least: int = 1
) -> list[tuple[int, int, int, str, str, str, int]]:
    """All-time counts per metric series of ``at_least`` answers, excluding misuse (one
    row per series): (unit_id, path_id, step_id, channel, contact_mode, option, total) as
    plain tuples, since every scrape walks thousands of them."""
    stmt = select(
        totals.c.unit_id,
        totals.c.path_id,
        totals.c.step_id,
        totals.c.channel,
        totals.c.contact_mode,
        totals.c.option,
        totals.c.count.label("total"),
    ).where(totals.c.misuse.is_(False), totals.c.count >= max(1, at_least))
    return [tuple(row) for row in (await conn.execute(stmt)).all()]


async def totals_contents(conn: AsyncConnection) -> dict[TotalKey, int]:
    rows = await conn.execute(select(totals))
    return {
        TotalKey(*(row._mapping[f] for f in TotalKey._fields)): row._mapping["count"]
        for row in rows
        if row._mapping["count"]
    }


def cubes_from_rollup(rollup: Mapping[RollupKey, int]) -> dict[CubeKey, int]:
    """What the cubes must hold given the roll-up (ingest, migration backfill, tests)."""
    result: dict[CubeKey, int] = {}
    for key, n in rollup.items():
        for cube_key in cube_keys(key):
            result[cube_key] = result.get(cube_key, 0) + n
    return result


async def cubes_contents(conn: AsyncConnection) -> dict[CubeKey, int]:
    rows = await conn.execute(select(cube_table))
    return {
        CubeKey(*(row._mapping[f] for f in CubeKey._fields)): row._mapping["count"]
        for row in rows
        if row._mapping["count"]
    }


def totals_from_rollup(rollup: dict[RollupKey, int]) -> dict[TotalKey, int]:
    """What the totals must hold given the roll-up (tests and repair)."""
    result: dict[TotalKey, int] = {}
    for key, n in rollup.items():
        result[total_key(key)] = result.get(total_key(key), 0) + n
    return result


async def count_responses(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(responses)) or 0)


def rollup_key(
    answered_at: dt.datetime,
    unit_id: int,
    path_id: int,
    step_id: int | None,
    channel: str,
    contact_mode: str,
    question: str,
    option: str,
    misuse: bool,
) -> RollupKey:
    bucket = answered_at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    return RollupKey(
        bucket, unit_id, path_id, step_id or 0, channel, contact_mode, question, option, misuse
    )
