"""Delivery reports in any order, repeated, late or early never move an invitation back."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from server.feedback.tokens import receipt_secret
from server.messaging.models import OutboxMessage
from server.messaging.outbox import LEASE
from server.messaging.sms import OutgoingSms, SendResult, SmsGateway
from tests.sms.conftest import Clock
from tests.sms.helpers import contact, invitation, outbox_rows, services_of, worker
from tests.support.fake_46elks import Fake46elks
from tests.support.fixtures import Seeded

REPORTS = ("sent", "delivered", "failed", "delivered")
ORDERS = sorted(set(itertools.permutations(REPORTS)))  # 12 distinct orders
FIRST = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def _url(client: TestClient[Litestar]) -> str:
    secret = receipt_secret(services_of(client).settings.effective_secret_key)
    return f"/api/v1/sms/receipts/46elks?secret={secret}"


def _report(provider_id: str, status: str, at: dt.datetime = FIRST) -> dict[str, str]:
    form = {"id": provider_id, "status": status}
    if status == "delivered":
        form["delivered"] = at.replace(tzinfo=None).isoformat(timespec="microseconds")
    return form


def _schedule(
    client: TestClient[Litestar], seeded: Seeded, clock: Clock, n: int, first: int = 0
) -> list[str]:
    services_of(client).invitations.clock = clock
    headers = {"Authorization": f"Bearer {seeded.integration_key}"}
    ids = []
    for i in range(first, first + n):
        body = contact(phone=f"+3584012{i:05d}")
        reply = client.post("/api/v1/contacts", json=body, headers=headers)
        assert reply.json()["state"] == "scheduled"
        ids.append(reply.json()["id"])
    return ids


def _asgi_post(client: TestClient[Litestar]) -> Callable[[dict[str, str]], Awaitable[Any]]:
    """POST a report to the app from inside its own event loop (as the provider would)."""
    url = _url(client)

    async def post(form: dict[str, str]) -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kaiku") as http:
            return await http.post(url, data=form)

    return post


def test_the_final_state_is_the_same_whatever_order_reports_arrive_in(
    client: TestClient[Litestar], seeded: Seeded, clock: Clock
) -> None:
    """Each of 12 texts gets sent/delivered/failed/delivered in another order: every one
    ends delivered, at the first delivery time, and is not also counted as failed."""
    ids = _schedule(client, seeded, clock, len(ORDERS))
    clock.advance(minutes=31)
    assert client.blocking_portal.call(worker(client, clock, "w").run_once) == len(ORDERS)
    by_invitation = {str(r.invitation_id): r.provider_id for r in outbox_rows(client)}
    for invitation_id, order in zip(ids, ORDERS, strict=True):
        sent_at = invitation(client, invitation_id).sent_at
        deliveries = iter([FIRST, FIRST + dt.timedelta(minutes=5)])
        for status in order:
            at = next(deliveries) if status == "delivered" else FIRST
            form = _report(by_invitation[invitation_id], status, at)
            assert client.post(_url(client), data=form).status_code == 200
        row = invitation(client, invitation_id)
        assert (row.state, row.failed_at, row.sent_at) == ("delivered", None, sent_at), order
        assert row.delivered_at == FIRST, order


def test_a_failure_report_alone_is_recorded_and_a_repeat_changes_nothing(
    client: TestClient[Litestar], seeded: Seeded, clock: Clock
) -> None:
    [invitation_id] = _schedule(client, seeded, clock, 1)
    clock.advance(minutes=31)
    client.blocking_portal.call(worker(client, clock, "w").run_once)
    [message] = outbox_rows(client)
    for _ in range(2):
        report = _report(message.provider_id, "failed")
        assert client.post(_url(client), data=report).status_code == 200
        row = invitation(client, invitation_id)
        assert (row.state, row.delivered_at) == ("failed", None)
        assert row.sent_at is not None
        assert row.failed_at is not None
        clock.advance(minutes=1)
    assert invitation(client, invitation_id).failed_at == row.failed_at  # the first one kept


class _HeldGateway:
    """Holds each send until released: a worker stuck mid-send past its lease."""

    name = "held"

    def __init__(self, inner: SmsGateway) -> None:
        self.inner = inner
        self.sending = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, sms: OutgoingSms) -> SendResult:
        self.sending.set()
        await self.release.wait()
        return await self.inner.send(sms)

    async def aclose(self) -> None:
        return None


def test_a_stale_worker_recording_its_send_late_does_not_undo_delivered(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks, clock: Clock
) -> None:
    [invitation_id] = _schedule(client, seeded, clock, 1)
    clock.advance(minutes=31)
    held = _HeldGateway(services_of(client).sms_gateway)
    slow = worker(client, clock, "slow", held)
    post = _asgi_post(client)
    before = len(fake_elks.messages)

    async def race() -> None:
        stuck = asyncio.ensure_future(slow.run_once())
        await held.sending.wait()  # claimed, and now stuck with the gateway
        clock.advance(seconds=LEASE.total_seconds() + 1)  # the slow worker's lease runs out
        assert await worker(client, clock, "fast").run_once() == 1
        [message] = await _outbox(client)
        assert (await post(_report(message.provider_id, "delivered"))).status_code == 200
        clock.advance(seconds=5)
        held.release.set()
        assert await stuck == 1  # the slow worker's text goes out too and is recorded late

    client.blocking_portal.call(race)
    fast_send = fake_elks.messages[before]
    assert len(fake_elks.messages) - before == 2  # at least once: a duplicate, never a loss
    [message] = outbox_rows(client)
    assert (message.state, message.provider_id) == ("sent", fast_send.id)
    row = invitation(client, invitation_id)
    assert (row.state, row.delivered_at) == ("delivered", FIRST)
    assert row.sent_at == clock.now - dt.timedelta(seconds=5)  # the first send's time


async def _outbox(client: TestClient[Litestar]) -> list[Any]:
    async with services_of(client).engine.connect() as conn:
        return list(await conn.execute(select(OutboxMessage)))


class _FastProvider:
    """A provider whose delivery report reaches Kaiku before the send's reply does."""

    name = "fast"

    def __init__(self, inner: SmsGateway, post: Callable[[dict[str, str]], Awaitable[Any]]):
        self.inner = inner
        self.post = post
        self.replies: list[httpx.Response] = []

    async def send(self, sms: OutgoingSms) -> SendResult:
        result = await self.inner.send(sms)
        assert result.provider_id
        self.replies.append(await self.post(_report(result.provider_id, "delivered")))
        return result

    async def aclose(self) -> None:
        return None


def test_a_report_that_overtakes_the_send_is_refused_for_a_retry_then_recorded(
    client: TestClient[Litestar], seeded: Seeded, clock: Clock
) -> None:
    [invitation_id] = _schedule(client, seeded, clock, 1)
    clock.advance(minutes=31)
    provider = _FastProvider(services_of(client).sms_gateway, _asgi_post(client))
    sender = worker(client, clock, "w", provider)
    assert client.blocking_portal.call(sender.run_once) == 1
    [early] = provider.replies
    assert early.status_code == 503
    assert early.headers["retry-after"] == "30"
    assert early.headers["content-type"].startswith("application/problem+json")
    assert invitation(client, invitation_id).state == "sent"

    [message] = outbox_rows(client)
    retry = client.post(_url(client), data=_report(message.provider_id, "delivered"))
    assert retry.status_code == 200
    assert invitation(client, invitation_id).state == "delivered"


def test_reports_for_unknown_texts_are_acknowledged_when_nothing_is_in_flight(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    reply = client.post(_url(client), data=_report("s-not-ours", "delivered"))
    assert (reply.status_code, reply.text) == (200, "ok")
