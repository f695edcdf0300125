"""RSVP choices other than "accept" (decline; withdraw from panels, which erases contact
details) and the exclusion of people invited too often in the last year."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.roles import Role
from server.panels import texts
from server.panels.crypto import cipher_from_settings
from server.panels.models import Consent, Panel, PanelMember, Volunteer
from tests.auth.helpers import csrf_token, signed_in
from tests.panels.helpers import UNIT, add_volunteer
from tests.sms.helpers import services_of
from tests.support.fake_46elks import Fake46elks
from tests.support.fixtures import Seeded
from tests.support.smtp import LoopbackSmtp

RSVP = re.compile(r"(/panels/rsvp/\S+)")


def _rows(run: Any, model: Any) -> list[Any]:
    async def fetch(session: AsyncSession) -> list[Any]:
        return list(await session.scalars(select(model).order_by(model.id)))

    return list(run(fetch))


def _answer(client: TestClient[Litestar], link: str, choice: str) -> Any:
    return client.post(link, data={"csrf_token": csrf_token(client, link), "choice": choice})


def test_decline_and_withdraw_through_the_links_in_the_messages(
    client: TestClient[Litestar],
    run: Any,
    seeded: Seeded,
    fake_elks: Fake46elks,
    smtp: LoopbackSmtp,
) -> None:
    cipher = cipher_from_settings(services_of(client).settings)
    add_volunteer(run, cipher, "Aino", phone="+358401110001")
    add_volunteer(run, cipher, "Bertil", phone="", email="bertil@example.fi", language="sv")
    signed_in(client, run, Role.ORGANISER)
    body = {"code": "p1", "topic": "T", "unit": UNIT, "seats": 2}
    assert client.post("/api/v1/panels", json=body).status_code == 201
    sms_before, mail_before = len(fake_elks.messages), len(smtp.messages)
    assert client.post("/api/v1/panels/p1/invitations").json()["invited"] == 2
    client.blocking_portal.call(services_of(client).outbox.run_once)
    [text] = [m.message for m in fake_elks.messages[sms_before:]]
    [mail] = smtp.messages[mail_before:]
    declining, withdrawing = RSVP.search(text), RSVP.search(mail.body)
    assert declining
    assert withdrawing

    page = client.get(withdrawing.group(1)).text
    for choice in ("accept", "decline_rsvp", "withdraw"):  # every message offers all three
        assert texts.t(choice, "sv") in page
    assert _answer(client, declining.group(1), "declined").status_code == 200
    gone = _answer(client, withdrawing.group(1), "withdraw")

    assert gone.status_code == 200
    assert texts.t("withdrawn", "sv") in gone.text
    assert [m.status for m in _rows(run, PanelMember)] == ["declined", "declined"]
    aino, bertil = _rows(run, Volunteer)
    assert aino.withdrawn_at is None
    assert (bertil.first_name_enc, bertil.phone_enc, bertil.email_enc) == (None, None, None)
    assert bertil.withdrawn_at is not None
    assert [c.withdrawn_at is not None for c in _rows(run, Consent)] == [False, True]
    assert client.get(withdrawing.group(1)).status_code == 404  # the link is spent
    assert _answer(client, declining.group(1), "maybe").status_code == 404
    figures = client.get("/api/v1/panels/p1").json()
    assert (figures["declined"], figures["seats_left"], figures["pool"]) == (2, 2, 0)


def test_people_invited_too_often_in_the_last_year_are_not_selected(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    cipher = cipher_from_settings(services_of(client).settings)
    add_volunteer(run, cipher, "Often", phone="+358401110001")
    add_volunteer(run, cipher, "Long-ago", phone="+358401110002")
    signed_in(client, run, Role.ORGANISER)
    for code in ("old-1", "old-2", "old-3", "new"):
        body = {"code": code, "topic": "T", "unit": UNIT, "seats": 2}
        assert client.post("/api/v1/panels", json=body).status_code == 201
    often, long_ago = (v.id for v in _rows(run, Volunteer))
    now = dt.datetime.now(dt.UTC)

    async def history(session: AsyncSession) -> None:
        """Three invitations each (KAIKU_PANEL_INVITES_PER_YEAR is 3): recent or old."""
        panels = list(await session.scalars(select(Panel).where(Panel.code.like("old-%"))))
        for i, panel in enumerate(panels):
            for volunteer, days in ((often, 100), (long_ago, 400)):
                at = now - dt.timedelta(days=days)
                session.add(
                    PanelMember(
                        panel_id=panel.id,
                        volunteer_id=volunteer,
                        status="declined",
                        invited_at=at,
                        rsvp_token_hash=f"{volunteer}-{i}".ljust(64, "x"),
                    )
                )

    run(history)
    result = client.post("/api/v1/panels/new/invitations").json()

    assert (result["invited"], result["excluded"]) == (1, 1)
    new = [m for m in _rows(run, PanelMember) if m.invited_at > now - dt.timedelta(days=1)]
    assert [m.volunteer_id for m in new] == [long_ago]
