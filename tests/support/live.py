"""A real Kaiku server on loopback (uvicorn in a subprocess) with its own database."""

from __future__ import annotations

import asyncio
import os
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
    process: subprocess.Popen[bytes]

    @property
    def kiosk_code(self) -> str:
        return self.seeded.kiosk_code

    @property
    def device_key(self) -> str:
        return self.seeded.kiosk_key

    def _db(self, fn: Any) -> Any:
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

        return str(self._db(make))

    def stored_responses(self) -> int:
        async def count(session: AsyncSession) -> int:
            return int(await session.scalar(select(func.count()).select_from(Response)) or 0)

        return int(self._db(count))

    def metrics_text(self) -> str:
        return httpx.get(f"{self.base_url}/metrics", timeout=10).text


@contextmanager
def live_kaiku(
    backend: str, env: Mapping[str, str] | None = None, workers: int = 1
) -> Iterator[LiveKaiku]:
    """Start Kaiku on a free port against a fresh, seeded database; stop and drop after."""
    url = create_database(backend)
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
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process)
        yield LiveKaiku(base, url, seeded, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if process.stderr:
            process.stderr.close()
        drop_database(url)


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
