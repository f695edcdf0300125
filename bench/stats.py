"""Statistics and /metrics cost at 100,000 and 5,000,000 stored answers.

Answers are generated over two years (weekday opening hours in Helsinki, every path,
step, channel and contact mode of the example catalog) and bulk-loaded straight into
``responses`` and ``response_rollups`` (COPY on PostgreSQL, executemany on SQLite), then
the main statistics requests and a ``/metrics`` scrape are timed in-process through the
real application (p50 of 20 runs each, after one warm-up). Every size is loaded first, into
its own database; then each request is timed against the sizes in turns, so that they are
compared in the same seconds.

    python -m bench.stats                         # both backends, 100k and 5M
    python -m bench.stats --backend sqlite --sizes 100000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import random
import sqlite3
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from server.app import create_app
from server.auth.keys import create_key
from server.auth.roles import Role
from server.catalog.lookup import CatalogSnapshot, load_snapshot
from server.feedback import repository
from server.feedback.repository import REBUILD_TOTALS_SQL, RollupKey
from server.feedback.scales import OPTIONS, QUESTION
from server.feedback.statistics import HELSINKI
from server.settings import Settings
from tests.support.databases import create_database, drop_database
from tests.support.fixtures import seed

CHUNK = 100_000
RUNS = 20
BUDGET_S = 20.0
YEARS = 2
#: channel → contact modes it is used with
ORIGINS = {
    "kiosk": ("in_person",),
    "qr": ("in_person", "home_visit"),
    "sms": ("video", "phone", "chat", "home_visit"),
    "web": ("video", "chat"),
}
RESPONSE_COLUMNS = (
    "id", "fingerprint", "unit_id", "path_id", "step_id", "kiosk_id", "channel",
    "contact_mode", "question", "option", "reasons", "comment", "comment_review",
    "language", "misuse", "answered_at", "received_at",
)  # fmt: skip
ROLLUP_COLUMNS = (
    "bucket", "unit_id", "path_id", "step_id", "channel", "contact_mode", "question",
    "option", "misuse", "count",
)  # fmt: skip
TARGET_MS = 50.0
API = "/api/v1/stats"


@dataclass(frozen=True)
class Series:
    unit_id: int
    path_id: int
    step_id: int | None
    question: str
    options: tuple[str, ...]


def opening_hours(end: dt.datetime) -> list[dt.datetime]:
    """UTC hour buckets of weekday 8–16 Helsinki time over the last two years."""
    hour = (end - dt.timedelta(days=365 * YEARS)).replace(minute=0, second=0, microsecond=0)
    hours = []
    while hour < end:
        local = hour.astimezone(HELSINKI)
        if local.isoweekday() <= 5 and 8 <= local.hour < 16:
            hours.append(hour)
        hour += dt.timedelta(hours=1)
    return hours


def all_series(catalog: CatalogSnapshot) -> list[Series]:
    out = []
    for path in catalog.paths_by_id.values():
        question, options = QUESTION[path.scale], OPTIONS[path.scale]
        for step_id in [None, *(s.id for s in path.steps.values())]:
            out.append(Series(path.unit_id, path.id, step_id, question, options))
    return out


Chunk = tuple[list[tuple[Any, ...]], list[dt.datetime]]


def generate(catalog: CatalogSnapshot, n: int, seed_: int = 7) -> Iterator[Chunk]:
    """Chunks of response rows (in RESPONSE_COLUMNS order) with each row's hour bucket;
    deterministic per seed."""
    rng = random.Random(seed_)
    series = all_series(catalog)
    # Some paths are far busier than others, and answers lean positive, as in real data.
    weights = [rng.paretovariate(1.5) for _ in series]
    origins = [(c, m) for c, modes in ORIGINS.items() for m in modes]
    origin_weights = [8 if c == "kiosk" else 3 if c == "sms" else 1 for c, _ in origins]
    hours = opening_hours(dt.datetime.now(dt.UTC))
    left = n
    while left > 0:
        size = min(CHUNK, left)
        left -= size
        picks = rng.choices(series, weights, k=size)
        where = rng.choices(origins, origin_weights, k=size)
        when = rng.choices(hours, k=size)
        rows = []
        for s, (channel, mode), hour in zip(picks, where, when, strict=True):
            option = s.options[min(int(rng.expovariate(0.9)), len(s.options) - 1)]
            if s.question == "recommendation":
                option = s.options[-1 - min(int(rng.expovariate(0.4)), 10)]
            at = hour + dt.timedelta(seconds=rng.randrange(3600))
            rows.append(
                (
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    "0" * 64,
                    s.unit_id,
                    s.path_id,
                    s.step_id,
                    None,
                    channel,
                    mode,
                    s.question,
                    option,
                    "[]",
                    None,
                    False,
                    "fi",
                    False,
                    at,
                    at,
                )
            )
        yield rows, when


def rollup_of(chunk: Chunk, into: Counter[tuple[Any, ...]]) -> None:
    rows, hours = chunk
    for r, bucket in zip(rows, hours, strict=True):
        into[(bucket, r[2], r[3], r[4] or 0, r[6], r[7], r[8], r[9], False)] += 1


CUBE_COLUMNS = ("cube", "bucket", "slot", *ROLLUP_COLUMNS[1:])


def cube_records(counts: Counter[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The cube rows ingest would have written for these hourly roll-up counts."""
    cells = repository.cubes_from_rollup({RollupKey(*key): n for key, n in counts.items()})
    return [(*key, n) for key, n in cells.items()]


