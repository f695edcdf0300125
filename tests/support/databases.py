"""Create and drop throw-away databases for a test run (SQLite file or PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from pathlib import Path

import asyncpg

from server.database import create_engine
from server.migrations_runner import upgrade
from server.settings import Settings

POSTGRES_ADMIN_DSN = os.environ.get(
    "KAIKU_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def backend() -> str:
    value = os.environ.get("KAIKU_TEST_DB", "sqlite")
    if value not in ("sqlite", "postgresql"):
        raise RuntimeError("KAIKU_TEST_DB must be sqlite or postgresql")
    return value


def create_database(kind: str, *, migrate: bool = True) -> str:
    """A new, empty (optionally migrated) database; returns its SQLAlchemy URL."""
    name = f"kaiku_test_{uuid.uuid4().hex[:12]}"
    if kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="kaiku-test-"))
        url = f"sqlite+aiosqlite:///{directory / (name + '.db')}"
    else:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "")
        url = f"postgresql+asyncpg://{base}/{name}"
    if migrate:
        asyncio.run(_migrate(url))
    return url


def drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    name = url.rsplit("/", 1)[1]
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
