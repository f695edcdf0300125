"""The limits hold across worker processes: the counters are shared in the database."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.feedback.helpers import answer, bearer
from tests.support.databases import backend
from tests.support.live import LiveKaiku, live_kaiku

LIMIT = 5
TRIES = 24


def _burst(live: LiveKaiku, url: str, **kwargs: object) -> tuple[list[httpx.Response], bool]:
    """``TRIES`` POSTs on separate connections at once; also whether one window held them."""

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=live.base_url, timeout=20) as client:
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


def test_limits_hold_across_two_workers() -> None:
    env = {
        "KAIKU_RATE_LIMIT_ANSWER_PER_MINUTE": str(LIMIT),
        "KAIKU_RATE_LIMIT_KIOSK_PER_MINUTE": str(LIMIT),
    }
    with live_kaiku(backend(), env=env, workers=2) as live:
        _check(*_burst(live, "/a/shared-token", data={"x": "1"}))
        batch = {"items": [answer()]}
        _check(
            *_burst(live, "/api/v1/responses/batch", json=batch, headers=bearer(live.device_key))
        )
