"""QR posters and the phone answer page they open (channel qr)."""

from __future__ import annotations

import re
from typing import Any

import segno
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from server.auth.roles import Role
from server.feedback.models import Response
from tests.auth.helpers import signed_in
from tests.support.fixtures import Seeded

UNIT, PATH, STEP = "vaasa-aikuissosiaalityo", "toimeentulotuki", "ensitapaaminen"
URL = f"/q/{UNIT}/{PATH}?step={STEP}"


def form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', html))


def rows(run: Any) -> list[Response]:
    async def fetch(session: Any) -> list[Response]:
        return list(await session.scalars(select(Response)))

    return list(run(fetch))


def test_page_works_without_javascript_and_stores_a_qr_answer(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    page = client.get(URL)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text
    assert "/stop" not in page.text  # no opt-out: a QR answer has no number behind it
    fields = form_fields(page.text)
    assert {"csrf_token", "answer_id", "lang"} <= set(fields)

    reply = client.post(URL, data={**fields, "rating": "poor", "reason": "waiting_time"})
    assert reply.status_code == 200, reply.text
    [stored] = rows(run)
    assert (stored.channel, stored.contact_mode, stored.option) == ("qr", "in_person", "poor")
    assert stored.kiosk_id is None
    assert stored.reasons == ["waiting_time"]


def test_one_answer_per_phone_per_path_per_day(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    fields = form_fields(client.get(URL).text)
    assert client.post(URL, data={**fields, "rating": "good"}).status_code == 200

    again = client.get(URL)
    assert again.status_code == 409
    assert "already answered" in again.text.lower() or "jo vastannut" in again.text
    assert client.post(URL, data={**fields, "rating": "good"}).status_code == 409
    other_path = client.get(f"/q/{UNIT}/aikuissosiaalityo")
    assert other_path.status_code == 200
    assert len(rows(run)) == 1


def test_a_resent_form_is_stored_once(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    fields = form_fields(client.get(URL).text)
    client.post(URL, data={**fields, "rating": "good"})
    client.cookies.pop(next(k for k in client.cookies if k.startswith("kaiku_qr_")))
    client.post(URL, data={**fields, "rating": "good"})  # a double tap, cookie lost
    assert len(rows(run)) == 1


def test_forged_or_bad_forms_store_nothing(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    fields = form_fields(client.get(URL).text)
    forged = client.post(URL, data={**fields, "csrf_token": "x", "rating": "good"})
    assert forged.status_code == 403
    no_rating = client.post(URL, data=fields)
    assert no_rating.status_code == 422
    off_scale = client.post(URL, data={**fields, "rating": "11"})
    assert off_scale.status_code == 422
    assert client.get(f"/q/{UNIT}/no-such-path").status_code == 404

    async def count(session: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(Response)))

    assert run(count) == 0


def test_poster_is_for_staff_and_encodes_the_answer_url(
    client: TestClient[Litestar], seeded: Seeded, run: Any, settings: Any
) -> None:
    poster_url = f"/admin/qr/{UNIT}/{PATH}?step={STEP}"
    anonymous = client.get(poster_url, follow_redirects=False)
    assert anonymous.status_code in (302, 303)
    assert "/staff/sign-in" in anonymous.headers["location"]

    signed_in(client, run, Role.MANAGER)
    poster = client.get(poster_url)
    assert poster.status_code == 200
    assert poster.headers["content-type"].startswith("image/svg+xml")
    answer_url = f"{settings.public_url}{URL}"
    assert answer_url in poster.text
    assert "– Ensitapaaminen" in poster.text
    assert "– Första mötet" in poster.text
    # The drawn modules are exactly segno's code for that URL.
    expected = segno.make(answer_url, error="m")
    dark = sum(sum(1 for cell in row if cell) for row in expected.matrix)
    assert poster.text.count("h1v1h-1z") == dark
