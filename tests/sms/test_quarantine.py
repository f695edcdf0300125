"""Quarantine and idempotency under truly concurrent contacts (many requests at once, each on
its own database connection): one invitation per number per period, one per key."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from alembic import command
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from server.catalog.importer import import_catalog, parse_catalog
from server.catalog.lookup import load_snapshot
from server.feedback.invitation_models import Invitation, SmsQuarantine
from server.migrations_runner import alembic_config, upgrade
from server.settings import Settings
from tests.sms.conftest import Clock
from tests.sms.helpers import contact, outbox_rows, services_of
from tests.support.databases import backend, create_database, drop_database
from tests.support.fixtures import EXAMPLE_CATALOG, Seeded

N = 30
HELD = 16  # fewer than the app's pool of 20 connections: every request holds one at the gate
# The same person written several ways: the quarantine is on the normalised number.
SPELLINGS = ["040 123 4567", "+358401234567", "0401234567", "+358 40 123 4567"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The integration rate limit off: its per-key counter row would queue the requests one
    behind another, and these tests are about what happens when they really overlap."""
    return dataclasses.replace(settings, rate_limit_integration_per_minute=0)


def _sender(
    client: TestClient[Litestar], seeded: Seeded, bodies: list[dict[str, Any]]
) -> Callable[[], Awaitable[list[httpx.Response]]]:
    """POST every body to /api/v1/contacts at the same moment, on the app's own event loop,
    so the requests' transactions overlap on separate pooled connections."""
    headers = {"Authorization": f"Bearer {seeded.integration_key}"}

    async def send() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kaiku") as http:
            return list(
                await asyncio.gather(
                    *(http.post("/api/v1/contacts", json=body, headers=headers) for body in bodies)
                )
            )

    return send


def post_at_once(
    client: TestClient[Litestar], seeded: Seeded, bodies: list[dict[str, Any]]
) -> list[httpx.Response]:
    return client.blocking_portal.call(_sender(client, seeded, bodies))


def post_held_back(
    client: TestClient[Litestar], seeded: Seeded, database_url: str, bodies: list[dict[str, Any]]
) -> list[httpx.Response]:
    """Like ``post_at_once``, but no request may write an invitation until every one of them
    is waiting on a lock: the worst interleaving, every time (PostgreSQL).

    A test transaction holds ``invitations`` in EXCLUSIVE mode (reads pass, writes wait);
    it is released once all requests are blocked. A check-then-insert quarantine lets them
    all through at that moment; an atomic claim has already decided.
    """
    send = _sender(client, seeded, bodies)

    async def run() -> list[httpx.Response]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as gate, engine.connect() as watch:
                await gate.execute(text("LOCK TABLE invitations IN EXCLUSIVE MODE"))
                requests = asyncio.ensure_future(send())
                for _ in range(400):
                    await watch.commit()  # a fresh pg_stat_activity snapshot each time
                    waiting = await watch.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND wait_event_type = 'Lock'"
                        )
                    )
                    if waiting == len(bodies):
                        break
                    await asyncio.sleep(0.01)
                else:
                    raise AssertionError(
                        f"only {waiting} of {len(bodies)} requests reached the gate"
                    )
                await gate.rollback()
                return await requests
        finally:
            await engine.dispose()

    return client.blocking_portal.call(run)


def _outcomes(replies: list[httpx.Response]) -> Counter[tuple[str, str | None]]:
    assert {r.status_code for r in replies} == {202}, [r.text for r in replies]
    return Counter((r.json()["state"], r.json()["skip_reason"]) for r in replies)


ONE_OF_MANY = {("scheduled", None): 1, ("skipped", "quarantined"): N - 1}


