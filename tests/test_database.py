"""The ingest path's direct driver statements fail the way SQLAlchemy's would.

``driver_connection`` skips SQLAlchemy's execution layer for speed; these tests show
that it does not skip what that layer does on failure: a database that cannot serve is
an ``OperationalError`` (the API's 503), a broken connection leaves the pool, and any
other error stays an error (a 500, never a silent 503).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from server.database import create_engine, driver_connection
from server.settings import Settings

pytestmark = pytest.mark.postgresql_only


def test_a_connection_killed_under_a_statement_is_unavailable_and_leaves_the_pool(
    settings: Settings,
) -> None:
    async def scenario() -> tuple[OperationalError, int, int, int]:
        engine = create_engine(replace(settings, db_pool_size=1))
        try:
            async with engine.connect() as conn:
                async with driver_connection(conn) as driver:
                    killed = int(await driver.fetchval("SELECT pg_backend_pid()"))
                async with engine.connect() as other, driver_connection(other) as admin:
                    await admin.execute(f"SELECT pg_terminate_backend({killed})")
                with pytest.raises(OperationalError) as failure:
                    async with driver_connection(conn) as driver:
                        await driver.fetchval("SELECT 1")
            async with engine.connect() as conn, driver_connection(conn) as driver:
                serving = int(await driver.fetchval("SELECT pg_backend_pid()"))
                answer = int(await driver.fetchval("SELECT 41 + 1"))
            return failure.value, killed, serving, answer
        finally:
            await engine.dispose()

    error, killed, serving, answer = asyncio.run(scenario())
    assert error.connection_invalidated
    assert serving != killed
    assert answer == 42


def test_a_statement_timeout_is_unavailable_and_the_connection_still_serves(
    settings: Settings,
) -> None:
    async def scenario() -> tuple[OperationalError, int]:
        engine = create_engine(settings)
        try:
            async with engine.connect() as conn:
                async with driver_connection(conn) as driver:
                    await driver.execute("SET statement_timeout = '50ms'")
                with pytest.raises(OperationalError) as failure:
                    async with driver_connection(conn) as driver:
                        await driver.fetchval("SELECT pg_sleep(2)")
                async with driver_connection(conn) as driver:
                    return failure.value, int(await driver.fetchval("SELECT 7"))
        finally:
            await engine.dispose()

    error, answer = asyncio.run(scenario())
    assert not error.connection_invalidated
    assert getattr(error.orig, "sqlstate", None) == "57014"
    assert answer == 7


def test_an_error_in_the_statement_stays_an_error_not_an_outage(settings: Settings) -> None:
    async def scenario() -> DBAPIError:
        engine = create_engine(settings)
        try:
            async with engine.connect() as conn:
                with pytest.raises(DBAPIError) as failure:
                    async with driver_connection(conn) as driver:
                        await driver.fetchval("SELECT 1 / 0")
                return failure.value
        finally:
            await engine.dispose()

    error = asyncio.run(scenario())
    assert not isinstance(error, OperationalError)
    assert "division by zero" in str(error)
