"""Shared fixtures. ``KAIKU_TEST_DB=sqlite|postgresql`` picks the backend for db tests."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import create_app
from server.database import create_engine
from server.schema import Base
from server.settings import Settings
from tests.support.databases import backend, create_database, drop_database
from tests.support.fixtures import Seeded, seed

T = TypeVar("T")

# Timing deadlines make property tests flaky on a loaded 2-core CI machine; speed is
# measured by the benchmarks in bench/, not by tests.
hypothesis_settings.register_profile(
    "kaiku", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("kaiku")
DB_FIXTURES = {
    "session_database",
    "database_url",
    "settings",
    "app",
    "client",
    "seeded",
    "run",
    "live_kiosk",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that touch the database run once per backend (the ``db`` marker).

    Tests about PostgreSQL itself (``postgresql_only``) are deselected, not skipped, in
    the SQLite pass: they run in the PostgreSQL pass of the same test command.
    """
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if DB_FIXTURES & names:
            item.add_marker(pytest.mark.db)
        if "browser" in names:
            item.add_marker(pytest.mark.browser)
    # Playwright's sync API keeps an event loop running in this thread for the rest of
    # the session, which breaks asyncio.run() in later tests: browser tests go last.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
    if backend() == "sqlite":
        deselected = [item for item in items if item.get_closest_marker("postgresql_only")]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if item not in deselected]


def pytest_report_header() -> str:
    return f"kaiku database backend: {backend()}"


@pytest.fixture(scope="session")
def session_database() -> Iterator[str]:
    """One migrated database per run (on SQLite: the template each test copies)."""
    url = create_database(backend())
    yield url
    drop_database(url)


@pytest.fixture
def database_url(session_database: str, tmp_path: Path) -> str:
    """An empty, migrated database for this test.

    On SQLite each test gets its own copy of the migrated template file, so nothing a
    previous test left behind (not even a lingering lock) can reach it; PostgreSQL
    tests share the run's database, emptied before each test.
    """
    if session_database.startswith("sqlite"):
        target = tmp_path / "kaiku.db"
        shutil.copyfile(session_database.split(":///", 1)[1], target)
        return f"sqlite+aiosqlite:///{target}"
    _empty(session_database)
    return session_database


def _empty(url: str) -> None:
    import asyncio

    async def run() -> None:
        # A longer busy timeout than the app's: on a loaded two-core machine a previous
        # test's background worker can hold SQLite's write lock for a while.
        engine = create_engine(Settings(database_url=url, db_statement_timeout_seconds=60))
        async with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(delete(table))
        await engine.dispose()

    asyncio.run(run())


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        auto_migrate=False,
        misuse_interval_seconds=0,
        metrics_refresh_seconds=0,
        auth_cache_seconds=0,
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def run(client: TestClient[Litestar]) -> Callable[[Callable[[AsyncSession], Awaitable[T]]], T]:
    """Run ``fn(session)`` on the app's own engine and event loop, then commit."""
    services = client.app.state.services

    def runner(fn: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async def wrapped() -> Any:
            async with services.session() as session:
                result = await fn(session)
                await session.commit()
                return result

        return client.blocking_portal.call(wrapped)

    return runner


@pytest.fixture
def seeded(run: Callable[..., Any]) -> Seeded:
    result: Seeded = run(seed)
    return result


@pytest.fixture(scope="session")
def live_kiosk() -> Iterator[Any]:
    """A real Kaiku on loopback with the example catalog, for browser and process tests."""
    from tests.support.live import live_kaiku

    with live_kaiku(backend()) as live:
        yield live
