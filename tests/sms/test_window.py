"""The sending window end to end: a contact late in the evening is texted next morning at
the window's opening (Europe/Helsinki), not a moment before."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from server.feedback.invitations import HELSINKI
from server.settings import Settings
from tests.sms.conftest import Clock
from tests.sms.helpers import contact, outbox_rows, services_of, worker
from tests.support.fake_46elks import Fake46elks
from tests.support.fixtures import Seeded


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, sms_window_start_hour=9, sms_window_end_hour=20)


def test_an_evening_contact_is_sent_when_the_window_opens_next_morning(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks, clock: Clock
) -> None:
    services_of(client).invitations.clock = clock
    ended = dt.datetime(2026, 5, 4, 19, 45, tzinfo=HELSINKI).astimezone(dt.UTC)
    clock.now = ended
    body = contact(contact_ended_at=ended.isoformat())
    headers = {"Authorization": f"Bearer {seeded.integration_key}"}
    reply = client.post("/api/v1/contacts", json=body, headers=headers)
    assert reply.json()["state"] == "scheduled"
    opening = dt.datetime(2026, 5, 5, 9, 0, tzinfo=HELSINKI).astimezone(dt.UTC)
    [queued] = outbox_rows(client)
    assert queued.send_at == opening

    before = len(fake_elks.messages)
    sender = worker(client, clock, "w")
    for moment in (ended + dt.timedelta(minutes=31), opening - dt.timedelta(seconds=1)):
        clock.now = moment  # after the delay, but 20:16 and 08:59:59 are outside the window
        assert client.blocking_portal.call(sender.run_once) == 0
    clock.now = opening
    assert client.blocking_portal.call(sender.run_once) == 1
    assert len(fake_elks.messages) == before + 1
