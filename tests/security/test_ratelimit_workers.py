"""The limits hold across worker processes: the counters are shared in the database."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.keys import hash_secret
from server.auth.models import ApiKey
from server.feedback.tokens import receipt_secret
from server.ratelimit import pairing_limits, token_key, window_start
from server.settings import Settings
from tests.feedback.helpers import answer, bearer
from tests.support.databases import backend
from tests.support.live import LiveKaiku, live_kaiku

# No database fixture (the server makes its own), so mark it: it runs on both backends.
pytestmark = pytest.mark.db
LIMIT = 5
TRIES = 24
SECRET_KEY = "two-workers-secret-key-" + "x" * 16


def _burst(
    live: LiveKaiku, key: str, url: str, address: str = "127.0.0.1", **kwargs: object
) -> tuple[list[httpx.Response], bool]:
    """``TRIES`` POSTs on separate connections at once from ``address`` (any 127.x.y.z
    reaches loopback); also whether one window of ``key``'s counter held them (each key's
    windows start at a phase of its own, see ``server.ratelimit.window_start``)."""

    def post(_: int) -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(base_url=live.base_url, timeout=20, transport=transport) as client:
            return client.post(url, **kwargs)  # type: ignore[arg-type]

    start = time.time()
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(post, range(TRIES)))
    return replies, window_start(key, start) == window_start(key, time.time())


def _check(replies: list[httpx.Response], one_window: bool) -> None:
    allowed = [r for r in replies if r.status_code != 429]
    limited = [r for r in replies if r.status_code == 429]
    statuses = Counter(r.status_code for r in replies)
    assert len(allowed) == LIMIT if one_window else len(allowed) <= 2 * LIMIT, statuses
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
        answer_key = token_key("answer", "shared-token")
        _check(*_burst(live, answer_key, "/a/shared-token", data={"x": "1"}))
        batch = {"items": [answer()]}
        device_key = f"key:{live.run(_device_key_id(live.device_key))}"
        batch_url = "/api/v1/responses/batch"
        _check(*_burst(live, device_key, batch_url, json=batch, headers=bearer(live.device_key)))
        # Wrong pairing codes: per client address, so a second address has its own budget.
        settings = Settings(secret_key=SECRET_KEY)
        for address in ("127.0.0.1", "127.0.0.2"):
            client = SimpleNamespace(client=SimpleNamespace(host=address))
            pairing_key = next(iter(pairing_limits(client, settings)))  # type: ignore[arg-type]
            code = {"code": "WRNG-CODE"}
            _check(*_burst(live, pairing_key, "/api/v1/kiosks/pair", address, json=code))
        inbound = f"/api/v1/sms/inbound/46elks?secret={receipt_secret(SECRET_KEY)}"
        text = {"from": "+358401112233", "message": "kiitos"}
        _check(*_burst(live, "sms-inbound:46elks", inbound, data=text))


def _device_key_id(secret: str) -> Callable[[AsyncSession], Awaitable[int | None]]:
    async def find(session: AsyncSession) -> int | None:
        return await session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_secret(secret)))

    return find
