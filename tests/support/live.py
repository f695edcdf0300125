"""A real Kaiku server on loopback (uvicorn in a subprocess) with its own database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from server.catalog.models import Kiosk
from server.feedback.kiosks import create_pairing_code
from server.feedback.models import Response
from tests.support.databases import create_database, drop_database
from tests.support.fixtures import Seeded, seed

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveKaiku:
    base_url: str
    database_url: str
    seeded: Seeded
    environ: Mapping[str, str]
    port: int
    workers: int = 1
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "server is not running"
        return self.process.pid

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            cwd=ROOT,
            env=dict(self.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        _wait_ready(self.base_url, self.process)

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the whole process group, then SIGKILL if stuck)."""
        if self.process is None:
            return
        _signal_group(self.process, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(self.process, signal.SIGKILL)
            self.process.wait(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def kill(self) -> None:
        """SIGKILL every process of the server at once, as a crash or OOM kill would."""
        assert self.process is not None
        _signal_group(self.process, signal.SIGKILL)
        self.process.wait(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    @property
    def kiosk_code(self) -> str:
        return self.seeded.kiosk_code

    @property
    def device_key(self) -> str:
        return self.seeded.kiosk_key

    def run(self, fn: Any) -> Any:
        """``fn(session)`` on the server's database, committed (seeding and checks)."""

        async def main() -> Any:
            engine = create_async_engine(self.database_url)
            try:
                async with AsyncSession(engine, expire_on_commit=False) as session:
                    result = await fn(session)
                    await session.commit()
                    return result
            finally:
                await engine.dispose()

        # A thread of its own: callers may be inside a running loop (Playwright's sync API).
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, main()).result()

    def pair_code(self) -> str:
        """A fresh one-time pairing code for the seeded kiosk."""

        async def make(session: AsyncSession) -> str:
            kiosk = await session.scalar(select(Kiosk).where(Kiosk.code == self.kiosk_code))
            assert kiosk is not None
            return await create_pairing_code(session, kiosk, minutes=15)

        return str(self.run(make))

    def stored_responses(self) -> int:
        async def count(session: AsyncSession) -> int:
            return int(await session.scalar(select(func.count()).select_from(Response)) or 0)

        return int(self.run(count))

    def metrics_text(self) -> str:
        return httpx.get(f"{self.base_url}/metrics", timeout=10).text


@contextmanager
def live_kaiku(
    backend: str,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    database_url: str | None = None,
) -> Iterator[LiveKaiku]:
    """Start Kaiku on a free port against a fresh, seeded database; stop and drop after.

    With ``database_url`` the given (migrated, empty) database is seeded and used instead,
    and left in place afterwards.
    """
    url = database_url or create_database(backend)
    seeded = _seed(url)
    port = free_port()
    environ = {
        **os.environ,
        "KAIKU_ENV": "test",
        "KAIKU_DATABASE_URL": url,
        "KAIKU_MISUSE_INTERVAL_SECONDS": "0",
        "KAIKU_METRICS_REFRESH_SECONDS": "0",
        "KAIKU_AUTH_CACHE_SECONDS": "0",
        "KAIKU_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **(env or {}),
    }
    live = LiveKaiku(f"http://127.0.0.1:{port}", url, seeded, environ, port, workers)
    try:
        live.start()
        yield live
    finally:
        live.stop()
        if database_url is None:
            drop_database(url)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _seed(url: str) -> Seeded:
    async def main() -> Seeded:
        engine = create_async_engine(url)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                return await seed(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"Kaiku exited during start:\n{err[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"Kaiku did not become ready at {base} within {timeout} s")