async def load_postgresql(url: str, catalog: CatalogSnapshot, n: int) -> int:
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(dsn)
    counts: Counter[tuple[Any, ...]] = Counter()
    try:
        for chunk in generate(catalog, n):
            await conn.copy_records_to_table(
                "responses", records=chunk[0], columns=RESPONSE_COLUMNS
            )
            rollup_of(chunk, counts)
        await conn.copy_records_to_table(
            "response_rollups",
            records=[(*k, v) for k, v in counts.items()],
            columns=ROLLUP_COLUMNS,
        )
        await conn.copy_records_to_table(
            "response_cubes", records=cube_records(counts), columns=CUBE_COLUMNS
        )
        await conn.execute(REBUILD_TOTALS_SQL)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return len(counts)


def load_sqlite(url: str, catalog: CatalogSnapshot, n: int) -> int:
    def stamp(value: dt.datetime) -> str:
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    db = sqlite3.connect(url.split(":///", 1)[1])
    counts: Counter[tuple[Any, ...]] = Counter()
    marks = ",".join("?" * len(RESPONSE_COLUMNS))
    try:
        for chunk in generate(catalog, n):
            db.executemany(
                f"INSERT INTO responses ({','.join(RESPONSE_COLUMNS)}) VALUES ({marks})",
                [(r[0].hex, *r[1:15], stamp(r[15]), stamp(r[16])) for r in chunk[0]],
            )
            rollup_of(chunk, counts)
        db.executemany(
            f"INSERT INTO response_rollups ({','.join(ROLLUP_COLUMNS)}) "
            f"VALUES ({','.join('?' * len(ROLLUP_COLUMNS))})",
            [(stamp(k[0]), *k[1:], v) for k, v in counts.items()],
        )
        db.executemany(
            f"INSERT INTO response_cubes ({','.join(CUBE_COLUMNS)}) "
            f"VALUES ({','.join('?' * len(CUBE_COLUMNS))})",
            [(r[0], stamp(r[1]), *r[2:]) for r in cube_records(counts)],
        )
        db.execute(REBUILD_TOTALS_SQL)
        db.commit()
        db.execute("ANALYZE")
    finally:
        db.close()
    return len(counts)


async def prepare(url: str) -> tuple[CatalogSnapshot, str]:
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            await seed(session)
            key = await create_key(session, "bench manager", Role.MANAGER)
            await session.commit()
            return await load_snapshot(session), key.secret
    finally:
        await engine.dispose()


