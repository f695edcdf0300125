"""Issue 2's yardstick: a bare Litestar handler doing one asyncpg insert plus one roll-up upsert.

The issue quotes about 3,300 single POSTs/s and 60,000 batched answers/s for this stack
on the 2-core machine; Kaiku's targets are 2,500/s and 30,000/s. What the machine does
varies from day to day (it is a shared virtual machine), so this measures the yardstick
under the same load generator, the same connections and the same minutes as
``bench.ingest``: Kaiku's figures read against it, not only against the absolute ones.

    python -m bench.bare_stack [--workers 1,2] [--seconds 8]

Nothing of Kaiku runs here except the benchmark plumbing: no authentication, rate
limits, validation beyond msgspec's, repeat-tap check, cubes or metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
import httpx
import msgspec
from litestar import Litestar, Response, post

from bench.common import CpuSample, Load, run_wrk
from tests.support.databases import create_database, drop_database
from tests.support.live import free_port

DSN_VARIABLE = "KAIKU_BARE_STACK_DSN"
SCHEMA = (
    "CREATE TABLE answers (id uuid PRIMARY KEY, path text NOT NULL, step text, "
    "rating text NOT NULL, answered_at timestamptz NOT NULL)",
    "CREATE TABLE answer_rollups (bucket timestamptz, path text, rating text, "
    "count integer NOT NULL, PRIMARY KEY (bucket, path, rating))",
)
INSERT = (
    "INSERT INTO answers (id, path, step, rating, answered_at) VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT (id) DO NOTHING"
)
UPSERT = (
    "INSERT INTO answer_rollups (bucket, path, rating, count) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (bucket, path, rating) DO UPDATE SET count = answer_rollups.count + $4"
)


class Answer(msgspec.Struct):
    id: uuid.UUID
    path: str
    rating: str
    answered_at: dt.datetime
    step: str | None = None


class Batch(msgspec.Struct):
    items: list[Answer]


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def create_app() -> Litestar:
    """The bare app (``uvicorn --factory bench.bare_stack:create_app``)."""
    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(os.environ[DSN_VARIABLE], min_size=10, max_size=10)
        try:
            yield
        finally:
            await pool.close()

    @post("/api/v1/responses", status_code=201)
    async def single(data: Answer) -> Response[dict[str, str]]:
        assert pool is not None
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(INSERT, data.id, data.path, data.step, data.rating, data.answered_at)
            await conn.execute(UPSERT, _hour(data.answered_at), data.path, data.rating, 1)
        return Response({"id": str(data.id), "status": "stored"}, status_code=201)

    @post("/api/v1/responses/batch", status_code=200)
    async def batch(data: Batch) -> dict[str, Any]:
        assert pool is not None
        counts = Counter((_hour(a.answered_at), a.path, a.rating) for a in data.items)
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                INSERT, [(a.id, a.path, a.step, a.rating, a.answered_at) for a in data.items]
            )
            await conn.executemany(UPSERT, [(*key, n) for key, n in sorted(counts.items())])
        return {"stored": len(data.items), "duplicates": 0, "rejected": 0}

    return Litestar(route_handlers=[single, batch], lifespan=[lifespan])


@contextmanager
def running_bare_stack(workers: int) -> Iterator[tuple[str, int, str]]:
    """(base URL, server pid, database URL) of the bare app on a fresh PostgreSQL database."""
    url = create_database("postgresql", migrate=False)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    process: subprocess.Popen[bytes] | None = None
    try:
        asyncio.run(_create_schema(dsn))
        port = free_port()
        command = [
            sys.executable, "-m", "uvicorn", "bench.bare_stack:create_app", "--factory",
            "--port", str(port), "--workers", str(workers), "--no-access-log",
            "--log-level", "warning",
        ]  # fmt: skip
        process = subprocess.Popen(command, env={**os.environ, DSN_VARIABLE: dsn})
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base)
        yield base, process.pid, url
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        drop_database(url)


async def _create_schema(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for statement in SCHEMA:
            await conn.execute(statement)
    finally:
        await conn.close()


def _wait_until_up(base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.post(f"{base}/api/v1/responses/batch", json={"items": []}, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("the bare stack did not start")


def measure(
    workers: int, seconds: float, warmup: float, connections: int, batch: int
) -> dict[str, float]:
    """Print a row per kind (single, batch) and return answers/s per kind."""
    rates: dict[str, float] = {}
    with running_bare_stack(workers) as (base, pid, url):
        for kind, size in (("single", 0), ("batch", batch)):
            load = Load(base, ("bare",), size, connections, warmup)
            run_wrk(load)
            before = CpuSample.take(pid, url)
            outcome = run_wrk(Load(base, ("bare",), size, connections, seconds))
            app, postgres = CpuSample.take(pid, url).cores_since(before)
            rate = outcome.answers_per_second(size or 1) or 1.0
            print(
                f"bare stack {workers} {kind:6} {rate:>10,.0f} {outcome.p50_ms:7.1f} "
                f"{outcome.p99_ms:7.1f} {outcome.failed_requests:6d}   app {app:4.2f} "
                f"{1e6 * app / rate:6.0f} µs  pg {1e6 * postgres / rate:5.0f} µs  "
                f"load {os.getloadavg()[0]:4.1f}",
                flush=True,
            )
            rates[kind] = rate
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bare_stack", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--workers", default="1,2", help="comma-separated uvicorn worker counts")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)
    print("stack      wrk kind    answers/s  p50 ms  p99 ms failed   cores and CPU per answer")
    for workers in (int(w) for w in args.workers.split(",") if w.strip()):
        measure(workers, args.seconds, args.warmup, args.connections, args.batch_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
