"""Migrations: up from empty on the current backend, idempotent, and in step with the models."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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
