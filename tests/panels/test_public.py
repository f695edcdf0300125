"""Opt-in, decline and withdrawal as a client meets them: plain pages and forms."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.panels import consent
from server.panels.context import join_url
from server.panels.models import Consent, Volunteer, VolunteerExperience
from tests.auth.helpers import csrf_token
from tests.panels.helpers import PATH, UNIT
from tests.support.fixtures import Seeded


def _url(client: TestClient[Litestar], option: str = "poor", channel: str = "sms") -> str:
    key = client.app.state.services.settings.effective_secret_key
    return join_url(key, UNIT, channel, PATH, "hakemus", option)


def _rows(run: Any, model: Any) -> list[Any]:
    async def fetch(session: AsyncSession) -> list[Any]:
        return list(await session.scalars(select(model)))

    return list(run(fetch))


def _join(client: TestClient[Litestar], url: str, **fields: str) -> Any:
    ctx = url.split("ctx=", 1)[1]
    from urllib.parse import unquote

    data = {"csrf_token": csrf_token(client, url), "ctx": unquote(ctx), "language": "en"} | fields
    return client.post("/panels/join", data=data)


def test_join_form_shows_the_versioned_consent_and_stores_it(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    url = _url(client)
    form = client.get(f"{url}&lang=en")
    assert form.status_code == 200
    assert consent.consent_text("en") in form.text
    assert 'name="share_sentiment"' in form.text

    done = _join(client, url, first_name="Aino", phone="040 123 4567", share_sentiment="yes")

    assert done.status_code == 200
    assert "/panels/withdraw/" in done.text
    [given] = _rows(run, Consent)
    assert (given.channel, given.language) == ("sms", "en")
    assert given.text_sha256 == consent.text_sha256(consent.consent_text("en"))
    [experience] = _rows(run, VolunteerExperience)
    assert experience.sentiment == "negative"


def test_without_the_tick_the_sentiment_is_not_kept(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    assert _join(client, _url(client), first_name="Aino", email="a@example.fi").status_code == 200
    [experience] = _rows(run, VolunteerExperience)
    assert experience.sentiment is None


def test_missing_contact_details_are_asked_again_and_nothing_stored(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    answer = _join(client, _url(client), first_name="Aino")
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text
    assert _rows(run, Volunteer) == []


def test_a_forged_context_or_missing_csrf_is_refused(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    assert client.get("/panels/join?ctx=forged.abc").status_code == 404
    url = _url(client)
    client.get(url)
    ctx = url.split("ctx=", 1)[1]
    refused = client.post(
        "/panels/join", data={"ctx": ctx, "first_name": "X", "phone": "0401234567"}
    )
    assert refused.status_code == 403
    assert _rows(run, Volunteer) == []


def test_declining_is_one_tap_and_stores_nothing(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    form = client.get(_url(client))
    decline = re.search(r'href="(/panels/declined[^"]*)"', form.text)
    assert decline
    assert client.get(decline.group(1).replace("&amp;", "&")).status_code == 200
    assert _rows(run, Volunteer) == []


def test_the_withdraw_link_erases_contact_details(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    done = _join(client, _url(client), first_name="Aino", phone="0401234567")
    link = re.search(r'href="http://[^/]+(/panels/withdraw/[^"]+)"', done.text)
    assert link
    page = client.get(link.group(1))
    assert page.status_code == 200
    token = csrf_token(client, link.group(1))
    gone = client.post(link.group(1), data={"csrf_token": token, "choice": "withdraw"})

    assert gone.status_code == 200
    [volunteer] = _rows(run, Volunteer)
    assert (volunteer.first_name_enc, volunteer.phone_enc) == (None, None)
    assert volunteer.withdrawn_at is not None
