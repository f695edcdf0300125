"""The whole SMS loop in process: contact in → scheduled → sent via 46elks (loopback) →
number erased → answered once → counted."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from server.feedback.invitations import invitation_counts
from server.feedback.models import Response
from server.feedback.tokens import receipt_secret
from server.messaging.gsm7 import fits_single_sms
from tests.sms.conftest import Clock
from tests.sms.helpers import (
    contact,
    invitation,
    outbox_rows,
    services_of,
    text_values,
    token_in,
    worker,
)
from tests.support.fake_46elks import Fake46elks
from tests.support.fixtures import Seeded


def _auth(seeded: Seeded) -> dict[str, str]:
    return {"Authorization": f"Bearer {seeded.integration_key}"}


def _responses(client: TestClient[Litestar]) -> list[Any]:
    services = services_of(client)

    async def read() -> list[Any]:
        async with services.engine.connect() as conn:
            return list(await conn.execute(select(Response)))

    return client.blocking_portal.call(read)


def test_contact_is_sent_in_time_erased_answered_once_and_counted(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks, clock: Clock
) -> None:
    services = services_of(client)
    services.invitations.clock = clock
    before = len(fake_elks.messages)
    reply = client.post("/api/v1/contacts", json=contact(), headers=_auth(seeded))
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert body["state"] == "scheduled"
    assert body["skip_reason"] is None
    [queued] = outbox_rows(client)
    assert queued.to_number == "+358401234567"

    sender = worker(client, clock, "w1")
    assert client.blocking_portal.call(sender.run_once) == 0  # the 30-minute delay holds it
    clock.advance(minutes=31)
    assert client.blocking_portal.call(sender.run_once) == 1
    [sms] = fake_elks.messages[before:]
    assert sms.to == "+358401234567"
    assert sms.sender == "Kaiku"
    assert fits_single_sms(sms.message)
    assert "Hyvinvointi" in sms.message or "Pohjanmaa" in sms.message or ":" in sms.message
    [sent] = outbox_rows(client)
    assert sent.state == "sent"
    assert sent.to_number is None
    assert sent.text is None
    assert sent.provider_id == sms.id
    assert invitation(client, body["id"]).state == "sent"
    assert not [v for v in text_values(client) if "401234567" in v]  # in no table at all

    token = token_in(sms.message)
    page = client.get(f"/a/{token}")
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text
    assert 'method="post"' in page.text
    assert client.get(f"/a/{token}").status_code == 200  # opening does not use the link
    nonce = page.text.split('name="nonce" value="')[1].split('"')[0]

    form = {"nonce": nonce, "lang": "fi", "rating": "good", "reason": "waiting_time"}
    first = client.post(f"/a/{token}", data=form)
    assert first.status_code == 200
    again = client.post(f"/a/{token}", data={**form, "rating": "poor"})
    assert again.status_code == 409
    assert "Tätä linkkiä on jo käytetty" in again.text
    [stored] = _responses(client)
    assert (stored.channel, stored.contact_mode, stored.option) == ("sms", "video", "good")
    assert stored.reasons == ["waiting_time"]
    assert client.get(f"/a/{token}").status_code == 409

    secret = receipt_secret(services.settings.effective_secret_key)
    receipt = {"id": sms.id, "status": "delivered", "delivered": "2026-11-22T10:00:00.000000"}
    assert (
        client.post(f"/api/v1/sms/receipts/46elks?secret={secret}", data=receipt).status_code == 200
    )
    assert client.post("/api/v1/sms/receipts/46elks?secret=wrong", data=receipt).status_code == 403

    async def counts() -> Any:
        snapshot = await services.catalog.get(services.engine)
        async with services.engine.connect() as conn:
            return await invitation_counts(conn, snapshot)

    [series] = client.blocking_portal.call(counts)
    assert (series.path, series.step, series.contact_mode) == (
        "toimeentulotuki",
        "ensitapaaminen",
        "video",
    )
    assert series.counts["sent"] == 1
    assert series.counts["delivered"] == 1
    assert series.counts["answered"] == 1
    assert series.response_rate == 1.0
    row = invitation(client, body["id"])
    assert row.state == "delivered"
    assert str(stored.id) != body["id"]
