"""Kiosk administration: who may see it, pairing codes that enrol, revocation that bites."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from server.auth.roles import Role
from tests.auth.helpers import audit_events, csrf_token, signed_in
from tests.feedback.helpers import bearer
from tests.support.fixtures import Seeded

LIST = "/admin/kiosks"


def _post(client: TestClient[Litestar], url: str) -> Any:
    return client.post(url, data={"csrf_token": csrf_token(client, LIST)})


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER])
def test_admins_and_managers_see_every_kiosk_with_its_health(
    client: TestClient[Litestar], run: Any, seeded: Seeded, role: Role
) -> None:
    signed_in(client, run, role)
    client.post(
        "/api/v1/kiosks/heartbeat",
        json={"outbox_pending": 7, "app_version": "1.2.3"},
        headers=bearer(seeded.kiosk_key),
    )

    page = client.get(LIST)

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    row = page.text.split(f">{seeded.kiosk_code}<", 1)[1].split("</tr>", 1)[0]
    assert "<td>7</td>" in row
    assert "UTC" in row


def test_organisers_are_forbidden(client: TestClient[Litestar], run: Any) -> None:
    signed_in(client, run, Role.ORGANISER)

    assert client.get(LIST).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in_but_apis_still_answer_401(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    page = client.get(LIST, follow_redirects=False)
    api = client.post("/api/v1/responses", json={})

    assert page.status_code == 303
    assert page.headers["location"] == f"/staff/sign-in?next={LIST}"
    assert api.status_code == 401
    assert api.json()["type"] == "urn:kaiku:problem:authentication-required"


def test_signing_in_from_the_redirect_returns_to_the_page(
    client: TestClient[Litestar], run: Any
) -> None:
    from tests.auth.helpers import PASSWORD, add_user

    add_user(run, "aino", Role.MANAGER)
    client.get(LIST)
    reply = client.post(
        f"/staff/sign-in?next={LIST}",
        data={"csrf_token": csrf_token(client), "username": "aino", "password": PASSWORD},
        follow_redirects=False,
    )

    assert reply.headers["location"] == LIST


def test_a_pairing_code_from_the_admin_page_enrols_the_tablet(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    user_id = signed_in(client, run, Role.MANAGER)

    page = _post(client, f"{LIST}/{seeded.kiosk_code}/pairing-code")

    assert page.status_code == 200
    assert f"/k/{seeded.kiosk_code}" in page.text
    assert "Valid until" in page.text
    match = re.search(r'class="pairing-code">([A-Z0-9]{4}-[A-Z0-9]{4})<', page.text)
    assert match, page.text
    paired = client.post("/api/v1/kiosks/pair", json={"code": match.group(1)})
    assert paired.status_code == 200, paired.text
    assert paired.json()["kiosk"] == seeded.kiosk_code
    again = client.post("/api/v1/kiosks/pair", json={"code": match.group(1)})
    assert again.status_code == 422
    [event] = audit_events(run, "kiosk.pairing-code")
    assert (event.actor, event.subject) == (f"user:{user_id}", f"kiosk:{seeded.kiosk_code}")
    assert match.group(1) not in str(event.detail)


def test_revoking_puts_the_tablet_out_of_use(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    user_id = signed_in(client, run, Role.ADMIN)
    heartbeat = {"outbox_pending": 0, "app_version": "1"}
    before = client.post(
        "/api/v1/kiosks/heartbeat", json=heartbeat, headers=bearer(seeded.kiosk_key)
    )
    assert before.status_code < 300

    page = _post(client, f"{LIST}/{seeded.kiosk_code}/revoke")

    assert page.status_code == 200
    assert "Revoked 1 device key" in page.text
    after = client.post(
        "/api/v1/kiosks/heartbeat", json=heartbeat, headers=bearer(seeded.kiosk_key)
    )
    assert after.status_code == 401
    assert after.json()["type"] == "urn:kaiku:problem:device-key-revoked"
    [event] = audit_events(run, "kiosk.keys-revoked")
    assert (event.actor, event.detail) == (f"user:{user_id}", {"keys": 1})


def test_admin_forms_without_the_csrf_token_are_refused(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    signed_in(client, run, Role.ADMIN)

    revoke = client.post(f"{LIST}/{seeded.kiosk_code}/revoke")
    pairing = client.post(f"{LIST}/{seeded.kiosk_code}/pairing-code", data={"csrf_token": ""})

    assert revoke.status_code == pairing.status_code == 403
    ingest = client.post(
        "/api/v1/kiosks/heartbeat",
        json={"outbox_pending": 0, "app_version": "1"},
        headers=bearer(seeded.kiosk_key),
    )
    assert ingest.status_code < 300
    assert audit_events(run, "kiosk.keys-revoked") == []


def test_an_unknown_kiosk_is_404(client: TestClient[Litestar], run: Any, seeded: Seeded) -> None:
    signed_in(client, run, Role.ADMIN)

    assert _post(client, f"{LIST}/no-such-kiosk/revoke").status_code == 404


@pytest.mark.parametrize("version", ["1.2\x00", "v\n2", "é" * 3])
def test_a_heartbeat_with_an_unprintable_version_is_a_422_not_a_500(
    client: TestClient[Litestar], seeded: Seeded, version: str
) -> None:
    reply = client.post(
        "/api/v1/kiosks/heartbeat",
        json={"outbox_pending": 0, "app_version": version},
        headers=bearer(seeded.kiosk_key),
    )

    assert reply.status_code in (400, 422), reply.text
    assert reply.headers["content-type"] == "application/problem+json"
