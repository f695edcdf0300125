"""Migrations: up from empty on the current backend, idempotent, and in step with the models."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, column, insert, inspect, table
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.feedback import repository
from server.feedback.models import ResponseRollup
from server.feedback.repository import RollupKey
from server.feedback.scales import FFT_OPTIONS
from server.migrations_runner import current_revision, head_revision, upgrade
from server.schema import Base
from tests.support.databases import backend, create_database, drop_database

pytestmark = pytest.mark.db


@pytest.fixture
def empty_url() -> Iterator[str]:
    url = create_database(backend(), migrate=False)
    yield url
    drop_database(url)


def _on(url: str, fn: Any) -> Any:
    """Run ``fn(engine)`` on a fresh engine and dispose of it afterwards."""

    async def main() -> Any:
        engine = create_async_engine(url)
        try:
            return await fn(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


async def _state(engine: AsyncEngine) -> tuple[str | None, set[str]]:
    async with engine.connect() as conn:
        revision = await current_revision(conn)
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    return revision, tables


async def _differences(engine: AsyncEngine) -> list[Any]:
    def compare(sync: Connection) -> list[Any]:
        context = MigrationContext.configure(sync, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        return list(await conn.run_sync(compare))


def test_upgrade_from_empty_reaches_head_with_every_table(empty_url: str) -> None:
    revision, tables = _on(empty_url, _state)
    assert revision is None
    assert not tables & set(Base.metadata.tables)

    _on(empty_url, upgrade)
    revision, tables = _on(empty_url, _state)

    assert head_revision() is not None
    assert revision == head_revision()
    assert set(Base.metadata.tables) <= tables


def test_second_upgrade_is_a_no_op(empty_url: str) -> None:
    _on(empty_url, upgrade)
    before = _on(empty_url, _state)
    _on(empty_url, upgrade)
    assert _on(empty_url, _state) == before


def test_models_and_migrations_agree(empty_url: str) -> None:
    """What `alembic check` does: autogenerate against the migrated schema finds nothing."""
    _on(empty_url, upgrade)
    assert _on(empty_url, _differences) == []


def test_cubes_are_backfilled_from_an_existing_roll_up(empty_url: str) -> None:
    """Upgrading an installation with answers gives cubes that add up to its roll-up."""
    start = dt.datetime(2025, 3, 29, 20, tzinfo=dt.UTC)  # around a summer-time change
    hours = [start + dt.timedelta(hours=7 * n) for n in range(300)]  # into May
    rollup = {
        RollupKey(hour, 1, 1 + n % 3, n % 4, "kiosk", "in_person", "fft", FFT_OPTIONS[n % 6],
                  n % 11 == 0): 1 + n % 5
        for n, hour in enumerate(hours)
    }  # fmt: skip

    async def before(engine: AsyncEngine) -> None:
        await upgrade(engine, "0010")
        # the table as 0010 left it (the model has columns added since)
        names = [*RollupKey._fields, "count"]
        typed = ResponseRollup.__table__.c
        as_then = table("response_rollups", *(column(name, typed[name].type) for name in names))
        async with engine.begin() as conn:
            await conn.execute(
                insert(as_then), [{**k._asdict(), "count": n} for k, n in rollup.items()]
            )

    async def cubes(engine: AsyncEngine) -> Any:
        await upgrade(engine)
        async with engine.connect() as conn:
            return await repository.cubes_contents(conn)

    _on(empty_url, before)
    assert _on(empty_url, cubes) == repository.cubes_from_rollup(rollup)
