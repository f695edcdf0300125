"""Reminders: once, after KAIKU_PANEL_REMINDER_HOURS, to invitees who have not answered,
by the channel of the invitation (loopback 46elks through the outbox, real SMTP), run by
the scheduler; the reminder's link records the answer like the first one."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.roles import Role
from server.jobs import Scheduler
from server.panels import jobs
from server.panels.crypto import cipher_from_settings
from server.panels.models import PanelMember
from server.services import scheduled_jobs
from tests.auth.helpers import audit_events, csrf_token, signed_in
from tests.panels.helpers import UNIT, add_volunteer
from tests.sms.helpers import services_of
from tests.support.fake_46elks import Fake46elks
from tests.support.fixtures import Seeded
from tests.support.smtp import LoopbackSmtp

RSVP = re.compile(r"/panels/rsvp/(\S+)")
AINO, CECILIA = "+358401110001", "+358401110003"


def _send_texts(client: TestClient[Litestar]) -> None:
    client.blocking_portal.call(services_of(client).outbox.run_once)


def _rsvp(client: TestClient[Litestar], text: str, choice: str) -> None:
    match = RSVP.search(text)
    assert match, text
    url = f"/panels/rsvp/{match.group(1)}"
    answer = client.post(url, data={"csrf_token": csrf_token(client, url), "choice": choice})
    assert answer.status_code == 200


def _members(run: Any) -> list[PanelMember]:
    async def fetch(session: AsyncSession) -> list[PanelMember]:
        return list(await session.scalars(select(PanelMember).order_by(PanelMember.id)))

    return list(run(fetch))


def _invited_hours_ago(run: Any, hours: float) -> None:
    async def move(session: AsyncSession) -> None:
        moved = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
        await session.execute(update(PanelMember).values(invited_at=moved))

    run(move)


def _run_scheduler(client: TestClient[Litestar], days_ahead: float) -> list[str]:
    """The app's own scheduler and jobs, with a clock moved past the jobs' next runs."""
    services = services_of(client)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=days_ahead)
    scheduler = Scheduler(services.engine, scheduled_jobs(services.settings), clock=lambda: later)
    ran: list[str] = client.blocking_portal.call(scheduler.run_due)
    return ran


def _invite_three(
    client: TestClient[Litestar], run: Any, fake_elks: Fake46elks, smtp: LoopbackSmtp
) -> tuple[list[str], list[str]]:
    cipher = cipher_from_settings(services_of(client).settings)
    add_volunteer(run, cipher, "Aino", phone=AINO)
    add_volunteer(run, cipher, "Bertil", phone="", email="bertil@example.fi", language="sv")
    add_volunteer(run, cipher, "Cecilia", phone=CECILIA)
    signed_in(client, run, Role.ORGANISER)
    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    body = {"code": "p1", "topic": "Raati", "unit": UNIT, "seats": 3, "meeting_dates": [later]}
    assert client.post("/api/v1/panels", json=body).status_code == 201
    sms_before, mail_before = len(fake_elks.messages), len(smtp.messages)
    assert client.post("/api/v1/panels/p1/invitations").json()["invited"] == 3
    _send_texts(client)
    texts = {m.to: m.message for m in fake_elks.messages[sms_before:]}
    [mail] = smtp.messages[mail_before:]
    return [texts[AINO], texts[CECILIA]], [mail.body]


def test_one_reminder_by_the_same_channel_to_those_who_have_not_answered(
    client: TestClient[Litestar],
    run: Any,
    seeded: Seeded,
    fake_elks: Fake46elks,
    smtp: LoopbackSmtp,
) -> None:
    (aino_invite, cecilia_invite), _ = _invite_three(client, run, fake_elks, smtp)
    _rsvp(client, cecilia_invite, "accepted")
    _invited_hours_ago(run, 71)
    sms_before, mail_before = len(fake_elks.messages), len(smtp.messages)

    assert "panel-reminders" in _run_scheduler(client, days_ahead=2)
    _send_texts(client)
    assert fake_elks.messages[sms_before:] == []  # 71 h < KAIKU_PANEL_REMINDER_HOURS (72)
    assert smtp.messages[mail_before:] == []

    _invited_hours_ago(run, 73)
    assert "panel-reminders" in _run_scheduler(client, days_ahead=4)
    _send_texts(client)

    [text] = fake_elks.messages[sms_before:]
    [mail] = smtp.messages[mail_before:]
    assert text.to == AINO
    assert text.message.startswith("Muistutus:")
    assert mail.recipients == ["bertil@example.fi"]
    assert mail.body.startswith("Påminnelse:")
    assert RSVP.search(text.message) != RSVP.search(aino_invite)  # a link of its own
    [read] = [e for e in audit_events(run, "panels.contacts-read") if e.actor == "system"]
    assert read.detail["reason"] == "reminder to panel p1"
    assert len(read.detail["ids"]) == 2
    figures = client.get("/api/v1/panels/p1").json()
    assert (figures["invited"], figures["reminded"], figures["accepted"]) == (2, 2, 1)

    assert "panel-reminders" in _run_scheduler(client, days_ahead=6)
    _send_texts(client)
    assert len(fake_elks.messages) == sms_before + 1  # once only
    assert len(smtp.messages) == mail_before + 1

    _rsvp(client, mail.body, "declined")  # the reminder's link
    _rsvp(client, aino_invite, "accepted")  # the first link still works
    assert sorted(m.status for m in _members(run)) == ["accepted", "accepted", "declined"]
    figures = client.get("/api/v1/panels/p1").json()
    assert (figures["invited"], figures["reminded"], figures["declined"]) == (0, 0, 1)


def test_no_reminders_outside_sending_hours_or_when_switched_off(
    client: TestClient[Litestar],
    run: Any,
    seeded: Seeded,
    fake_elks: Fake46elks,
    smtp: LoopbackSmtp,
) -> None:
    _invite_three(client, run, fake_elks, smtp)
    _invited_hours_ago(run, 100)
    settings = services_of(client).settings
    now = dt.datetime.now(dt.UTC)
    hour = now.astimezone(ZoneInfo("Europe/Helsinki")).hour
    window = (hour + 1, 24) if hour < 23 else (0, 23)
    night = dataclasses.replace(
        settings, sms_window_start_hour=window[0], sms_window_end_hour=window[1]
    )
    off = dataclasses.replace(settings, panel_reminder_hours=0)
    engine = services_of(client).engine

    assert client.blocking_portal.call(jobs.remind, engine, night, now) == 0
    assert client.blocking_portal.call(jobs.remind, engine, off, now) == 0
    assert all(m.reminded_at is None for m in _members(run))
    assert client.blocking_portal.call(jobs.remind, engine, settings, now) == 3
