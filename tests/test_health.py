"""Health endpoints: what a load balancer sees when the process, database or schema is off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import text

from server.app import create_app
from server.migrations_runner import head_revision
from server.settings import Settings

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:1/x"


@pytest.fixture
def unreachable() -> Iterator[TestClient[Litestar]]:
    app = create_app(Settings(env="test", database_url=UNREACHABLE, auto_migrate=False))
    with TestClient(app) as client:
        yield client


def test_the_app_starts_and_stops_cleanly_while_the_database_is_down() -> None:
    """A load balancer restarts pods during outages; shutdown must not crash on the database."""
    app = create_app(Settings(env="test", database_url=UNREACHABLE, auto_migrate=False))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200


def test_healthz_answers_without_the_database(unreachable: TestClient[Litestar]) -> None:
    reply = unreachable.get("/healthz")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "detail": ""}


def test_readyz_is_ok_on_a_migrated_database(client: TestClient[Litestar]) -> None:
    reply = client.get("/readyz")
    assert reply.status_code == 200
    assert reply.json()["status"] == "ok"
    assert client.get("/healthz").status_code == 200


def test_readyz_is_503_quickly_when_the_database_is_unreachable(
    unreachable: TestClient[Litestar],
) -> None:
    started = time.monotonic()
    reply = unreachable.get("/readyz")
    elapsed = time.monotonic() - started

    assert reply.status_code == 503
    assert reply.headers["retry-after"].isdigit()
    assert reply.json()["status"] == "unavailable"
    assert reply.json()["detail"].startswith("database")
    assert "postgres@" not in reply.text, "no connection details leak to the caller"
    assert elapsed < 3, f"readiness probe took {elapsed:.1f} s"


def test_readyz_is_503_while_migrations_are_behind(client: TestClient[Litestar], run: Any) -> None:
    def set_revision(revision: str) -> None:
        async def update(session: Any) -> None:
            await session.execute(
                text("UPDATE alembic_version SET version_num = :v"), {"v": revision}
            )

        run(update)

    head = head_revision()
    assert head is not None
    set_revision("0000_older")
    try:
        reply = client.get("/readyz")
    finally:
        set_revision(head)

    assert reply.status_code == 503
    assert reply.json()["detail"] == f"migrations: at 0000_older, need {head}"
    assert client.get("/readyz").status_code == 200
