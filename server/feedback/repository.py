"""All SQL on ``responses`` and ``response_rollups`` (Core statements: this is the hot path)."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import cache, lru_cache
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import Integer, bindparam, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.database import UTCDateTime, driver_connection, upsert_insert
from server.feedback import cubes
from server.feedback.cubes import CubeKey
from server.feedback.models import Response, ResponseCube, ResponseRollup, ResponseTotal
from server.feedback.statistics import HELSINKI

responses = Response.__table__
rollups = ResponseRollup.__table__
totals = ResponseTotal.__table__
cube_table = ResponseCube.__table__


SHARDS = 4
"""Rows a hot counter cell may be spread over on PostgreSQL (see migration 0015): four
concurrent ingests can count in one cell without waiting for each other's commit, while
a cell is at most four rows for the statistics to sum."""
_shard_turns = itertools.count()

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
        return text(  # names and types are the table's own, never input
            f"INSERT INTO {table.name} ({', '.join(fields)}, count) "  # noqa: S608
            f"SELECT * FROM {_recordset(table, [*fields, 'count'], ':rows', 'rows')} "
            f"{_add_on_conflict(table, fields)}"
        )
    insert = upsert_insert(dialect, table)
    return insert.on_conflict_do_update(
        index_elements=[*fields, "shard"],
        set_={"count": table.c.count + insert.excluded.count},
    )


INSERT_COUNTED_PARAMETERS = ("shard", "rows", "rollups", "totals", "cubes")


@cache
def _insert_counted_statement() -> str:
    """PostgreSQL: :func:`insert_counted` as one statement, parameters as numbered in
    :data:`INSERT_COUNTED_PARAMETERS`.

    ``rows`` holds the answers, each with ``rk``, the index of its roll-up key; ``rollups``,
    ``totals`` and ``cubes`` hold the cells each key adds to (a key's cells, one per
    cube, in ``cubes``). Only answers the insert keeps are counted, in shard ``shard``.
    """
    number = {name: f"${n}" for n, name in enumerate(INSERT_COUNTED_PARAMETERS, start=1)}
    names = [column.name for column in responses.columns]
    columns = ", ".join(names)
    incoming = _recordset(responses, names, number["rows"], "rows", rk=True)
    steps = [
        f"incoming AS (SELECT * FROM {incoming})",  # noqa: S608
        f"new AS (INSERT INTO responses ({columns}) SELECT {columns} FROM incoming "  # noqa: S608
        "ON CONFLICT (id) DO NOTHING RETURNING id)",
        "counted AS (SELECT rk, count(*) AS n FROM incoming JOIN new USING (id) GROUP BY rk)",
    ]
    for name, (table, fields) in _COUNTED.items():
        keys = ", ".join(fields)
        steps.append(  # sorted, so that concurrent ingests lock shared cells in one order
            f"{name} AS (INSERT INTO {table.name} ({keys}, shard, count) "  # noqa: S608
            f"SELECT {keys}, CAST({number['shard']} AS SMALLINT), CAST(sum(n) AS INTEGER) "
            f"FROM counted JOIN {_recordset(table, fields, number[name], name, rk=True)} "
            f"USING (rk) GROUP BY {keys} ORDER BY {keys} {_add_on_conflict(table, fields)})"
        )
    # names and types are the tables' own, never input
    return f"WITH {', '.join(steps)} SELECT id FROM new"  # noqa: S608


def _recordset(
    table: Any, names: Sequence[str], source: str, alias: str, *, rk: bool = False
) -> str:
    """``json_to_recordset`` over the JSON array in parameter ``source``, typed as
    ``table``'s columns.

    Rows travel as one JSON text that msgspec writes in C and PostgreSQL reads into the
    columns' own types: one array parameter per column (``unnest``) cost asyncpg an
    ABC ``isinstance`` check per cell, a third of the ingest's Python time.
    """
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    typed = [f"{name} {table.c[name].type.compile(dialect=dialect)}" for name in names]
    if rk:
        typed.append("rk INTEGER")
    return f"json_to_recordset(CAST({source} AS json)) AS {alias}_in({', '.join(typed)})"


def _add_on_conflict(table: Any, fields: Sequence[str]) -> str:
    return (
        f"ON CONFLICT ({', '.join(fields)}, shard) "
        f"DO UPDATE SET count = {table.name}.count + excluded.count"
    )


def _json(rows: Iterable[Any]) -> str:
    return msgspec.json.encode(list(rows)).decode()


#: Distinct roll-up cells kept with their cube cells: a county's busy hours hold a few
#: thousand, and working one out costs about 65 µs (time zones), its JSON 30 µs more.
CUBE_CACHE_SIZE = 8192


@lru_cache(maxsize=CUBE_CACHE_SIZE)
def cube_keys(key: RollupKey) -> tuple[CubeKey, ...]:
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
    return tuple(result)


@lru_cache(maxsize=CUBE_CACHE_SIZE)
def _cube_cells(key: RollupKey) -> tuple[dict[str, Any], ...]:
    """:func:`cube_keys` as dicts for the JSON parameter (copied, never changed)."""
    return tuple(cell._asdict() for cell in cube_keys(key))


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


@asynccontextmanager
async def ingest_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The connection for :func:`insert_counted` and the reads around it.

    PostgreSQL: no transaction, since the insert is one statement (a BEGIN and a COMMIT
    would each be a further round trip with the counter rows locked); the hot statements
    go to the driver, which commits each by itself. SQLite: one transaction around it all.
    """
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            yield conn
    else:
        async with engine.begin() as conn:
            yield conn


