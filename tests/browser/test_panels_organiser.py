"""The organiser's panel pages in a real browser, without JavaScript in the pages: sign
in, create a panel, see the pool, mark staff, select and invite, read contacts, choose
the join form's questions; axe-core finds nothing on any of the pages on the way."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.roles import Role
from server.auth.users import create_user
from server.panels.crypto import cipher_from_settings
from server.settings import Settings
from tests.auth.helpers import PASSWORD
from tests.browser.kiosk_driver import off_loop
from tests.browser.test_kiosk_a11y import assert_clean
from tests.panels.helpers import UNIT, add_volunteer

pytestmark = pytest.mark.browser
ORGANISER = "organiser-browser"
WIDE: ViewportSize = {"width": 1280, "height": 900}
NARROW: ViewportSize = {"width": 320, "height": 800}
CODE = "toimeentulo-kevat"
VOLUNTEERS = [  # name, language, sentiment
    ("Aino", "fi", "negative"),
    ("Bertil", "sv", "positive"),
    ("Cecilia", "fi", "positive"),
    ("Dani", "en", None),
    ("Eero", "fi", "neutral"),
    ("Fanny", "sv", "negative"),
]


def _seed(live: Any) -> None:
    """An organiser account and six volunteers, through the app's own functions."""

    def run(fn: Any) -> Any:
        return off_loop(lambda: live.run(fn))

    async def organiser(session: AsyncSession) -> None:
        await create_user(session, ORGANISER, PASSWORD, [Role.ORGANISER])

    run(organiser)
    cipher = cipher_from_settings(Settings.from_env(live.environ))
    for i, (name, language, sentiment) in enumerate(VOLUNTEERS):
        add_volunteer(
            run, cipher, name, phone=f"+35840444000{i}", language=language, sentiment=sentiment
        )


def _sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/staff/panels")  # the guard sends us to sign in and back
    expect(page).to_have_url(re.compile(r"/staff/sign-in"))
    check(page, "sign-in")
    page.get_by_label("Username", exact=True).fill(ORGANISER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/staff/panels$"))


def check(page: Page, name: str) -> None:
    """axe-core finds nothing; the page works without JavaScript (it has none); at 320 CSS
    pixels only a wide table scrolls, never the page (WCAG 1.4.10 reflow)."""
    assert page.locator("script").count() == 0, name
    assert_clean(page, name)
    page.set_viewport_size(NARROW)
    widths = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    page.set_viewport_size(WIDE)
    assert widths[0] <= widths[1], f"{name}: the page scrolls sideways at 320 px"


def _figure(page: Page, label: str) -> str:
    text = page.locator(f"dt:text-is('{label}') + dd").text_content()
    return (text or "").strip()


def test_organiser_creates_selects_and_invites_with_every_page_axe_clean(
    live_kiosk: Any, browser: Browser
) -> None:
    _seed(live_kiosk)
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    _sign_in(page, live_kiosk.base_url)
    expect(page.get_by_role("heading", name="Client panels", level=1)).to_be_visible()
    check(page, "panel list")

    page.get_by_label("Code", exact=True).fill(CODE)
    page.get_by_label("Topic", exact=True).fill("Toimeentulotuen hakeminen")
    page.get_by_label("Unit code", exact=True).fill("no-such-unit")
    page.get_by_label("Seats", exact=True).fill("3")
    page.get_by_role("button", name="Create panel").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown unit")
    check(page, "panel list with an error")

    page.get_by_label("Code", exact=True).fill(CODE)
    page.get_by_label("Topic", exact=True).fill("Toimeentulotuen hakeminen")
    page.get_by_label("Unit code", exact=True).fill(UNIT)
    page.get_by_label("Path codes", exact=True).fill("toimeentulotuki")
    page.get_by_label("Seats", exact=True).fill("3")
    page.get_by_label("Meeting dates", exact=True).fill("2027-03-10, 2027-04-14")
    page.get_by_label("At least this many with a negative experience", exact=True).fill("1")
    page.get_by_label("Language groups that must be represented", exact=True).fill("fi,sv")
    page.get_by_role("button", name="Create panel").click()

    expect(page).to_have_url(re.compile(rf"/staff/panels/{CODE}$"))
    assert _figure(page, "Volunteers in the pool") == str(len(VOLUNTEERS))
    expect(page.get_by_role("table", name=re.compile("^Pool"))).to_be_visible()
    check(page, "panel")

    page.get_by_role("radio", name=re.compile("^Volunteers in the pool")).check()
    page.get_by_label("Reason", exact=True).fill("check for staff before selecting")
    page.get_by_role("button", name="Show contact details").click()
    pool = page.get_by_role("table", name=re.compile("Contact details"))
    expect(pool.get_by_role("row")).to_have_count(len(VOLUNTEERS) + 1)
    check(page, "pool contact details")
    page.get_by_role("button", name="Mark Eero as staff").click()
    expect(page.get_by_role("status")).to_contain_text("now marked as staff")
    assert _figure(page, "Of these, staff (never selected)") == "1"
    check(page, "after marking staff")

    page.get_by_role("button", name="Select and invite").click()
    expect(page.get_by_role("status")).to_contain_text("Invited 3")
    assert _figure(page, "Invited, no answer yet") == "3"
    assert _figure(page, "Seats left") == "3"
    check(page, "after inviting")

    page.get_by_role("radio", name="Invited and accepted members").check()
    page.get_by_label("Reason", exact=True).fill("call about the dates")
    page.get_by_role("button", name="Show contact details").click()
    members = page.get_by_role("table", name=re.compile("Contact details"))
    expect(members.get_by_role("row")).to_have_count(3 + 1)
    expect(members).not_to_contain_text("Eero")
    check(page, "member contact details")

    page.get_by_role("link", name="Client panels").click()
    expect(page.get_by_role("link", name=CODE)).to_be_visible()
    check(page, "panel list with a panel")

    page.get_by_role("link", name="Join form questions").click()
    unit = page.get_by_role("region", name=UNIT)
    unit.get_by_role("group", name="Age group").get_by_label("Asked, required").check()
    unit.get_by_role("button", name=f"Save for {UNIT}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Saved the join form questions of {UNIT}")
    expect(
        page.get_by_role("region", name=UNIT)
        .get_by_role("group", name="Age group")
        .get_by_label("Asked, required")
    ).to_be_checked()
    check(page, "join form questions")
    unit = page.get_by_role("region", name=UNIT)  # as it was, for the other browser tests
    unit.get_by_role("group", name="Age group").get_by_label("Asked, optional").check()
    unit.get_by_role("button", name=f"Save for {UNIT}").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    context.close()
