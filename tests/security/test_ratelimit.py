"""Rate limits per device key, API key, answer link, QR poster and sign-in name (in process)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from types import SimpleNamespace
from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import event

from server.auth.roles import Role
from server.database import create_engine
from server.feedback.kiosks import create_pairing_code, kiosk_by_code
from server.feedback.tokens import receipt_secret
from server.ratelimit import (
    LEASE_DIVISOR,
    WINDOW_SECONDS,
    RateLimited,
    RateLimiter,
    pairing_limits,
    token_key,
    window_start,
)
from server.settings import Settings
from tests.auth.helpers import add_user, sign_in
from tests.feedback.helpers import answer, bearer
from tests.security.helpers import NOW, client_with
from tests.support.fixtures import KIOSK, seed


def _assert_limited(reply: Any, html: bool = False) -> None:
    assert reply.status_code == 429, reply.text
    assert 1 <= int(reply.headers["retry-after"]) <= WINDOW_SECONDS + 1
    if html:
        assert reply.headers["content-type"].startswith("text/html")
        assert "try again" in reply.text
    else:
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.json()["type"] == "urn:kaiku:problem:rate-limited"


def _seed(client: TestClient[Litestar]) -> Any:
    async def run() -> Any:
        async with client.app.state.services.session() as session:
            return await seed(session)

    return client.blocking_portal.call(run)


def test_kiosk_limit_counts_batches_per_device_key(settings: Settings) -> None:
    with client_with(settings, rate_limit_kiosk_per_minute=3) as client:
        seeded = _seed(client)
        batch = {"items": [answer() for _ in range(5)]}
        url = "/api/v1/responses/batch"
        for _ in range(3):
            assert client.post(url, json=batch, headers=bearer(seeded.kiosk_key)).status_code == 200
        _assert_limited(client.post(url, json=batch, headers=bearer(seeded.kiosk_key)))
        # another key has its own budget
        contact = client.post("/api/v1/contacts", json={}, headers=bearer(seeded.integration_key))
        assert contact.status_code != 429


def test_integration_limit_is_per_key_and_counts_unauthorised_tries_nowhere(
    settings: Settings,
) -> None:
    with client_with(settings, rate_limit_integration_per_minute=2) as client:
        seeded = _seed(client)
        for _ in range(2):
            reply = client.post("/api/v1/contacts", json={}, headers=bearer(seeded.integration_key))
            assert reply.status_code not in (401, 403, 429)
        _assert_limited(
            client.post("/api/v1/contacts", json={}, headers=bearer(seeded.integration_key))
        )
        for _ in range(4):  # bad keys are refused by the guard, not counted or limited
            reply = client.post("/api/v1/contacts", json={}, headers=bearer("nope"))
            assert reply.status_code == 401
        assert (
            client.post(
                "/api/v1/responses/batch", json={"items": []}, headers=bearer(seeded.kiosk_key)
            )
        ).status_code != 429


def test_answer_link_limit_is_per_token_with_a_page_for_people(settings: Settings) -> None:
    with client_with(settings, rate_limit_answer_per_minute=2) as client:
        for _ in range(2):
            assert client.post("/a/token-one", data={}).status_code != 429
        _assert_limited(client.post("/a/token-one", data={}), html=True)
        _assert_limited(client.post("/a/token-one/stop", data={}), html=True)
        assert client.post("/a/token-two", data={}).status_code != 429
        assert client.get("/a/token-one").status_code != 429  # reading the page is free


def test_the_counter_key_never_holds_the_link_token() -> None:
    key = token_key("answer", "SECRET-LINK-TOKEN")
    assert "SECRET" not in key
    assert key.startswith("answer:")
    assert len(key) <= 120


def test_qr_limit_is_per_poster_path(settings: Settings) -> None:
    with client_with(settings, rate_limit_qr_per_minute=2) as client:
        for _ in range(2):
            assert client.post("/q/vaasa/toimeentulotuki", data={}).status_code != 429
        _assert_limited(client.post("/q/vaasa/toimeentulotuki", data={}), html=True)
        assert client.post("/q/vaasa/other-path", data={}).status_code != 429


def test_sign_in_failures_limit_per_name_then_overall(settings: Settings) -> None:
    with client_with(
        settings, rate_limit_sign_in_failures=3, rate_limit_sign_in_failures_total=5
    ) as client:
        client.app.state.rate_limiter.clock = __import__("time").time  # audit times are real

        def run(fn: Any) -> Any:
            async def wrapped() -> Any:
                async with client.app.state.services.session() as session:
                    result = await fn(session)
                    await session.commit()
                    return result

            return client.blocking_portal.call(wrapped)

        add_user(run, "aino", Role.ADMIN)
        add_user(run, "eino", Role.ADMIN)
        for _ in range(3):
            assert sign_in(client, "aino", "wrong password!").status_code == 200
        limited = sign_in(client, "aino")  # even the right password waits now
        assert limited.status_code == 429
        assert 800 < int(limited.headers["retry-after"]) <= 901
        assert sign_in(client, "eino").status_code == 303  # another name is unaffected
        for _ in range(2):
            assert sign_in(client, "someone", "wrong password!").status_code == 200
        assert sign_in(client, "eino").status_code == 429  # five failures overall


def test_zero_turns_a_limit_off(settings: Settings) -> None:
    with client_with(settings, rate_limit_answer_per_minute=0) as client:
        assert all(client.post("/a/t", data={}).status_code != 429 for _ in range(15))


def test_processes_lease_hits_and_together_never_exceed_the_limit(settings: Settings) -> None:
    """Two limiters (two processes) on one database: few statements, never over the limit."""
    limit = 600

    async def main() -> tuple[int, int]:
        engine = create_engine(settings)
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            processes = [RateLimiter(engine, clock=lambda: NOW) for _ in range(2)]
            admitted = 0
            for n in range(2 * limit):
                try:
                    await processes[n % 2].hit("key:7", limit)
                    admitted += 1
                except RateLimited:
                    pass
            return admitted, statements
        finally:
            await engine.dispose()

    admitted, statements = asyncio.run(main())
    lease = limit // LEASE_DIVISOR
    assert limit - 2 * lease < admitted <= limit
    assert statements < 2 * limit / lease + 8, f"{statements} statements for {2 * limit} hits"


def _pairing_code(client: TestClient[Litestar]) -> str:
    async def run() -> str:
        async with client.app.state.services.session() as session:
            kiosk = await kiosk_by_code(session, KIOSK)
            assert kiosk is not None
            code = await create_pairing_code(session, kiosk, minutes=15)
            await session.commit()
            return code

    return str(client.blocking_portal.call(run))


def _pair(client: TestClient[Litestar], code: str) -> Any:
    return client.post("/api/v1/kiosks/pair", json={"code": code})


def test_pairing_counts_only_wrong_codes_then_refuses_even_a_right_one(
    settings: Settings,
) -> None:
    with client_with(settings, rate_limit_pairing_failures=2) as client:
        _seed(client)
        for _ in range(4):  # enrolling many tablets from one address costs nothing
            assert _pair(client, _pairing_code(client)).status_code == 200
        for _ in range(3):  # malformed bodies never reach a code check, so are not counted
            assert _pair(client, "").status_code == 400
        for _ in range(2):
            assert _pair(client, "WRNG-CODE").status_code == 422
        right = _pairing_code(client)
        _assert_limited(_pair(client, right))  # no more guesses, right or wrong, this minute
        client.app.state.rate_limiter.clock = lambda: NOW + 60
        assert _pair(client, right).status_code == 200


def test_pairing_has_an_overall_limit_for_guesses_from_many_addresses(
    settings: Settings,
) -> None:
    with client_with(
        settings, rate_limit_pairing_failures=0, rate_limit_pairing_failures_total=3
    ) as client:
        _seed(client)
        assert [_pair(client, "WRNG-CODE").status_code for _ in range(3)] == [422] * 3
        limited = _pair(client, "WRNG-CODE")
        _assert_limited(limited)
        assert "pairing" in limited.json()["detail"]


def test_pairing_counters_key_on_a_keyed_hash_of_the_address(settings: Settings) -> None:
    def keys(host: str, secret: str = "k" * 32) -> list[str]:
        connection = cast(Any, SimpleNamespace(client=SimpleNamespace(host=host)))
        return list(pairing_limits(connection, replace(settings, secret_key=secret)))

    mine, everyone = keys("192.0.2.7")
    assert everyone == "pairing:all"
    assert "192.0.2.7" not in mine
    assert keys("192.0.2.8")[0] != mine  # another address has its own budget
    assert keys("192.0.2.7", "z" * 32)[0] != mine  # a guessed key cannot reverse the hash


def _callback(client: TestClient[Litestar], kind: str, secret: str | None = None) -> Any:
    key = client.app.state.services.settings.effective_secret_key
    url = f"/api/v1/sms/{kind}/46elks?secret={secret or receipt_secret(key)}"
    return client.post(url, data={"id": "s1", "status": "delivered", "message": "kiitos"})


def test_sms_callbacks_have_a_budget_each_and_strangers_spend_none(settings: Settings) -> None:
    with client_with(settings, rate_limit_sms_callbacks_per_minute=2) as client:
        for _ in range(5):  # a wrong secret is refused before anything is counted
            assert _callback(client, "inbound", secret="guess").status_code == 403
        for _ in range(2):
            assert _callback(client, "inbound").status_code == 200
        _assert_limited(_callback(client, "inbound"))
        assert _callback(client, "receipts").status_code != 429  # receipts count apart


@given(key=st.text(max_size=80), now=st.floats(min_value=0, max_value=4e9))
def test_a_window_holds_the_moment_and_is_the_same_in_every_process(key: str, now: float) -> None:
    start = window_start(key, now)
    assert start <= now < start + WINDOW_SECONDS
    assert window_start(key, now) == start  # derived from the key alone: no process state


def test_a_fleet_of_kiosks_does_not_renew_its_leases_in_one_instant() -> None:
    keys = [f"key:{key_id}" for key_id in range(1, 1001)]  # as the middleware names them
    boundaries = {window_start(key, NOW) % WINDOW_SECONDS for key in keys}
    assert len(boundaries) >= 50  # spread over the minute, not all on the full minute
