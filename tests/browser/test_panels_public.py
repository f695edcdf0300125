"""The client's panel pages in a real browser, in each language: the join form (also
with an error), joined, declined, withdraw and RSVP; axe-core finds nothing, and the
pages work without JavaScript (they have none)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.models import Unit
from server.panels.context import join_url
from server.panels.models import JoinField, Panel, PanelMember, Volunteer
from server.panels.texts import t
from server.panels.volunteers import token_hash
from server.settings import Settings
from tests.browser.kiosk_driver import off_loop
from tests.browser.test_kiosk_a11y import assert_clean
from tests.panels.helpers import PATH, UNIT

pytestmark = pytest.mark.browser
LANGUAGES = ("fi", "sv", "en")


def check(page: Page, name: str) -> None:
    assert page.locator("script").count() == 0, name
    assert_clean(page, name)


def _default_questions(live: Any) -> None:
    """The unit's join form as nobody configured it (another test may have changed it)."""

    async def reset(session: AsyncSession) -> None:
        unit_id = await session.scalar(select(Unit.id).where(Unit.code == UNIT))
        await session.execute(delete(JoinField).where(JoinField.unit_id == unit_id))

    off_loop(lambda: live.run(reset))


def _rsvp_token(live: Any, lang: str) -> str:
    """An invitation of the volunteer who just joined (the newest), made as the app does."""
    token = secrets.token_urlsafe(24)

    async def invite(session: AsyncSession) -> None:
        unit_id = await session.scalar(select(Unit.id).where(Unit.code == UNIT))
        volunteer_id = await session.scalar(select(Volunteer.id).order_by(Volunteer.id.desc()))
        assert unit_id is not None
        assert volunteer_id is not None
        now = dt.datetime.now(dt.UTC)
        panel = Panel(
            code=f"public-{lang}",
            topic="Toimeentulotuki",
            unit_id=unit_id,
            path_ids=[],
            seats=3,
            meeting_dates=["2027-03-10"],
            targets={},
            created_at=now,
        )
        session.add(panel)
        await session.flush()
        session.add(
            PanelMember(
                panel_id=panel.id,
                volunteer_id=volunteer_id,
                status="invited",
                invited_at=now,
                rsvp_token_hash=token_hash(token),
            )
        )

    off_loop(lambda: live.run(invite))
    return token


@pytest.mark.parametrize("lang", LANGUAGES)
def test_join_rsvp_and_withdraw_pages_are_axe_clean(
    live_kiosk: Any, browser: Browser, lang: str
) -> None:
    _default_questions(live_kiosk)
    key = Settings.from_env(live_kiosk.environ).effective_secret_key
    join = live_kiosk.base_url + join_url(key, UNIT, "sms", PATH, "hakemus", "poor")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)

    page.goto(f"{join}&lang={lang}")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("invite", lang))
    check(page, "join form")
    page.get_by_label(t("name", lang)).fill("Aino")
    page.get_by_role("button", name=t("agree", lang)).click()
    expect(page.get_by_role("alert")).to_have_text(t("error", lang))
    check(page, "join form with an error")

    page.get_by_label(t("name", lang)).fill("Aino")
    page.get_by_label(t("email", lang)).fill(f"aino.{lang}@example.fi")
    page.get_by_role("button", name=t("agree", lang)).click()
    expect(page.get_by_role("status")).to_have_text(t("joined", lang))
    check(page, "joined")
    withdraw = page.get_by_role("link", name="/panels/withdraw/").get_attribute("href")
    assert withdraw

    page.goto(f"{live_kiosk.base_url}/panels/rsvp/{_rsvp_token(live_kiosk, lang)}")
    expect(page.get_by_role("button", name=t("accept", lang))).to_be_visible()
    check(page, "RSVP")

    page.goto(f"{live_kiosk.base_url}/panels/declined?lang={lang}")
    check(page, "declined")

    page.goto(f"{withdraw}?lang={lang}")
    check(page, "withdraw")
    page.get_by_role("button", name=t("withdraw", lang)).click()
    expect(page.get_by_role("status")).to_have_text(t("withdrawn", lang))
    check(page, "withdrawn")
    context.close()
