"""Organiser pages and API: access, CSRF, create, select-and-invite over real SMS and SMTP,
RSVP, and the audited contact view."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.roles import Role
from server.panels.crypto import ContactCipher, cipher_from_settings
from server.panels.models import ContactRead, PanelMember
from tests.auth.helpers import PASSWORD, add_user, audit_events, csrf_token, signed_in
from tests.feedback.helpers import PATH, answer, bearer
from tests.panels.helpers import UNIT, add_volunteer
from tests.support.fake_46elks import Fake46elks
from tests.support.fixtures import Seeded
from tests.support.smtp import LoopbackSmtp

LIST = "/staff/panels"
FORM = {
    "code": "toimeentulo-2027",
    "topic": "Toimeentulotuen hakeminen",
    "unit": UNIT,
    "paths": "toimeentulotuki",
    "seats": "3",
    "meeting_dates": "2027-01-20, 2027-02-17",
    "min_negative": "1",
    "languages": "fi,sv",
}


def _cipher(client: TestClient[Litestar]) -> ContactCipher:
    return cipher_from_settings(client.app.state.services.settings)


def _create(client: TestClient[Litestar]) -> Any:
    return client.post(
        LIST, data={"csrf_token": csrf_token(client, LIST), **FORM}, follow_redirects=False
    )


def _members(run: Any) -> list[PanelMember]:
    async def fetch(session: AsyncSession) -> list[PanelMember]:
        return list(await session.scalars(select(PanelMember).order_by(PanelMember.id)))

    return list(run(fetch))


def test_anonymous_are_sent_to_sign_in_and_the_api_answers_401(
    client: TestClient[Litestar],
) -> None:
    page = client.get(LIST, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/staff/sign-in")
    assert client.get("/api/v1/panels").status_code == 401


def test_signing_in_from_a_panel_page_returns_there_and_home_links_to_panels(
    client: TestClient[Litestar], run: Any
) -> None:
    add_user(run, "organiser-user", Role.ORGANISER)
    form = client.get(f"{LIST}/some-panel").text  # redirected to the sign-in form
    action = re.search(r'<form method="post" action="([^"]+)"', form)
    assert action
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token

    reply = client.post(
        html.unescape(action.group(1)),
        data={"csrf_token": token.group(1), "username": "organiser-user", "password": PASSWORD},
        follow_redirects=False,
    )

    assert reply.headers["location"] == f"{LIST}/some-panel"
    assert f'href="{LIST}"' in client.get("/staff").text


def test_managers_may_not_see_panels(client: TestClient[Litestar], run: Any) -> None:
    signed_in(client, run, Role.MANAGER)
    assert client.get(LIST).status_code == 403
    assert client.get("/api/v1/panels").status_code == 403


def test_forms_without_the_csrf_token_are_refused(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    signed_in(client, run, Role.ORGANISER)
    assert client.post(LIST, data=FORM).status_code == 403
    _create(client)
    code = FORM["code"]
    assert client.post(f"{LIST}/{code}/invite", data={}).status_code == 403
    assert client.post(f"{LIST}/{code}/contacts", data={"reason": "x y z"}).status_code == 403


def test_create_select_invite_rsvp_and_read_contacts(
    client: TestClient[Litestar],
    run: Any,
    seeded: Seeded,
    fake_elks: Fake46elks,
    smtp: LoopbackSmtp,
) -> None:
    cipher = _cipher(client)
    add_volunteer(run, cipher, "Aino", phone="+358401110001", sentiment="negative")
    add_volunteer(run, cipher, "Bertil", phone="", email="bertil@example.fi", language="sv")
    add_volunteer(run, cipher, "Cecilia", phone="+358401110003", sentiment="positive")
    add_volunteer(run, cipher, "Dani", phone="+358401110004", sentiment="positive")
    signed_in(client, run, Role.ORGANISER)
    sms_before, mail_before = len(fake_elks.messages), len(smtp.messages)

    assert _create(client).status_code == 303
    page = client.get(f"{LIST}/{FORM['code']}")
    assert page.status_code == 200
    assert "+358" not in page.text
    assert "Aino" not in page.text

    token = csrf_token(client, f"{LIST}/{FORM['code']}")
    invited = client.post(f"{LIST}/{FORM['code']}/invite", data={"csrf_token": token})
    assert invited.status_code == 200
    assert "Invited 3" in invited.text

    members = _members(run)
    assert len(members) == 3
    assert fake_elks.messages[sms_before:] == []  # texts wait in the outbox
    client.blocking_portal.call(client.app.state.services.outbox.run_once)
    texts = [m.message for m in fake_elks.messages[sms_before:]]
    mails = smtp.messages[mail_before:]
    assert len(texts) + len(mails) == 3
    assert any(m.recipients == ["bertil@example.fi"] for m in mails)  # the one Swedish speaker
    assert any("Aino" not in t and "/panels/rsvp/" in t for t in texts)  # the one negative
    reads = [r for r in audit_events(run, "panels.contacts-read")]
    assert len(reads) == 1
    assert reads[0].detail["reason"].startswith("invitation")

    link = re.search(r"(/panels/rsvp/\S+)", (texts + [m.body for m in mails])[0])
    assert link
    rsvp = link.group(1)
    assert client.get(rsvp).status_code == 200
    answer = client.post(rsvp, data={"csrf_token": csrf_token(client, rsvp), "choice": "accepted"})
    assert answer.status_code == 200
    assert sorted(m.status for m in _members(run)) == ["accepted", "invited", "invited"]

    figures = client.get(f"/api/v1/panels/{FORM['code']}").json()
    assert (figures["accepted"], figures["invited"], figures["seats_left"]) == (1, 2, 2)

    token = csrf_token(client, f"{LIST}/{FORM['code']}")
    shown = client.post(
        f"{LIST}/{FORM['code']}/contacts", data={"csrf_token": token, "reason": "call about dates"}
    )
    assert shown.status_code == 200
    assert "+35840111" in shown.text or "bertil@example.fi" in shown.text

    async def logged(session: AsyncSession) -> list[ContactRead]:
        return list(await session.scalars(select(ContactRead).order_by(ContactRead.id)))

    assert [r.reason for r in run(logged)][-1] == "call about dates"
    assert len(audit_events(run, "panels.contacts-read")) == 2


def test_the_api_creates_invites_and_needs_a_reason_for_contacts(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    add_volunteer(run, _cipher(client), "Aino")
    signed_in(client, run, Role.ADMIN)
    body = {
        "code": "api-panel",
        "topic": "T",
        "unit": UNIT,
        "seats": 2,
        "targets": {"min_negative": 1},
    }

    created = client.post("/api/v1/panels", json=body)
    assert created.status_code == 201
    assert created.json()["pool"] == 1
    assert client.post("/api/v1/panels", json=body | {"unit": "nowhere"}).status_code == 400

    result = client.post("/api/v1/panels/api-panel/invitations").json()
    assert result["invited"] == 1
    assert result["unmet_targets"] == ["at least 1 with sentiment negative"]
    assert client.post("/api/v1/panels/api-panel/contacts", json={}).status_code == 400
    contacts = client.post("/api/v1/panels/api-panel/contacts", json={"reason": "phone them"})
    assert contacts.json()[0]["first_name"] == "Aino"
    assert client.get("/api/v1/panels/missing").status_code == 404


def test_representativeness_compares_with_all_respondents_suppressing_small_cells(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    for rating in ["good"] * 6 + ["poor"] * 2:
        reply = client.post(
            "/api/v1/responses",
            json=answer(id=str(uuid.uuid4()), rating=rating),
            headers=bearer(seeded.kiosk_key),
        )
        assert reply.status_code in (200, 201), reply.text
    signed_in(client, run, Role.ORGANISER)
    body = {"code": "mix", "topic": "T", "unit": UNIT, "seats": 2, "paths": [PATH]}
    assert client.post("/api/v1/panels", json=body).status_code == 201

    mix = client.get("/api/v1/panels/mix").json()["respondents_mix"]

    assert mix["sentiment"]["negative"] is None  # 2 answers: too few to show
    assert list(mix["sentiment"].values()).count(None) != 1  # nor recoverable by subtraction
    assert mix["channel"] == {"kiosk": 8}
    page = client.get(f"{LIST}/mix").text
    assert "fewer than 5" in page