async def insert_counted(
    conn: AsyncConnection, rows: Sequence[Mapping[str, Any]], keys: Sequence[RollupKey]
) -> set[uuid.UUID]:
    """Insert the rows whose id is new, count each (by its entry in ``keys``) in the roll-up,
    the totals and the cubes, all or nothing; return the ids inserted.

    On PostgreSQL this is one statement, so it needs no transaction around it: the shared
    counter rows are then locked only while it runs and commits, not across further round
    trips to a busy Python process (concurrent ingests queue on those rows). SQLite takes
    several statements: call it in a transaction there.
    """
    if not rows:
        return set()
    if conn.dialect.name != "postgresql":
        inserted = await _insert_new(conn, rows)
        pairs = zip(rows, keys, strict=True)
        await increment_rollups(conn, Counter(key for row, key in pairs if row["id"] in inserted))
        return inserted
    index: dict[RollupKey, int] = {}
    numbered = [
        {**row, "rk": index.setdefault(key, len(index))}
        for row, key in zip(rows, keys, strict=True)
    ]
    params = {
        "shard": next(_shard_turns) % SHARDS,
        "rows": _json(numbered),
        "rollups": _json({**key._asdict(), "rk": rk} for key, rk in index.items()),
        "totals": _json({**total_key(key)._asdict(), "rk": rk} for key, rk in index.items()),
        "cubes": _json(
            {**cell, "rk": rk} for key, rk in index.items() for cell in _cube_cells(key)
        ),
    }
    values = [params[name] for name in INSERT_COUNTED_PARAMETERS]
    async with driver_connection(conn) as driver:
        records = await driver.fetch(_insert_counted_statement(), *values)
    return {record[0] for record in records}


