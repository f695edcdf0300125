"""Backups restore into a fresh database with identical contents."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from server.backup import restore_postgresql
from server.cli import main
from server.schema import Base
from tests.feedback.helpers import answer, bearer
from tests.support.databases import backend, create_database, drop_database
from tests.support.fixtures import Seeded

# Written by the running app's background workers at any moment, so not comparable
# between a backup and the live database a moment later.
VOLATILE = {"scheduled_jobs", "rate_limits"}


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every (non-volatile) table, in a stable order."""

    async def read() -> dict[str, list[tuple[Any, ...]]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return {
                    table.name: sorted(
                        (tuple(row) for row in await conn.execute(select(table))), key=repr
                    )
                    for table in Base.metadata.sorted_tables
                    if table.name not in VOLATILE
                }
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_backup_restores_to_identical_contents(
    client: TestClient[Litestar], seeded: Seeded, database_url: str, tmp_path: Path
) -> None:
    items = [answer(rating=r) for r in ("good", "poor", "very_good")]
    reply = client.post(
        "/api/v1/responses/batch", json={"items": items}, headers=bearer(seeded.kiosk_key)
    )
    assert reply.json()["stored"] == 3
    destination = tmp_path / "kaiku.backup"

    result = CliRunner().invoke(
        main, ["backup", str(destination)], env={"KAIKU_DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output
    assert destination.stat().st_size > 0

    if backend() == "sqlite":
        restored_url = f"sqlite+aiosqlite:///{destination}"
        assert snapshot(restored_url) == snapshot(database_url)
        return
    restored_url = create_database("postgresql", migrate=False)
    try:
        restore_postgresql(destination, restored_url)
        assert snapshot(restored_url) == snapshot(database_url)
    finally:
        drop_database(restored_url)


def test_backup_refuses_to_overwrite(database_url: str, tmp_path: Path, settings: Any) -> None:
    destination = tmp_path / "exists"
    destination.write_text("keep me")
    result = CliRunner().invoke(
        main, ["backup", str(destination)], env={"KAIKU_DATABASE_URL": database_url}
    )
    assert result.exit_code == 1
    assert "exists" in result.output
    assert destination.read_text() == "keep me"