def test_concurrent_contacts_for_one_number_schedule_exactly_one(
    client: TestClient[Litestar], seeded: Seeded, clock: Clock
) -> None:
    services_of(client).invitations.clock = clock
    for period in range(1, 4):  # each new period: again exactly one of many
        bodies = [contact(phone=SPELLINGS[i % len(SPELLINGS)]) for i in range(N)]
        assert _outcomes(post_at_once(client, seeded, bodies)) == ONE_OF_MANY
        assert len(outbox_rows(client)) == period
        clock.advance(days=7, minutes=1)


@pytest.mark.postgresql_only
def test_contacts_held_at_the_worst_moment_still_schedule_exactly_one(
    client: TestClient[Litestar], seeded: Seeded, clock: Clock, database_url: str
) -> None:
    services_of(client).invitations.clock = clock
    one_of_many = {("scheduled", None): 1, ("skipped", "quarantined"): HELD - 1}
    bodies = [contact(phone=SPELLINGS[i % len(SPELLINGS)]) for i in range(HELD)]
    assert _outcomes(post_held_back(client, seeded, database_url, bodies)) == one_of_many
    assert len(outbox_rows(client)) == 1
    clock.advance(days=7, minutes=1)
    later = post_held_back(client, seeded, database_url, [contact() for _ in range(HELD)])
    assert _outcomes(later) == one_of_many
    assert len(outbox_rows(client)) == 2


def test_concurrent_retries_with_one_key_make_one_invitation(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    replies = post_at_once(client, seeded, [contact()] * N)
    assert _outcomes(replies) == {("scheduled", None): N}
    assert len({r.content for r in replies}) == 1  # the same invitation id for every retry
    assert len(outbox_rows(client)) == 1


@pytest.mark.postgresql_only
def test_retries_held_at_the_worst_moment_make_one_invitation(
    client: TestClient[Litestar], seeded: Seeded, database_url: str
) -> None:
    replies = post_held_back(client, seeded, database_url, [contact()] * HELD)
    assert _outcomes(replies) == {("scheduled", None): HELD}
    assert len({r.content for r in replies}) == 1
    assert len(outbox_rows(client)) == 1


@pytest.mark.db
def test_upgrading_keeps_every_number_invited_lately_in_quarantine_and_downgrades() -> None:
    """Migration 0010 copies each number's latest invitation into ``sms_quarantine``."""
    url = create_database(backend(), migrate=False)
    now = dt.datetime.now(dt.UTC)

    def invitation(key: str, hashed: str, days_ago: int, path: Any) -> dict[str, Any]:
        created = now - dt.timedelta(days=days_ago)
        return {
            "id": uuid.uuid4(),
            "idempotency_key": key,
            "request_fingerprint": "f",
            "unit_id": path.unit_id,
            "path_id": path.id,
            "contact_mode": "video",
            "language": "fi",
            "phone_hash": hashed,
            "state": "scheduled" if hashed else "skipped",
            "contact_ended_at": created,
            "created_at": created,
        }

    async def main() -> tuple[dict[str, dt.datetime], bool]:
        engine = create_async_engine(url)
        try:
            await upgrade(engine, "0009")
            async with AsyncSession(engine) as session:
                await import_catalog(session, parse_catalog(EXAMPLE_CATALOG))
                await session.commit()
                catalog = await load_snapshot(session)
                path = next(iter(catalog.paths.values()))
                rows = [
                    invitation("a-old", "a", 20, path),
                    invitation("a-new", "a", 2, path),
                    invitation("b", "b", 5, path),
                    invitation("skipped", "", 1, path),
                ]
                await session.execute(insert(Invitation), rows)
                await session.commit()
            await upgrade(engine)
            async with engine.connect() as conn:
                copied = {
                    r.phone_hash: r.invited_at for r in await conn.execute(select(SmsQuarantine))
                }
                await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0009"))
                await conn.commit()
                tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            return copied, "sms_quarantine" in tables
        finally:
            await engine.dispose()

    try:
        copied, still_there = asyncio.run(main())
    finally:
        drop_database(url)
    assert copied == {
        "a": now - dt.timedelta(days=2),
        "b": now - dt.timedelta(days=5),
    }
    assert not still_there