async def _insert_new(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> set[uuid.UUID]:
    """Insert rows whose id is new; return the ids actually inserted."""
    # Statements are built once per dialect: building them is a visible cost per request.
    result = await conn.execute(_insert_new_statement(conn.dialect.name), list(rows))
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
    """Read the latest answer time a kiosk has stored between ``start`` and ``end``."""

    kiosk_id: int
    start: dt.datetime
    end: dt.datetime


TAP_TIMES_POSTGRESQL = """
SELECT w.kiosk_id, latest.answered_at
FROM unnest($1::integer[], $2::timestamptz[], $3::timestamptz[]) AS w(kiosk_id, since, until)
CROSS JOIN LATERAL (
  SELECT max(r.answered_at) AS answered_at FROM responses AS r
  WHERE r.kiosk_id = w.kiosk_id AND r.answered_at >= w.since AND r.answered_at <= w.until
) AS latest
"""
"""PostgreSQL: one statement for any number of windows, prepared once per connection;
LATERAL keeps each window one backward index probe."""


#: SQLite's default limit on the selects of one UNION ALL (SQLITE_MAX_COMPOUND_SELECT).
SQLITE_MAX_COMPOUND_TERMS = 500


@lru_cache(maxsize=64)
def _tap_times_statement(windows: int) -> Any:
    """SQLite: one UNION ALL of ``windows`` probes (at most SQLITE_MAX_COMPOUND_TERMS).

    Cached per size: building and compiling a select per window on every transaction
    was a visible cost of the ingest path.
    """
    # Only parameter numbers are put into the text; every value is a bound parameter.
    latest = (
        "SELECT :k{n} AS kiosk_id, max(answered_at) AS answered_at FROM responses "
        "WHERE kiosk_id = :k{n} AND answered_at >= :start{n} AND answered_at <= :end{n}"
    )
    params = [
        bindparam(f"{name}{n}", type_=kind)
        for n in range(windows)
        for name, kind in (("k", Integer()), ("start", UTCDateTime()), ("end", UTCDateTime()))
    ]
    sql = " UNION ALL ".join(latest.format(n=n) for n in range(windows))
    return text(sql).bindparams(*params).columns(kiosk_id=Integer(), answered_at=UTCDateTime())


async def stored_tap_times(
    conn: AsyncConnection, windows: Sequence[TapWindow]
) -> dict[int, list[dt.datetime]]:
    """The latest stored answer time per window (windows with none left out), per kiosk,
    in one round trip."""
    if not windows:
        return {}
    rows: Iterable[Any]
    if conn.dialect.name == "postgresql":
        kiosk_ids, starts, ends = zip(*windows, strict=True)
        async with driver_connection(conn) as driver:
            rows = await driver.fetch(TAP_TIMES_POSTGRESQL, kiosk_ids, starts, ends)
    else:
        rows = []
        for first in range(0, len(windows), SQLITE_MAX_COMPOUND_TERMS):
            chunk = windows[first : first + SQLITE_MAX_COMPOUND_TERMS]
            params: dict[str, Any] = {}
            for n, (kiosk_id, start, end) in enumerate(chunk):
                params |= {f"k{n}": kiosk_id, f"start{n}": start, f"end{n}": end}
            rows += (await conn.execute(_tap_times_statement(len(chunk)), params)).all()
    times: dict[int, list[dt.datetime]] = {}
    for kiosk_id, answered_at in rows:
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
    await _add_counts(conn, "rollups", increments)
    await _add_counts(conn, "totals", totals_from_rollup(increments))
    await _add_counts(conn, "cubes", cubes_from_rollup(increments))


async def _add_counts(conn: AsyncConnection, table_name: str, counts: Mapping[Any, int]) -> None:
    rows = [{**key._asdict(), "count": n} for key, n in sorted(counts.items())]
    statement = _increment_statement(conn.dialect.name, table_name)
    if conn.dialect.name == "postgresql":
        await conn.execute(statement, {"rows": _json(rows)})
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


async def _contents(conn: AsyncConnection, table: Any, key: Any) -> dict[Any, int]:
    """Every non-empty cell of a counter table, its shards summed (tests and repair)."""
    fields = [table.c[name] for name in key._fields]
    stmt = select(*fields, func.sum(table.c.count)).group_by(*fields)
    return {key(*row[:-1]): row[-1] for row in await conn.execute(stmt) if row[-1]}


async def rollup_contents(conn: AsyncConnection) -> dict[RollupKey, int]:
    return await _contents(conn, rollups, RollupKey)


async def totals_by_series(
    conn: AsyncConnection, at_least: int = 1
) -> list[tuple[int, int, int, str, str, str, int]]:
    """All-time counts per metric series of ``at_least`` answers, excluding misuse (one
    row per series): (unit_id, path_id, step_id, channel, contact_mode, option, total) as
    plain tuples, since every scrape walks thousands of them."""
    series = [
        totals.c.unit_id,
        totals.c.path_id,
        totals.c.step_id,
        totals.c.channel,
        totals.c.contact_mode,
        totals.c.option,
    ]
    total = func.sum(totals.c.count)
    stmt = (
        select(*series, total.label("total"))
        .where(totals.c.misuse.is_(False))
        .group_by(*series)
        .having(total >= max(1, at_least))
    )
    return [tuple(row) for row in (await conn.execute(stmt)).all()]


async def totals_contents(conn: AsyncConnection) -> dict[TotalKey, int]:
    return await _contents(conn, totals, TotalKey)


def cubes_from_rollup(rollup: Mapping[RollupKey, int]) -> dict[CubeKey, int]:
    """What the cubes must hold given the roll-up (ingest, migration backfill, tests)."""
    result: dict[CubeKey, int] = {}
    for key, n in rollup.items():
        for cube_key in cube_keys(key):
            result[cube_key] = result.get(cube_key, 0) + n
    return result


async def cubes_contents(conn: AsyncConnection) -> dict[CubeKey, int]:
    return await _contents(conn, cube_table, CubeKey)


def totals_from_rollup(rollup: Mapping[RollupKey, int]) -> dict[TotalKey, int]:
    """What the totals must hold given the roll-up (ingest, tests and repair)."""
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
