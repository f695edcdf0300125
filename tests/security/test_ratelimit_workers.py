"""The limits hold across worker processes: the counters are shared in the database."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from server.feedback.tokens import receipt_secret
from tests.feedback.helpers import answer, bearer
from tests.support.databases import backend
from tests.support.live import LiveKaiku, live_kaiku

# No database fixture (the server makes its own), so mark it: it runs on both backends.
pytestmark = pytest.mark.db
LIMIT = 5
TRIES = 24
SECRET_KEY = "two-workers-secret-key-" + "x" * 16


def _burst(
    live: LiveKaiku, url: str, address: str = "127.0.0.1", **kwargs: object
) -> tuple[list[httpx.Response], bool]:
    """``TRIES`` POSTs on separate connections at once from ``address`` (any 127.x.y.z
    reaches loopback); also whether one window held them."""

    def post(_: int) -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(base_url=live.base_url, timeout=20, transport=transport) as client:
            return client.post(url, **kwargs)  # type: ignore[arg-type]

    start = time.time()
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(post, range(TRIES)))
    return replies, int(start // 60) == int(time.time() // 60)


def _check(replies: list[httpx.Response], one_window: bool) -> None:
    allowed = [r for r in replies if r.status_code != 429]
    limited = [r for r in replies if r.status_code == 429]
    assert len(allowed) == LIMIT if one_window else len(allowed) <= 2 * LIMIT
    assert all(int(r.headers["retry-after"]) >= 1 for r in limited)
    for reply in limited:  # problem JSON for programs, a short page for people
        if reply.request.url.path.startswith("/api/"):
            assert reply.json()["type"] == "urn:kaiku:problem:rate-limited"
        else:
            assert reply.headers["content-type"].startswith("text/html")


def test_limits_hold_across_two_workers() -> None:
    env = {
        "KAIKU_SECRET_KEY": SECRET_KEY,
        "KAIKU_RATE_LIMIT_ANSWER_PER_MINUTE": str(LIMIT),
        "KAIKU_RATE_LIMIT_KIOSK_PER_MINUTE": str(LIMIT),
        "KAIKU_RATE_LIMIT_PAIRING_FAILURES": str(LIMIT),
        "KAIKU_RATE_LIMIT_SMS_CALLBACKS_PER_MINUTE": str(LIMIT),
    }
    with live_kaiku(backend(), env=env, workers=2) as live:
        _check(*_burst(live, "/a/shared-token", data={"x": "1"}))
        batch = {"items": [answer()]}
        _check(
            *_burst(live, "/api/v1/responses/batch", json=batch, headers=bearer(live.device_key))
        )
        # Wrong pairing codes: per client address, so a second address has its own budget.
        for address in ("127.0.0.1", "127.0.0.2"):
            _check(*_burst(live, "/api/v1/kiosks/pair", address, json={"code": "WRNG-CODE"}))
        inbound = f"/api/v1/sms/inbound/46elks?secret={receipt_secret(SECRET_KEY)}"
        _check(*_burst(live, inbound, data={"from": "+358401112233", "message": "kiitos"}))
