"""The optional panel invitation after the thank-you on the kiosk, QR and SMS pages."""

from __future__ import annotations

import html
import re
from functools import partial
from typing import Any
from urllib.parse import unquote

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.lookup import load_snapshot
from server.feedback.pages import kiosk_config
from server.panels.context import verify
from server.panels.models import Consent, VolunteerExperience
from tests.feedback.test_qr import URL as QR_URL
from tests.feedback.test_qr import form_fields
from tests.sms.conftest import Clock
from tests.sms.helpers import contact, services_of, token_in, worker
from tests.support.fake_46elks import Fake46elks
from tests.support.fixtures import Seeded

JOIN = re.compile(r'href="(/panels/join\?ctx=[^"]+)"')


def _context(client: TestClient[Litestar], page: str) -> Any:
    match = JOIN.search(page)
    assert match, "no panel invitation on the thank-you page"
    link = html.unescape(match.group(1))
    ctx = unquote(link.split("ctx=", 1)[1].split("&", 1)[0])
    parsed = verify(client.app.state.services.settings.effective_secret_key, ctx)
    assert parsed is not None
    assert client.get(link).status_code == 200
    return parsed


def test_qr_thanks_offers_the_panel_with_the_coarse_sentiment_only(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    fields = form_fields(client.get(QR_URL).text)
    reply = client.post(QR_URL, data={**fields, "rating": "very_poor"})

    ctx = _context(client, reply.text)
    assert (ctx.channel, ctx.path, ctx.step, ctx.sentiment) == (
        "qr",
        "toimeentulotuki",
        "ensitapaaminen",
        "negative",
    )
    assert fields["answer_id"] not in reply.text.split("panel-invite", 1)[1]


def test_sms_thanks_offers_the_panel(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks
) -> None:
    clock = Clock()
    services_of(client).invitations.clock = clock
    before = len(fake_elks.messages)
    headers = {"Authorization": f"Bearer {seeded.integration_key}"}
    assert client.post("/api/v1/contacts", json=contact(), headers=headers).status_code == 202
    clock.advance(minutes=31)
    assert client.blocking_portal.call(worker(client, clock, "thanks").run_once) == 1
    token = token_in(fake_elks.messages[before].message)
    nonce = client.get(f"/a/{token}").text.split('name="nonce" value="')[1].split('"')[0]

    reply = client.post(f"/a/{token}", data={"nonce": nonce, "rating": "good"})

    assert reply.status_code == 200
    ctx = _context(client, reply.text)
    assert (ctx.channel, ctx.sentiment) == ("sms", "positive")


def test_kiosk_thanks_shows_a_qr_code_for_the_clients_own_phone(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    page = client.get(f"/k/{seeded.kiosk_code}").text
    thanks = page.split('id="screen-thanks"', 1)[1].split("</section>", 1)[0]
    assert 'class="panel-invite"' in thanks
    assert "<svg" in thanks
    assert "<input" not in thanks  # nothing personal is typed on the shared tablet


def test_a_client_joins_from_the_kiosk_qr_code_and_the_consent_says_kiosk(
    client: TestClient[Litestar], run: Any, seeded: Seeded
) -> None:
    services = services_of(client)
    catalog = run(load_snapshot)
    config = kiosk_config(catalog, catalog.kiosks_by_code[seeded.kiosk_code], services)
    assert isinstance(config.thanks_extra, partial)
    absolute = config.thanks_extra.args[0]  # what the QR code on the thank-you screen holds
    link = absolute.removeprefix(services.settings.public_url)
    ctx = _context(client, f'href="{html.escape(link)}"')
    form = client.get(f"{link}&lang=en").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token

    joined = client.post(
        "/panels/join",
        data={
            "csrf_token": token.group(1),
            "ctx": unquote(link.split("ctx=", 1)[1]),
            "first_name": "Aino",
            "email": "aino@example.fi",
            "language": "en",
        },
    )

    assert joined.status_code == 200
    assert ctx.channel == "kiosk"

    async def stored(session: AsyncSession) -> tuple[str, str]:
        consent = (await session.scalars(select(Consent))).one()
        experience = (await session.scalars(select(VolunteerExperience))).one()
        return consent.channel, experience.channel

    assert run(stored) == ("kiosk", "kiosk")
