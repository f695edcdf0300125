"""Shared benchmark machinery: a real Kaiku to measure, load generators, percentiles.

The server is the one the test-suite uses (``tests.support.live.live_kaiku``: uvicorn in a
subprocess on a fresh, migrated and seeded database), but with the *production* values
for the settings the tests shorten, so the figures describe what a deployment does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import math
import multiprocessing
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.keys import create_key
from server.auth.roles import Role
from server.catalog.models import Kiosk
from server.feedback.scales import FFT_OPTIONS
from tests.support.live import LiveKaiku, live_kaiku
from tests.support.processes import process_table

LUA_SCRIPT = Path(__file__).with_name("ingest.lua")
PRODUCTION_LIKE_ENV = {
    # live_kaiku shortens these for tests; a benchmark must pay what production pays.
    "KAIKU_MISUSE_INTERVAL_SECONDS": "5",
    "KAIKU_METRICS_REFRESH_SECONDS": "5",
    "KAIKU_AUTH_CACHE_SECONDS": "5",
}


@contextmanager
def running_kaiku(
    backend: str, workers: int, env: Mapping[str, str] | None = None
) -> Iterator[LiveKaiku]:
    """Kaiku with ``workers`` uvicorn workers on a fresh seeded ``backend`` database."""
    with live_kaiku(backend, {**PRODUCTION_LIKE_ENV, **(env or {})}, workers) as server:
        yield server


def kiosk_fleet(server: LiveKaiku, count: int, workers: int = 1) -> list[str]:
    """Device keys of ``count`` kiosks like the seeded one (same unit and services).

    Load comes from many kiosks, as in a deployment: each device key has its own rate
    limit (KAIKU_RATE_LIMIT_KIOSK_PER_MINUTE), its own repeat-tap check and its own
    cache entry, and a benchmark from a single key would measure that key's limit.
    Every kiosk sends ``3 × workers`` heartbeats first, so that each worker process has
    most likely seen every key (its key cache and rate-limit lease), as in a fleet that
    has been running: otherwise a short run on several workers measures cold caches.
    """

    async def make(session: AsyncSession) -> list[str]:
        model = await session.scalar(select(Kiosk).where(Kiosk.code == server.kiosk_code))
        assert model is not None
        kiosks = [
            Kiosk(unit_id=model.unit_id, code=f"bench-{n:05d}", name=f"Bench {n}",
                  services=model.services)
            for n in range(count)
        ]  # fmt: skip
        session.add_all(kiosks)
        await session.flush()
        keys = [await create_key(session, k.code, Role.KIOSK, kiosk_id=k.id) for k in kiosks]
        return [key.secret for key in keys]

    keys: list[str] = server.run(make)
    _heartbeat_all(server.base_url, keys * (3 * workers))
    return keys


def _heartbeat_all(base_url: str, keys: Sequence[str]) -> None:
    """One heartbeat per kiosk, as a deployed fleet sends: the server has seen every key."""

    def beat(key: str) -> None:
        reply = httpx.post(
            f"{base_url}/api/v1/kiosks/heartbeat",
            json={"outbox_pending": 0},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        reply.raise_for_status()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(beat, keys))


@dataclass(frozen=True)
class Load:
    """What to send: ``batch`` = 0 for single POSTs, else answers per batch request.

    Requests take the device keys in turn, so the load comes from every kiosk alike.
    ``spread_seconds`` > 0 makes each batch a kiosk's flushed queue: its answers are
    spread over that many seconds, and each kiosk's next batch covers the span before
    its last one, so a kiosk's answers are as far apart as a real kiosk's (a hundred
    over 6,000 s is one a minute) instead of all stamped now.
    """

    base_url: str
    device_keys: tuple[str, ...]
    batch: int
    connections: int
    seconds: float
    spread_seconds: int = 0

    @property
    def path(self) -> str:
        return "/api/v1/responses/batch" if self.batch else "/api/v1/responses"

    @property
    def answers_per_request(self) -> int:
        return self.batch or 1


@dataclass(frozen=True)
class Outcome:
    """What a load run saw. Latencies in milliseconds; ``stored`` counts answers."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    stored: int
    duplicate: int
    rejected: int
    failed_requests: int
    unanswered: int
    """Requests that may have been stored without a reply seen (cut off at the end, timed out)."""

    def answers_per_second(self, per_request: int) -> float:
        return self.requests * per_request / self.seconds if self.seconds else 0.0


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0.0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def answer(now: dt.datetime | None = None) -> dict[str, str]:
    """One valid answer for the seeded kiosk, with a fresh id."""
    moment = now or dt.datetime.now(dt.UTC)
    return {
        "id": str(uuid.uuid4()),
        "path": "toimeentulotuki",
        "step": "ensitapaaminen",
        "rating": random.choice(FFT_OPTIONS),
        "answered_at": moment.isoformat().replace("+00:00", "Z"),
    }


class QueuedStamps:
    """Answer times for batches as flushed kiosk queues (see ``Load.spread_seconds``);
    bench/ingest.lua does the same for wrk."""

    def __init__(self, spread_seconds: int) -> None:
        self.spread = dt.timedelta(seconds=spread_seconds)
        self.cursors: dict[str, dt.datetime] = {}

    def batch(self, key: str, size: int) -> list[dt.datetime]:
        end = self.cursors.get(key) or dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.cursors[key] = end - self.spread
        step = self.spread / size
        return [end - step * index - step * random.random() for index in range(size)]


