"""Kiosk first-load weight in a real browser: bytes transferred for the page and assets.

    python -m bench.kiosk_weight [--backend sqlite|postgresql]

Starts Kaiku on loopback, opens the kiosk in Debian's headless Chromium with an empty
cache, and sums the encoded (on-the-wire) size of every response; then reloads to show
what the second load costs. Budget: 60 KB for the first load.
"""

from __future__ import annotations

import argparse
from typing import Any

from playwright.sync_api import sync_playwright

from tests.browser.conftest import ARGS, CHROMIUM
from tests.support.live import live_kaiku

BUDGET_BYTES = 60_000


def transferred(page: Any, url: str) -> list[tuple[str, int]]:
    sizes: list[tuple[str, int]] = []
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.setCacheDisabled", {"cacheDisabled": False})
    urls: dict[str, str] = {}
    session.on(
        "Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"])
    )
    session.on(
        "Network.loadingFinished",
        lambda e: sizes.append((urls.get(e["requestId"], "?"), int(e["encodedDataLength"]))),
    )
    page.goto(url, wait_until="networkidle")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    with live_kaiku(args.backend) as live, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()
        page = context.new_page()
        url = f"{live.base_url}/k/{live.kiosk_code}"
        first = transferred(page, url)
        total = sum(size for _, size in first)
        print(f"{'resource':60} {'bytes on the wire':>18}")
        for resource, size in first:
            print(f"{resource.replace(live.base_url, ''):60} {size:>18,}")
        print(f"{'first load total':60} {total:>18,}")
        verdict = "PASS" if total < BUDGET_BYTES else "MISS"
        print(f"budget {BUDGET_BYTES:,} B: {verdict}")
        second = transferred(page, url)
        print(
            f"{'second load total (cache and service worker)':60} "
            f"{sum(size for _, size in second):>18,}"
        )
        browser.close()


if __name__ == "__main__":
    main()
