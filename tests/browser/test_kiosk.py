"""The kiosk in headless Chromium against a real Kaiku server on loopback.

``live_kiosk`` is shared by the session, so every test counts stored rows as a
difference from where it started. ``live_kiosk`` comes first in each signature
so the server (which prepares its database with asyncio) starts before the
browser takes this thread's event loop.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Route, expect
from playwright.sync_api import Error as PlaywrightError

from kiosk.i18n import LANGUAGES
from tests.browser.kiosk_driver import (
    answer,
    booted,
    config,
    enrolled_page,
    kiosk_url,
    pair_code,
    start,
    stored,
    wait_for,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_full_answer_in_each_language(live_kiosk: Any, browser: Browser, lang: str) -> None:
    before = stored(live_kiosk)
    context, page = enrolled_page(browser, live_kiosk, lang)
    expect(page.locator("html")).to_have_attribute("lang", LANGUAGES[lang].html_lang)
    expect(page.locator("html")).to_have_attribute("dir", LANGUAGES[lang].dir)
    answer(page)
    expect(page.locator("#live")).not_to_be_empty()
    wait_for(lambda: stored(live_kiosk) == before + 1)
    expect(page.locator("html")).to_have_attribute("data-pending", "0")
    context.close()


def test_offline_answers_survive_reloads_and_arrive_once(live_kiosk: Any, browser: Browser) -> None:
    before = stored(live_kiosk)
    context, page = enrolled_page(browser, live_kiosk)
    expect(page.locator("html[data-offline-ready]")).to_have_count(1)
    page.clock.install()
    page.reload()
    context.set_offline(True)
    thank_you = config(page)["thank_you_seconds"] * 1000 + 500
    for number in range(20):
        answer(page, follow_up=number % 2 == 0)
        page.clock.run_for(thank_you)
        if number in (6, 13):
            page.reload()
            expect(page.locator("section.screen:visible")).to_have_count(1)
    expect(page.locator("html")).to_have_attribute("data-pending", "20")
    assert stored(live_kiosk) == before
    context.set_offline(False)
    wait_for(lambda: stored(live_kiosk) == before + 20)
    expect(page.locator("html")).to_have_attribute("data-pending", "0")
    page.clock.run_for(120_000)  # later retries and heartbeats add nothing
    assert stored(live_kiosk) == before + 20
    context.close()


def test_failing_server_loses_nothing(live_kiosk: Any, browser: Browser) -> None:
    before = stored(live_kiosk)
    context, page = enrolled_page(browser, live_kiosk)
    failures = {"count": 0}

    def flaky(route: Route) -> None:
        failures["count"] += 1
        kind = failures["count"] % 3
        try:
            if kind == 1:
                route.fulfill(status=500, content_type="application/problem+json", body="{}")
            elif kind == 2:
                route.abort("timedout")
            else:  # stored by the server but the reply is lost: the resend must count once
                route.fetch()
                route.fulfill(status=502, body="bad gateway")
        except PlaywrightError:  # the kiosk gave up waiting first (its own timeout)
            pass

    page.route("**/api/v1/responses/batch", flaky)
    page.clock.install()
    page.reload()
    thank_you = config(page)["thank_you_seconds"] * 1000 + 500
    for _ in range(5):
        answer(page, follow_up=False)
        page.clock.run_for(thank_you)
    page.clock.run_for(120_000)
    wait_for(lambda: failures["count"] >= 3)
    page.unroute("**/api/v1/responses/batch")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_for(lambda: stored(live_kiosk) == before + 5)
    expect(page.locator("html")).to_have_attribute("data-pending", "0")
    context.close()


def test_coming_back_online_during_a_failing_send_sends_at_once(
    live_kiosk: Any, browser: Browser
) -> None:
    """An 'online' event while a send is still failing is not lost behind that send's backoff.

    The page's clock stands still, so the backoff timer never fires: only the remembered
    'online' can deliver the answer.
    """
    before = stored(live_kiosk)
    context, page = enrolled_page(browser, live_kiosk)
    page.clock.install()
    page.reload()
    booted(page)
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
    in_flight: list[Route] = []

    def hold_the_first_send(route: Route) -> None:
        if in_flight:
            route.continue_()
        else:
            in_flight.append(route)

    page.route("**/api/v1/responses/batch", hold_the_first_send)
    answer(page, follow_up=False)
    while not in_flight:
        page.evaluate("0")  # lets Playwright deliver the intercepted request
    page.evaluate("window.dispatchEvent(new Event('online'))")
    in_flight[0].fulfill(status=503, content_type="application/problem+json", body="{}")
    # expect() keeps Playwright dispatching, so the route can pass the resend on
    expect(page.locator("html")).to_have_attribute("data-pending", "0")
    assert stored(live_kiosk) == before + 1
    context.close()


def test_inactivity_warns_then_resets_keeping_the_rating(live_kiosk: Any, browser: Browser) -> None:
    before = stored(live_kiosk)
    context, page = enrolled_page(browser, live_kiosk, "sv")
    page.clock.install()
    page.reload()
    settings = config(page)
    idle = settings["inactivity_seconds"] * 1000
    dialog = page.locator("#idle")

    page.clock.run_for(idle + 1500)
    expect(dialog).to_be_visible()
    expect(page.locator('button[data-action="continue"]')).to_be_focused()
    page.locator('button[data-action="continue"]').click()
    expect(dialog).to_be_hidden()
    expect(page.locator("html")).to_have_attribute("lang", "sv")

    start(page)
    page.locator("section.screen:visible button[data-rating]").first.click()
    expect(page.locator("#screen-follow")).to_be_visible()
    page.clock.run_for(idle + 1500)
    expect(dialog).to_be_visible()
    page.clock.run_for(settings["warning_seconds"] * 1000 + 1500)
    # back at the start, in the kiosk's default language; the rating alone was kept
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    expect(dialog).to_be_hidden()
    wait_for(lambda: stored(live_kiosk) == before + 1)
    context.close()


def test_enrolment_with_pairing_code_and_revocation(live_kiosk: Any, browser: Browser) -> None:
    before = stored(live_kiosk)
    fresh = browser.new_context()
    page = fresh.new_page()
    page.goto(kiosk_url(live_kiosk))
    expect(page.locator("#screen-enrol")).to_be_visible()
    page.locator("#pair-code").fill("WRONG-CODE")
    page.locator("#enrol-form button[type=submit]").click()
    expect(page.locator("#pair-error")).not_to_be_empty()
    expect(page.locator("#pair-code")).to_be_focused()
    page.locator("#pair-code").fill(pair_code(live_kiosk))
    page.locator("#enrol-form button[type=submit]").click()
    expect(page.locator("#screen-enrol")).to_be_hidden()
    answer(page)
    wait_for(lambda: stored(live_kiosk) == before + 1)

    # Enrolling another tablet for this kiosk retires the first tablet's key.
    other, other_page = enrolled_page(browser, live_kiosk)
    assert "pair=" not in other_page.url
    page.context.set_offline(True)
    page.clock.install()
    page.reload()
    answer(page, follow_up=False)
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#screen-out")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-pending", "1")  # kept for re-enrolment
    page.locator('button[data-action="enrol"]').click()
    page.locator("#pair-code").fill(pair_code(live_kiosk))
    page.locator("#enrol-form button[type=submit]").click()
    wait_for(lambda: stored(live_kiosk) == before + 2)
    other.close()
    fresh.close()
