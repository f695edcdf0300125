"""The walking skeleton end to end: real taps in Chromium reach the database and /metrics."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser
from prometheus_client.parser import text_string_to_metric_families

from server.privacy.suppression import DEFAULT_THRESHOLD
from tests.browser.kiosk_driver import answer, config, enrolled_page, stored, wait_for

pytestmark = pytest.mark.browser

SERIES = {
    "unit": "vaasa-aikuissosiaalityo",
    "path": "toimeentulotuki",
    "step": "ensitapaaminen",
    "channel": "kiosk",
    "contact_mode": "in_person",
    "option": "very_good",
}


def published(base_url: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == "kaiku_responses":
            for sample in family.samples:
                if sample.name == "kaiku_responses_total" and sample.labels == SERIES:
                    return sample.value
    return 0.0


def test_taps_are_stored_and_counted_in_metrics(live_kiosk: Any, browser: Browser) -> None:
    rows_before = stored(live_kiosk)
    metric_before = published(live_kiosk.base_url)
    context, page = enrolled_page(browser, live_kiosk)
    page.clock.install()
    page.reload()
    thank_you_ms = config(page)["thank_you_seconds"] * 1000 + 500
    # The counter moves in steps of the small-cell threshold, and the first button is
    # "very good": one threshold's worth of taps moves it by exactly one step.
    for _ in range(DEFAULT_THRESHOLD):
        answer(page, follow_up=False)
        page.clock.run_for(thank_you_ms)

    wait_for(lambda: stored(live_kiosk) == rows_before + DEFAULT_THRESHOLD)
    wait_for(lambda: published(live_kiosk.base_url) == metric_before + DEFAULT_THRESHOLD)
    context.close()
