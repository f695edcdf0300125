"""Drives the kiosk page the way a client does, whatever services the kiosk offers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from playwright.sync_api import Browser, BrowserContext, Page, expect

T = TypeVar("T")


def off_loop(fn: Callable[[], T]) -> T:
    """Run a live-server helper in a thread: Playwright's sync API owns this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


def stored(live: Any) -> int:
    return int(off_loop(live.stored_responses))


def pair_code(live: Any) -> str:
    code = live.pair_code
    return str(off_loop(code) if callable(code) else code)


def enrolled_page(
    browser: Browser, live: Any, lang: str | None = None
) -> tuple[BrowserContext, Page]:
    """A fresh tablet enrolled with a one-time pairing code, showing the kiosk in ``lang``.

    Pairing gives the kiosk a new device key and retires older ones, as on a real wall.
    """
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    url = kiosk_url(live, lang)
    page.goto(f"{url}{'&' if '?' in url else '?'}pair={pair_code(live)}")
    booted(page)
    expect(page.locator("#screen-enrol")).to_be_hidden()
    return context, page


def booted(page: Page) -> None:
    """Wait until the kiosk has finished starting: until then it may still switch screens."""
    expect(page.locator("html[data-booted]")).to_have_count(1)
    expect(page.locator("section.screen:visible")).to_have_count(1)


def kiosk_url(live: Any, lang: str | None = None) -> str:
    url = f"{live.base_url}/k/{live.kiosk_code}"
    return f"{url}?lang={lang}" if lang else url


def config(page: Page) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(page.locator("#kiosk-config").text_content() or "{}")
    return data


def start(page: Page) -> None:
    """From the start screen to the rating screen of a service with a follow-up if any."""
    booted(page)
    services = config(page)["services"]
    if len(services) > 1:
        with_follow = [i for i, s in enumerate(services) if s["reasons"] or s["comments"]]
        page.locator(f'button[data-service="{with_follow[0] if with_follow else 0}"]').click()


def answer(page: Page, *, follow_up: bool = True) -> None:
    """One full answer: service (if asked), a rating, the follow-up if offered, thank-you."""
    start(page)
    page.locator("section.screen:visible button[data-rating]").first.click()
    if page.locator("#screen-follow").is_visible():
        if follow_up:
            reasons = page.locator("label.reason:visible")
            if reasons.count():
                reasons.first.click()
            comment = page.locator("#comment")
            if comment.is_visible():
                comment.fill("Selkeä ohjeistus")
            page.locator("#follow-form button[type=submit]").click()
        else:
            page.locator('button[data-action="skip"]').click()
    expect(page.locator("#screen-thanks")).to_be_visible()


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)
