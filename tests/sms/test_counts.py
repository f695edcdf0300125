"""Counters and statistics follow real invitations through the loop: /metrics counts each
state (in small-cell steps) and the response-rate statistics give answered / sent."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from server.feedback.tokens import receipt_secret
from tests.feedback.helpers import bearer
from tests.sms.conftest import Clock
from tests.sms.helpers import contact, services_of, token_in, worker
from tests.stats.helpers import manager_key
from tests.support.fake_46elks import Fake46elks
from tests.support.fixtures import Seeded

SENT, ANSWERED = 10, 5


def _invitation_counters(client: TestClient[Litestar], seeded: Seeded) -> dict[str, float]:
    text = client.get("/metrics", headers=bearer(seeded.metrics_key)).text
    return {
        sample.labels["state"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "kaiku_invitations"
        for sample in family.samples
        if sample.name == "kaiku_invitations_total"
        and sample.labels["contact_mode"] == "phone"
        and sample.labels["step"] == "ensitapaaminen"
    }


def test_metrics_and_response_rates_count_sent_delivered_and_answered(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks, clock: Clock, run: Any
) -> None:
    services = services_of(client)
    services.invitations.clock = clock
    headers = bearer(seeded.integration_key)
    for i in range(SENT):
        body = contact(phone=f"+3584055{i:05d}", contact_mode="phone")
        assert client.post("/api/v1/contacts", json=body, headers=headers).status_code == 202
    again = contact(phone="+358405500000", contact_mode="phone")  # quarantined: skipped
    assert client.post("/api/v1/contacts", json=again, headers=headers).json()["state"] == "skipped"
    before = len(fake_elks.messages)
    clock.advance(minutes=31)
    assert client.blocking_portal.call(worker(client, clock, "w").run_once) == SENT
    sent = fake_elks.messages[before:]
    secret = receipt_secret(services.settings.effective_secret_key)
    receipts = f"/api/v1/sms/receipts/46elks?secret={secret}"
    for sms in sent:
        form = {"id": sms.id, "status": "delivered", "delivered": "2026-11-23T10:00:00"}
        assert client.post(receipts, data=form).status_code == 200
    for sms in sent[:ANSWERED]:
        token = token_in(sms.message)
        page = client.get(f"/a/{token}").text
        nonce = page.split('name="nonce" value="')[1].split('"')[0]
        answer = {"nonce": nonce, "rating": "good", "lang": "fi"}
        assert client.post(f"/a/{token}", data=answer).status_code == 200

    counters = _invitation_counters(client, seeded)
    # Every published count is a multiple of 5; the single skipped contact is not shown.
    assert counters == {"scheduled": 10, "sent": 10, "delivered": 10, "answered": 5}

    rates = client.get("/api/v1/stats/response-rates", headers=bearer(run(manager_key)))
    assert rates.status_code == 200, rates.text
    [row] = [r for r in rates.json() if r["contact_mode"] == "phone"]
    assert (row["sent"], row["delivered"], row["failed"], row["answered"]) == (10, 10, 0, 5)
    assert row["response_rate"] == pytest.approx(0.5)
    assert row["response_rate_low"] < 0.5 < row["response_rate_high"]
