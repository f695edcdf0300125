"""Exclusions: an organiser marks a volunteer as staff (page and API, audited), and
selection never invites staff."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.roles import Role
from server.panels.crypto import cipher_from_settings
from server.panels.models import PanelMember, Volunteer
from tests.auth.helpers import audit_events, csrf_token, signed_in
from tests.panels.helpers import UNIT, add_volunteer
from tests.sms.helpers import services_of
from tests.support.fixtures import Seeded

PANEL = "/staff/panels/p1"


def _setup(client: TestClient[Litestar], run: Any, role: Role = Role.ORGANISER) -> dict[str, int]:
    cipher = cipher_from_settings(services_of(client).settings)
    for i, name in enumerate(("Aino", "Bertil", "Cecilia")):
        add_volunteer(run, cipher, name, phone=f"+35840333000{i}")
    signed_in(client, run, role)
    body = {"code": "p1", "topic": "T", "unit": UNIT, "seats": 3}
    assert client.post("/api/v1/panels", json=body).status_code == 201

    async def ids(session: AsyncSession) -> dict[str, int]:
        rows = await session.scalars(select(Volunteer))
        return {cipher.decrypt(v.first_name_enc) or "": v.id for v in rows}

    found: dict[str, int] = run(ids)
    return found


def _invited(run: Any) -> set[int]:
    async def fetch(session: AsyncSession) -> set[int]:
        return set(await session.scalars(select(PanelMember.volunteer_id)))

    return set(run(fetch))


def test_the_api_marks_staff_audited_and_selection_skips_them(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    ids = _setup(client, run, Role.ADMIN)

    marked = client.put(f"/api/v1/volunteers/{ids['Bertil']}/staff", json={"staff": True})

    assert marked.status_code == 200
    assert marked.json() == {"volunteer_id": ids["Bertil"], "staff": True}
    [event] = audit_events(run, "panels.volunteer-staff")
    assert (event.subject, event.detail) == (f"volunteer:{ids['Bertil']}", {"staff": True})
    assert event.actor.startswith("user:")
    figures = client.get("/api/v1/panels/p1").json()
    assert (figures["pool"], figures["pool_staff"]) == (3, 1)

    result = client.post("/api/v1/panels/p1/invitations").json()

    assert (result["invited"], result["excluded"]) == (2, 1)
    assert _invited(run) == {ids["Aino"], ids["Cecilia"]}


def test_the_api_refuses_unknown_volunteers_and_bad_bodies_with_problems(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    ids = _setup(client, run)

    missing = client.put("/api/v1/volunteers/999999/staff", json={"staff": True})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert client.put(f"/api/v1/volunteers/{ids['Aino']}/staff", json={}).status_code == 400
    too_big = client.put("/api/v1/volunteers/99999999999/staff", json={"staff": True})
    assert too_big.status_code == 400
    assert audit_events(run, "panels.volunteer-staff") == []


def test_the_organiser_page_lists_the_pool_and_marks_and_unmarks_staff(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    ids = _setup(client, run)
    token = csrf_token(client, PANEL)
    shown = client.post(
        f"{PANEL}/contacts",
        data={"csrf_token": token, "reason": "check for staff", "scope": "pool"},
    )
    assert shown.status_code == 200
    assert "Mark Cecilia as staff" in shown.text
    [read] = audit_events(run, "panels.contacts-read")
    assert sorted(read.detail["ids"]) == sorted(ids.values())

    form = {"csrf_token": token, "volunteer_id": str(ids["Cecilia"]), "staff": "yes"}
    assert client.post(f"{PANEL}/staff", data=form | {"csrf_token": ""}).status_code == 403
    marked = client.post(f"{PANEL}/staff", data=form)

    assert marked.status_code == 200
    assert "now marked as staff" in marked.text
    assert client.get("/api/v1/panels/p1").json()["pool_staff"] == 1
    again = client.post(
        f"{PANEL}/contacts",
        data={"csrf_token": token, "reason": "check for staff", "scope": "pool"},
    )
    assert "Not staff: Cecilia" in again.text
    unmarked = client.post(f"{PANEL}/staff", data=form | {"staff": "no"})
    assert "no longer marked" in unmarked.text
    assert client.get("/api/v1/panels/p1").json()["pool_staff"] == 0
    assert [e.detail["staff"] for e in audit_events(run, "panels.volunteer-staff")] == [
        True,
        False,
    ]
    bad = client.post(f"{PANEL}/staff", data=form | {"volunteer_id": "x"})
    assert bad.status_code == 400
    assert client.post("/staff/panels/nope/staff", data=form).status_code == 404
