"""axe-core finds nothing on any kiosk screen in any language; screenshots for the docs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from kiosk.i18n import LANGUAGES
from tests.browser.kiosk_driver import config, enrolled_page, kiosk_url, start

pytestmark = pytest.mark.browser
AXE = Axe()  # bundled axe.min.js, no network
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def assert_clean(page: Page, screen: str) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, f"{screen}: {results.generate_report()}"


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_screen_is_axe_clean(live_kiosk: Any, browser: Browser, lang: str) -> None:
    context, page = enrolled_page(browser, live_kiosk, lang)
    page.clock.install()
    page.reload()
    assert_clean(page, "start")
    start(page)
    assert_clean(page, "rating")
    if lang in {"fi", "sv", "ar"}:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"kiosk-{lang}.png")
    page.locator("section.screen:visible button[data-rating]").first.click()
    if page.locator("#screen-follow").is_visible():
        assert_clean(page, "follow-up")
        page.locator('button[data-action="skip"]').click()
    expect(page.locator("#screen-thanks")).to_be_visible()
    assert_clean(page, "thank-you")
    page.goto(kiosk_url(live_kiosk, lang))
    start(page)
    page.clock.run_for(config(page)["inactivity_seconds"] * 1000 + 1500)
    expect(page.locator("#idle")).to_be_visible()
    assert_clean(page, "inactivity warning")
    page.evaluate("k => localStorage.setItem(`kaiku.revoked.${k}`, '1')", live_kiosk.kiosk_code)
    page.goto(kiosk_url(live_kiosk, lang))
    expect(page.locator("#screen-out")).to_be_visible()
    assert_clean(page, "out of use")
    page.locator('button[data-action="enrol"]').click()
    page.locator("#enrol-form button[type=submit]").click()
    expect(page.locator("#pair-error")).not_to_be_empty()
    assert_clean(page, "enrol with error")
    context.close()
