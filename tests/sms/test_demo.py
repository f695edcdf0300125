"""`kaiku serve --demo` (``dev.py demo``) prints an SMS answer link that works at once, and
only with the console gateway, so a demo never texts anyone."""

from __future__ import annotations

import asyncio
import dataclasses

from litestar import Litestar
from litestar.testing import TestClient

from server.feedback.invitations import demo_link
from server.settings import Settings
from tests.sms.helpers import token_in
from tests.support.fixtures import Seeded


def test_the_demo_link_opens_the_answer_page_and_takes_one_answer(
    client: TestClient[Litestar], seeded: Seeded, settings: Settings
) -> None:
    console = dataclasses.replace(settings, sms_gateway="console")
    link = client.blocking_portal.call(demo_link, console)
    assert link is not None
    assert link.startswith(f"{settings.public_url}/a/")
    token = token_in(link)
    page = client.get(f"/a/{token}")
    assert page.status_code == 200
    nonce = page.text.split('name="nonce" value="')[1].split('"')[0]
    done = client.post(f"/a/{token}", data={"nonce": nonce, "rating": "very_good", "lang": "en"})
    assert done.status_code == 200
    assert "Thank you for your answer!" in done.text
    assert client.post(f"/a/{token}", data={"nonce": nonce, "rating": "poor"}).status_code == 409


def test_no_demo_link_with_a_real_gateway(settings: Settings) -> None:
    assert settings.sms_gateway == "46elks"
    assert asyncio.run(demo_link(settings)) is None
