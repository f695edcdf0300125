"""Outbox workers: retries with backoff, no duplicates with two workers, erasure, giving up."""

from __future__ import annotations

import asyncio
import random

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import create_async_engine

from server.messaging.outbox import OutboxWorker, backoff
from tests.sms.conftest import Clock
from tests.sms.helpers import contact, outbox_rows, services_of, worker
from tests.support.fake_46elks import Fake46elks
from tests.support.fixtures import Seeded


def _schedule(client: TestClient[Litestar], seeded: Seeded, clock: Clock, n: int) -> list[str]:
    services_of(client).invitations.clock = clock
    headers = {"Authorization": f"Bearer {seeded.integration_key}"}
    numbers = [f"+3584012{i:05d}" for i in range(n)]
    for number in numbers:
        reply = client.post("/api/v1/contacts", json=contact(phone=number), headers=headers)
        assert reply.json()["state"] == "scheduled"
    return numbers


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    first, second, late = backoff(1, rng), backoff(2, rng), backoff(30, rng)
    assert 24 <= first.total_seconds() <= 36
    assert 48 <= second.total_seconds() <= 72
    assert late.total_seconds() <= 2 * 3600 * 1.2


def test_two_workers_with_gateway_failures_send_each_text_exactly_once(
    client: TestClient[Litestar],
    seeded: Seeded,
    fake_elks: Fake46elks,
    clock: Clock,
    database_url: str,
) -> None:
    numbers = _schedule(client, seeded, clock, 12)
    before = len(fake_elks.messages)
    clock.advance(minutes=31)
    fake_elks.fail_next(5, 503)
    services = services_of(client)

    async def both_workers() -> None:
        # Two engines: two independent connections pools, as two replicas would have.
        engines = [create_async_engine(database_url) for _ in range(2)]
        workers = [
            OutboxWorker(
                engine,
                services.sms_gateway,
                max_attempts=5,
                poll_seconds=1,
                clock=clock,
                name=f"replica-{i}",
            )
            for i, engine in enumerate(engines)
        ]
        try:
            for _ in range(8):
                await asyncio.gather(*(w.run_once() for w in workers))
                clock.advance(hours=3)  # past any backoff
        finally:
            for engine in engines:
                await engine.dispose()

    client.blocking_portal.call(both_workers)
    sent = [m.to for m in fake_elks.messages[before:]]
    assert sorted(sent) == sorted(numbers)
    rows = outbox_rows(client)
    assert {r.state for r in rows} == {"sent"}
    assert all(r.to_number is None and r.text is None for r in rows)
    assert sum(r.attempts for r in rows) == 12 + 5


def test_permanent_failure_and_giving_up_erase_the_number_and_say_why(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks, clock: Clock
) -> None:
    _schedule(client, seeded, clock, 2)
    clock.advance(minutes=31)
    sender = worker(client, clock, "w")  # max_attempts=3
    fake_elks.fail_next(1, 400, "Invalid to number")
    fake_elks.fail_next(3, 503)
    for _ in range(4):
        client.blocking_portal.call(sender.run_once)
        clock.advance(hours=3)
    rows = outbox_rows(client)
    assert [r.state for r in rows] == ["failed", "failed"]
    assert all(r.to_number is None and r.text is None for r in rows)
    assert "rejected" in rows[0].last_error
    assert "gave up after 3 attempts" in rows[1].last_error


def test_stop_releases_claims_so_another_worker_sends_them(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks, clock: Clock
) -> None:
    _schedule(client, seeded, clock, 3)
    clock.advance(minutes=31)
    quitter = worker(client, clock, "quitter")
    claimed = client.blocking_portal.call(quitter.claim, 10)
    assert len(claimed) == 3
    assert client.blocking_portal.call(worker(client, clock, "other").claim, 10) == []
    client.blocking_portal.call(quitter.stop)
    rows = outbox_rows(client)
    assert {(r.state, r.attempts, r.claimed_by) for r in rows} == {("queued", 0, None)}
    assert client.blocking_portal.call(worker(client, clock, "other").run_once) == 3
