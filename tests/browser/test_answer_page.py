"""The SMS answer page on a phone: axe-clean in every language (form, opt-out, notices),
and a plain form post answers with JavaScript turned off."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, ViewportSize
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kiosk.i18n import LANGUAGES
from server.messaging.models import OutboxMessage
from tests.sms.helpers import contact, token_in

pytestmark = pytest.mark.browser
AXE = Axe()  # bundled axe.min.js, no network
PHONE: ViewportSize = {"width": 360, "height": 740}  # a small, cheap phone


def assert_clean(page: Page, screen: str) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, f"{screen}: {results.generate_report()}"


def answer_link(live: Any) -> str:
    """A fresh invitation's link, read from its queued text (the demo's console gateway
    sends it only after the delay)."""
    headers = {"Authorization": f"Bearer {live.seeded.integration_key}"}
    body = contact(phone=f"+35850{secrets.randbelow(10**7):07d}")
    reply = httpx.post(f"{live.base_url}/api/v1/contacts", json=body, headers=headers)
    assert reply.json()["state"] == "scheduled", reply.text
    invitation_id = uuid.UUID(reply.json()["id"])

    async def text(session: AsyncSession) -> str | None:
        return await session.scalar(
            select(OutboxMessage.text).where(OutboxMessage.invitation_id == invitation_id)
        )

    return f"{live.base_url}/a/{token_in(live.run(text))}"


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_answer_opt_out_and_notices_are_axe_clean(
    live_kiosk: Any, browser: Browser, lang: str
) -> None:
    link = answer_link(live_kiosk)
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{link}?lang={lang}")
    assert_clean(page, "answer page")
    page.goto(f"{link}/stop?lang={lang}")
    assert_clean(page, "opt-out page")
    page.goto(f"{link}?lang={lang}")
    page.locator("label.answer").first.click()
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert_clean(page, "thank-you")
    page.goto(f"{link}?lang={lang}")
    assert_clean(page, "used link")
    page.close()


def test_a_phone_without_javascript_answers_with_a_plain_form_post(
    live_kiosk: Any, browser: Browser
) -> None:
    link = answer_link(live_kiosk)
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    before = live_kiosk.stored_responses()
    page.goto(link)
    page.locator("label.answer").nth(1).click()
    page.locator("label.reason").first.click()
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "Kiitos vastauksestasi" in page.content()
    assert live_kiosk.stored_responses() == before + 1
    context.close()