def body(batch: int, key: str = "", stamps: QueuedStamps | None = None) -> dict[str, Any]:
    if not batch:
        return answer()
    if stamps is not None and stamps.spread:
        return {"items": [answer(moment) for moment in stamps.batch(key, batch)]}
    now = dt.datetime.now(dt.UTC)
    return {"items": [answer(now) for _ in range(batch)]}


# --- wrk -------------------------------------------------------------------------------


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(load: Load) -> Outcome:
    """Drive ``load`` with wrk (one thread: C, so it leaves the cores to the server)."""
    seconds = max(1, round(load.seconds))
    with tempfile.NamedTemporaryFile("w", suffix=".keys", delete=False) as keys:
        keys.write("\n".join(load.device_keys) + "\n")
    command = [
        "wrk", "-t1", f"-c{load.connections}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(LUA_SCRIPT), load.base_url + load.path,
        "--", keys.name, str(load.batch), str(random.randrange(1, 2**31)),
        str(load.spread_seconds),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    finally:
        os.unlink(keys.name)
    line = next((row for row in done.stdout.splitlines() if row.startswith("KAIKU_BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("KAIKU_BENCH "))
    return Outcome(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        stored=data["stored"],
        duplicate=data["duplicate"],
        rejected=data["rejected"],
        failed_requests=data["bad_status"] + data["socket_errors"] + data["timeouts"],
        # wrk stops with up to one request in flight per connection; those may be stored.
        unanswered=load.connections + data["socket_errors"] + data["timeouts"],
    )


# --- httpx (fallback when wrk is not installed) ----------------------------------------


def run_httpx(load: Load) -> Outcome:
    """Drive ``load`` with httpx.AsyncClient in a separate process (own core, own GIL)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        result: Outcome = pool.apply(_httpx_process, (load,))
    return result


def _httpx_process(load: Load) -> Outcome:
    return asyncio.run(_httpx_load(load))


async def _httpx_load(load: Load) -> Outcome:
    latencies: list[float] = []
    counts = {"stored": 0, "duplicate": 0, "rejected": 0, "failed": 0, "unanswered": 0}
    limits = httpx.Limits(
        max_connections=load.connections, max_keepalive_connections=load.connections
    )
    turn = itertools.cycle(load.device_keys)
    stamps = QueuedStamps(load.spread_seconds)
    async with httpx.AsyncClient(base_url=load.base_url, limits=limits, timeout=10) as client:
        start = time.perf_counter()
        deadline = start + load.seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                key = next(turn)
                try:
                    reply = await client.post(
                        load.path,
                        json=body(load.batch, key, stamps),
                        headers={"Authorization": f"Bearer {key}"},
                    )
                except httpx.HTTPError:
                    counts["failed"] += 1
                    counts["unanswered"] += 1
                    continue
                latencies.append((time.perf_counter() - sent) * 1000)
                _count(reply, load.batch, counts)

        await asyncio.gather(*(worker() for _ in range(load.connections)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return Outcome(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        stored=counts["stored"],
        duplicate=counts["duplicate"],
        rejected=counts["rejected"],
        failed_requests=counts["failed"],
        unanswered=counts["unanswered"],
    )


def _count(reply: httpx.Response, batch: int, counts: dict[str, int]) -> None:
    if not batch:
        key = {201: "stored", 200: "duplicate"}.get(reply.status_code, "failed")
        counts[key] += 1
        return
    if reply.status_code != 200:
        counts["failed"] += 1
        return
    data = reply.json()
    counts["stored"] += data["stored"]
    counts["duplicate"] += data["duplicates"]
    counts["rejected"] += data["rejected"]


def run_load(load: Load, generator: str) -> Outcome:
    """Run ``load`` with ``generator`` ("wrk" or "httpx")."""
    return run_wrk(load) if generator == "wrk" else run_httpx(load)


# --- CPU accounting --------------------------------------------------------------------


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds so far of the Kaiku process tree and of each PostgreSQL backend serving it.

    Backends are kept per pid: one that exits between two samples (a pool connection
    closed) takes its CPU time with it, so only the growth of backends still alive is
    summed. The PostgreSQL figure is therefore a lower bound, never a negative one.
    """

    server: float
    postgres: dict[int, float]
    wall: float

    @classmethod
    def take(cls, server_pid: int, database_url: str) -> CpuSample:
        table = process_table()
        tree = {server_pid}
        for pid in sorted(table):  # children have larger pids than their parents, mostly
            if table[pid][0] in tree:
                tree.add(pid)
        # A backend's command line is "postgres: user database host(port) state".
        backend = f" {database_url.rsplit('/', 1)[1]} " if "postgresql" in database_url else None
        return cls(
            server=sum(table[pid][2] for pid in tree if pid in table),
            postgres={
                pid: cpu
                for pid, (_, command, cpu) in table.items()
                if backend and command.startswith("postgres:") and backend in command
            },
            wall=time.monotonic(),
        )

    def cores_since(self, earlier: CpuSample) -> tuple[float, float]:
        """Average cores used by (server, PostgreSQL) between ``earlier`` and now."""
        span = (self.wall - earlier.wall) or 1.0
        postgres = sum(cpu - earlier.postgres.get(pid, 0.0) for pid, cpu in self.postgres.items())
        return (self.server - earlier.server) / span, postgres / span
