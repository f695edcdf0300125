"""The loop against a real Kaiku process: its own outbox worker sends through the loopback
46elks, 50 phones submit the link at once, the provider's receipt reaches the callback."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.feedback.invitation_models import Invitation
from server.feedback.models import Response
from server.messaging.models import OutboxMessage
from tests.sms.helpers import contact, token_in
from tests.support.databases import backend
from tests.support.fake_46elks import Fake46elks, live_sms_env
from tests.support.live import live_kaiku

pytestmark = pytest.mark.db


def _wait_for_message(fake: Fake46elks, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fake.messages:
            return fake.messages[0]
        time.sleep(0.1)
    raise AssertionError("the live worker sent nothing")


def test_fifty_concurrent_submits_store_exactly_one_answer() -> None:
    with Fake46elks(username="u", password="p") as fake:
        env = {
            **live_sms_env(fake),
            # This test is about atomic single use, not the per-token rate limit.
            "KAIKU_RATE_LIMIT_ANSWER_PER_MINUTE": "1000",
        }
        with live_kaiku(backend(), env) as live:
            headers = {"Authorization": f"Bearer {live.seeded.integration_key}"}
            body = contact(contact_mode="phone", step=None)
            reply = httpx.post(f"{live.base_url}/api/v1/contacts", json=body, headers=headers)
            assert reply.status_code == 202
            sms = _wait_for_message(fake)
            token = token_in(sms.message)
            assert f"{live.base_url}/a/{token}" in sms.message
            page = httpx.get(f"{live.base_url}/a/{token}")
            nonce = page.text.split('name="nonce" value="')[1].split('"')[0]
            ratings = ["very_good", "good", "neither", "poor", "very_poor"]

            def submit(i: int) -> httpx.Response:
                form = {"nonce": nonce, "rating": ratings[i % 5], "lang": "fi"}
                return httpx.post(f"{live.base_url}/a/{token}", data=form, timeout=30)

            with ThreadPoolExecutor(max_workers=50) as pool:
                results = list(pool.map(submit, range(50)))
            statuses = sorted(r.status_code for r in results)
            assert statuses == [200] + [409] * 49
            assert all(
                "Tätä linkkiä on jo käytetty" in r.text for r in results if r.status_code == 409
            )
            assert live.stored_responses() == 1

            assert fake.send_receipt(sms.id, "delivered") == 200

            async def read(session: AsyncSession) -> tuple[Any, Any, Any]:
                response = (await session.scalars(select(Response))).one()
                invitation = (await session.scalars(select(Invitation))).one()
                message = (await session.scalars(select(OutboxMessage))).one()
                return response, invitation, message

            response, invitation, message = live.run(read)
            assert (response.channel, response.contact_mode) == ("sms", "phone")
            assert message.to_number is None
            assert message.text is None
            assert invitation.state == "delivered"
            assert invitation.answered_at is not None
            metrics = live.metrics_text()
            # One invitation is below the small-cell threshold: no series may exist for it.
            assert "kaiku_invitations_total{" not in metrics
            assert "# TYPE kaiku_invitations_total counter" in metrics
            assert "kaiku_sms_outbox_pending 0.0" in metrics
