"""The organiser chooses the join form's background questions per unit: not asked,
optional or required (page and API, audited); the public form follows the choice."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.roles import Role
from server.panels.context import join_url
from server.panels.crypto import cipher_from_settings
from server.panels.models import Volunteer
from server.panels.schemas import BackgroundModes
from server.panels.volunteers import BACKGROUND_FIELDS
from tests.auth.helpers import audit_events, csrf_token, signed_in
from tests.panels.helpers import PATH, UNIT
from tests.sms.helpers import services_of
from tests.support.fixtures import Seeded

PAGE = "/staff/join-form"


def _join_url(client: TestClient[Litestar]) -> str:
    key = services_of(client).settings.effective_secret_key
    return join_url(key, UNIT, "qr", PATH, "hakemus", "good") + "&lang=en"


def _join(client: TestClient[Litestar], url: str, **fields: str) -> Any:
    ctx = unquote(url.split("ctx=", 1)[1].split("&", 1)[0])
    data = {"csrf_token": csrf_token(client, url), "ctx": ctx, "language": "en"}
    return client.post("/panels/join", data=data | {"first_name": "Aino", **fields})


def _volunteers(run: Any) -> list[Volunteer]:
    async def fetch(session: AsyncSession) -> list[Volunteer]:
        return list(await session.scalars(select(Volunteer).order_by(Volunteer.id)))

    return list(run(fetch))


def test_by_default_both_questions_are_asked_and_optional(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    form = client.get(_join_url(client)).text
    assert "Age group (optional)" in form
    assert "Municipality (optional)" in form
    assert _join(client, _join_url(client), email="aino@example.fi").status_code == 200
    signed_in(client, run, Role.ORGANISER)
    forms = {f["unit"]: f["fields"] for f in client.get("/api/v1/join-form").json()}
    assert forms[UNIT] == {"age_band": "optional", "municipality": "optional"}


def test_the_organiser_page_makes_a_question_required_or_not_asked(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    signed_in(client, run, Role.ORGANISER)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert f"Save for {UNIT}" in page.text
    token = csrf_token(client, PAGE)
    choice = {"unit": UNIT, "age_band": "required", "municipality": "off"}
    assert client.post(PAGE, data=choice).status_code == 403  # no CSRF token

    saved = client.post(PAGE, data={"csrf_token": token, **choice})

    assert saved.status_code == 200
    assert f"Saved the join form questions of {UNIT}" in saved.text
    assert f'id="{UNIT}-age_band-required" name="age_band" value="required" checked' in saved.text
    [event] = audit_events(run, "panels.join-form")
    assert (event.subject, event.detail) == (
        f"unit:{UNIT}",
        {"age_band": "required", "municipality": "off"},
    )
    client.cookies.clear()  # a client on their own phone

    url = _join_url(client)
    form = client.get(url).text
    assert "Age group (required)" in form
    assert '<select id="age_band" name="age_band" required>' in form
    assert "Municipality" not in form

    missing = _join(client, url, email="aino@example.fi")
    assert missing.status_code == 422
    assert "Please fill in the fields marked required." in missing.text
    assert _volunteers(run) == []
    done = _join(client, url, email="aino@example.fi", age_band="65+", municipality="Vaasa")
    assert done.status_code == 200
    [volunteer] = _volunteers(run)
    assert volunteer.background == {"age_band": "65+"}  # the question not asked is not kept
    cipher = cipher_from_settings(services_of(client).settings)
    assert cipher.decrypt(volunteer.email_enc) == "aino@example.fi"


def test_the_api_sets_modes_and_refuses_unknown_units_fields_and_modes(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    signed_in(client, run, Role.ADMIN)
    url = f"/api/v1/join-form/{UNIT}"

    reply = client.put(url, json={"fields": {"municipality": "required"}})

    assert reply.status_code == 200
    assert reply.json() == {
        "unit": UNIT,
        "fields": {"age_band": "optional", "municipality": "required"},
    }
    for body in ({"fields": {"shoe_size": "required"}}, {"fields": {"age_band": "maybe"}}, {}):
        assert client.put(url, json=body).status_code == 400, body
    missing = client.put("/api/v1/join-form/nowhere", json={"fields": {}})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad_form = client.post(
        PAGE, data={"csrf_token": csrf_token(client, PAGE), "unit": UNIT, "age_band": "maybe"}
    )
    assert bad_form.status_code == 400
    assert len(audit_events(run, "panels.join-form")) == 1


def test_the_api_body_names_every_background_question() -> None:
    assert set(BackgroundModes.__struct_fields__) == set(BACKGROUND_FIELDS)
