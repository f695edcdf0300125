"""Panel texts go through the messaging outbox: queued with the invitation, retried with
backoff, sent once by several workers, number and text erased after sending, and never
to a number that asked for no texts."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import create_async_engine

from server.auth.roles import Role
from server.feedback.tokens import receipt_secret
from server.messaging.models import MAX_TEXT_CHARS
from server.messaging.outbox import OutboxWorker
from server.panels.crypto import cipher_from_settings
from server.panels.invite import invitation_text
from server.panels.models import Panel
from tests.auth.helpers import signed_in
from tests.panels.helpers import UNIT, add_volunteer
from tests.sms.conftest import Clock
from tests.sms.helpers import outbox_rows, services_of, worker
from tests.support.fake_46elks import Fake46elks
from tests.support.fixtures import Seeded
from tests.support.smtp import LoopbackSmtp


def _invite(client: TestClient[Litestar], run: Any, numbers: list[str]) -> None:
    cipher = cipher_from_settings(services_of(client).settings)
    for i, number in enumerate(numbers):
        add_volunteer(run, cipher, f"V{i}", phone=number)
    signed_in(client, run, Role.ORGANISER)
    body = {"code": "p1", "topic": "T", "unit": UNIT, "seats": len(numbers)}
    assert client.post("/api/v1/panels", json=body).status_code == 201
    assert client.post("/api/v1/panels/p1/invitations").json()["invited"] == len(numbers)


def test_invitations_wait_in_the_outbox_and_a_failed_send_is_retried_after_backoff(
    client: TestClient[Litestar], run: Any, seeded: Seeded, fake_elks: Fake46elks
) -> None:
    numbers = ["+358401110001", "+358401110002"]
    before = len(fake_elks.messages)
    _invite(client, run, numbers)

    queued = outbox_rows(client)
    assert [(r.state, r.invitation_id) for r in queued] == [("queued", None)] * 2
    assert sorted(r.to_number for r in queued) == numbers
    assert fake_elks.messages[before:] == []

    clock = Clock()
    sender = worker(client, clock, "panels")
    fake_elks.fail_next(1, 503)
    client.blocking_portal.call(sender.run_once)
    retrying = [r for r in outbox_rows(client) if r.state == "queued"]
    assert len(retrying) == 1
    assert "503" in (retrying[0].last_error or "")
    assert retrying[0].next_attempt_at > clock.now  # backoff, not at once
    assert client.blocking_portal.call(sender.run_once) == 0

    clock.advance(hours=3)
    client.blocking_portal.call(sender.run_once)

    rows = outbox_rows(client)
    assert [r.state for r in rows] == ["sent", "sent"]
    assert all(r.to_number is None and r.text is None for r in rows)
    assert sorted(m.to for m in fake_elks.messages[before:]) == numbers


def test_two_workers_send_each_panel_text_exactly_once(
    client: TestClient[Litestar],
    run: Any,
    seeded: Seeded,
    fake_elks: Fake46elks,
    database_url: str,
) -> None:
    numbers = [f"+35840222{i:04d}" for i in range(6)]
    before = len(fake_elks.messages)
    _invite(client, run, numbers)
    gateway, clock = services_of(client).sms_gateway, Clock()

    async def both() -> None:
        engines = [create_async_engine(database_url) for _ in range(2)]
        workers = [
            OutboxWorker(e, gateway, max_attempts=3, poll_seconds=1, clock=clock, name=f"w{i}")
            for i, e in enumerate(engines)
        ]
        try:
            for _ in range(3):
                await asyncio.gather(*(w.run_once() for w in workers))
        finally:
            for engine in engines:
                await engine.dispose()

    client.blocking_portal.call(both)

    assert sorted(m.to for m in fake_elks.messages[before:]) == numbers


def test_a_long_topic_is_shortened_but_the_link_is_kept() -> None:
    panel = Panel(code="p", topic="Aihe " * 60, meeting_dates=["2027-01-20"] * 8)
    link = "https://kaiku.example.fi/panels/rsvp/" + "x" * 32

    text = invitation_text(panel, "fi", link, reminder=True)

    assert len(text) <= MAX_TEXT_CHARS
    assert text.endswith(f"… {link}")
    assert text.startswith("Muistutus:")


def test_a_stop_reply_means_no_panel_texts_either(
    client: TestClient[Litestar], run: Any, seeded: Seeded, smtp: LoopbackSmtp
) -> None:
    """A number that replied STOP (to any text of ours) gets no panel invitation by text:
    the volunteer is invited by e-mail if they gave one, and the organiser is told about
    those who cannot be reached."""
    stopped_no_mail, texted, stopped_with_mail = "+358401110001", "+358401110002", "+358401110003"
    cipher = cipher_from_settings(services_of(client).settings)
    add_volunteer(run, cipher, "V0", phone=stopped_no_mail)
    add_volunteer(run, cipher, "V1", phone=texted)
    add_volunteer(run, cipher, "V2", phone=stopped_with_mail, email="v2@example.fi")
    for number in (stopped_no_mail, stopped_with_mail):
        assert _stop_reply(client, number).status_code == 200
    mails_before = len(smtp.messages)
    signed_in(client, run, Role.ORGANISER)
    body = {"code": "p1", "topic": "T", "unit": UNIT, "seats": 3}
    assert client.post("/api/v1/panels", json=body).status_code == 201

    reply = client.post("/api/v1/panels/p1/invitations").json()

    assert (reply["invited"], reply["not_reached"]) == (3, 1)
    assert [r.to_number for r in outbox_rows(client)] == [texted]
    assert [m.recipients for m in smtp.messages[mails_before:]] == [["v2@example.fi"]]


def _stop_reply(client: TestClient[Litestar], number: str) -> Any:
    """A STOP text from ``number`` through the real 46elks inbound callback."""
    key = services_of(client).settings.effective_secret_key
    form = {
        "direction": "incoming",
        "id": f"s{number[-4:]}",
        "from": number,
        "to": "+46766861004",
        "created": "2026-11-22T13:57:23.741000",
        "message": "STOP",
    }
    return client.post(f"/api/v1/sms/inbound/46elks?secret={receipt_secret(key)}", data=form)