def requests(catalog: CatalogSnapshot) -> dict[str, tuple[str, dict[str, str]]]:
    """The statistics a manager opens most, and a scrape."""
    busiest = next(iter(catalog.paths_by_id.values()))
    unit = catalog.units[busiest.unit_id]
    one_path = {"unit": unit, "path": busiest.code}
    today = dt.date.today()
    last = (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")

    def since(days: int) -> dict[str, str]:
        return {"from": (today - dt.timedelta(days=days)).isoformat()}

    return {
        "overview: all paths, 28 d": (f"{API}/summary", {"group_by": "path", **since(28)}),
        "path by step, 365 d": (f"{API}/summary", {"group_by": "step", **one_path, **since(365)}),
        "path trend by month, 2 y": (f"{API}/trend", {"interval": "month", **one_path}),
        "path weekly trend, 90 d": (f"{API}/trend", {"interval": "week", **one_path, **since(90)}),
        "path by hour, 365 d": (f"{API}/patterns", {"pattern": "hour", **one_path, **since(365)}),
        "contact modes, 90 d": (f"{API}/compare", {"by": "contact_mode", **one_path, **since(90)}),
        "NHS FFT export, 1 month": (f"{API}/export/nhs-fft.csv", {"month": last}),
        "all paths by month, 2 y": (f"{API}/trend", {"interval": "month"}),
        "/metrics scrape": ("/metrics", {}),
    }  # fmt: skip


def interleaved_p50_ms(calls: Sequence[Callable[[], Any]]) -> list[float]:
    """Median of RUNS timed calls of each of ``calls``, taken in turns.

    The sizes are compared in the same seconds: a burst of other work on the machine
    slows every size alike instead of whichever happened to be measured then. Calls
    slower than a second get fewer rounds (at least 5, within about BUDGET_S), since
    their verdict is not in doubt.
    """
    for call in calls:
        call()  # warm-up
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(RUNS):
        for call, taken in zip(calls, times, strict=True):
            start = time.perf_counter()
            call()
            taken.append((time.perf_counter() - start) * 1000)
        if len(times[0]) >= 5 and sum(map(sum, times)) > BUDGET_S * 1000:
            break
    return [statistics.median(taken) for taken in times]


@dataclass(frozen=True)
class Loaded:
    """A database holding ``answers`` generated answers, and a manager key to read it."""

    answers: int
    url: str
    catalog: CatalogSnapshot
    manager_key: str
    rollup_rows: int
    load_seconds: float


def load(backend: str, n: int) -> Loaded:
    url = create_database(backend)
    try:
        catalog, key = asyncio.run(prepare(url))
        start = time.perf_counter()
        if backend == "postgresql":
            rollups = asyncio.run(load_postgresql(url, catalog, n))
        else:
            rollups = load_sqlite(url, catalog, n)
    except BaseException:
        drop_database(url)
        raise
    return Loaded(n, url, catalog, key, rollups, time.perf_counter() - start)


def measure(loaded: Sequence[Loaded]) -> dict[str, list[float]]:
    """p50 per request name, one figure per loaded database (in order), taken in turns."""
    with ExitStack() as stack:
        clients = []
        for each in loaded:
            settings = Settings(
                env="test",
                database_url=each.url,
                auto_migrate=False,
                metrics_refresh_seconds=0,
                auth_cache_seconds=3600,
            )
            client = stack.enter_context(TestClient(create_app(settings)))
            client.headers["Authorization"] = f"Bearer {each.manager_key}"
            clients.append(client)
        # The app's logging set-up logs every test-client request; the figures are the output.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        result: dict[str, list[float]] = {}
        for name, (path, params) in requests(loaded[0].catalog).items():
            calls = [
                partial(_get, client, path, params) for client in clients
            ]  # the same request against each size
            result[name] = interleaved_p50_ms(calls)
        return result


def _get(client: TestClient[Any], path: str, params: dict[str, str]) -> None:
    client.get(path, params=params).raise_for_status()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--sizes", default="100000,5000000", help="comma-separated answer counts")
    args = parser.parse_args(argv)
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    sizes = [int(s) for s in args.sizes.split(",")]
    missed = False
    for backend in backends:
        loaded: list[Loaded] = []
        try:
            for n in sizes:
                loaded.append(load(backend, n))
                each = loaded[-1]
                print(
                    f"\n{backend}: {n:,} answers, {each.rollup_rows:,} roll-up rows, "
                    f"loaded in {each.load_seconds:.0f} s",
                    flush=True,
                )
            figures = measure(loaded)
        finally:
            for each in loaded:
                drop_database(each.url)
        header = " | ".join(f"{n:,} p50 ms" for n in sizes)
        print(f"\n| {backend} | {header} | target |\n|---|{'---|' * len(sizes)}---|")
        for name, times in figures.items():
            cells = " | ".join(f"{ms:.1f}" for ms in times)
            small, big = times[0], times[-1]
            ok = big < TARGET_MS and big <= 2 * small
            missed |= not ok
            print(f"| {name} | {cells} | {'PASS' if ok else 'MISS'} |")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
