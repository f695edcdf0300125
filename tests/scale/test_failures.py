"""Failures real deployments have: the database goes away, a process is SIGKILLed,
several processes share one database. Nothing acknowledged is lost, nothing doubles."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from server.feedback import repository
from tests.feedback.helpers import answer, bearer
from tests.support.databases import backend
from tests.support.live import LiveKaiku, live_kaiku
from tests.support.pgcluster import private_cluster

pytestmark = pytest.mark.db


def rollup_matches_recount(live: LiveKaiku) -> bool:
    async def compare(session: AsyncSession) -> bool:
        conn = await session.connection()
        recount = await repository.recount_from_raw(conn)
        return await repository.rollup_contents(conn) == recount and (
            await repository.totals_contents(conn) == repository.totals_from_rollup(recount)
        )

    return bool(live.run(compare))


def post_batch(live: LiveKaiku, items: list[dict[str, Any]], timeout: float = 5) -> httpx.Response:
    return httpx.post(
        f"{live.base_url}/api/v1/responses/batch",
        json={"items": items},
        headers=bearer(live.device_key),
        timeout=timeout,
    )


@pytest.fixture
def outage_kaiku() -> Iterator[tuple[LiveKaiku, Any]]:
    """Kaiku on a private PostgreSQL cluster that the test may stop and start."""
    from tests.support.databases import _migrate

    with private_cluster() as cluster:
        asyncio.run(_migrate(cluster.url))
        env = {"KAIKU_DB_STATEMENT_TIMEOUT_SECONDS": "2"}
        with live_kaiku("postgresql", env=env, database_url=cluster.url) as live:
            yield live, cluster


@pytest.mark.postgresql_only
def test_database_outage_is_a_fast_503_and_queued_answers_arrive_after(
    outage_kaiku: tuple[LiveKaiku, Any],
) -> None:
    live, cluster = outage_kaiku
    acknowledged = [answer() for _ in range(10)]
    assert post_batch(live, acknowledged).json()["stored"] == 10

    cluster.stop()
    queued = [answer() for _ in range(5)]
    started = time.monotonic()
    reply = post_batch(live, queued)
    elapsed = time.monotonic() - started
    assert reply.status_code == 503
    assert reply.headers["Retry-After"]
    assert reply.json()["type"] == "urn:kaiku:problem:database-unavailable"
    assert elapsed < 3, f"503 took {elapsed:.1f} s"
    assert httpx.get(f"{live.base_url}/readyz", timeout=5).status_code == 503
    assert httpx.get(f"{live.base_url}/healthz", timeout=5).status_code == 200

    cluster.start()
    deadline = time.monotonic() + 20
    while True:  # the kiosk's outbox keeps retrying
        reply = post_batch(live, queued)
        if reply.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert reply.status_code == 200, reply.text
    assert reply.json()["stored"] == 5
    assert post_batch(live, acknowledged).json()["duplicates"] == 10
    assert live.stored_responses() == 15
    assert httpx.get(f"{live.base_url}/readyz", timeout=5).status_code == 200


def test_sigkill_under_load_loses_no_acknowledged_answer() -> None:
    with live_kaiku(backend()) as live:
        attempted: list[dict[str, Any]] = []
        acknowledged: set[str] = set()
        lock = threading.Lock()
        stop = threading.Event()

        def client() -> None:
            with httpx.Client(timeout=2) as http:
                while not stop.is_set():
                    item = answer()
                    with lock:
                        attempted.append(item)
                    try:
                        reply = http.post(
                            f"{live.base_url}/api/v1/responses",
                            json=item,
                            headers=bearer(live.device_key),
                        )
                    except httpx.HTTPError:
                        continue
                    if reply.status_code in (200, 201):
                        with lock:
                            acknowledged.add(item["id"])

        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        while len(acknowledged) < 100:
            time.sleep(0.05)
        live.kill()
        stop.set()
        for thread in threads:
            thread.join()

        live.start()
        stored_ids = {str(i) for i in live.run(_all_ids)}
        assert acknowledged <= stored_ids, "an acknowledged answer was lost"
        # The kiosks retry everything they did not see confirmed: no duplicates appear.
        for start in range(0, len(attempted), 400):
            reply = post_batch(live, attempted[start : start + 400], timeout=30)
            assert reply.status_code == 200
            assert reply.json()["rejected"] == 0
        assert live.stored_responses() == len({item["id"] for item in attempted})
        assert rollup_matches_recount(live)


async def _all_ids(session: AsyncSession) -> list[uuid.UUID]:
    from sqlalchemy import select

    from server.feedback.models import Response

    return list(await session.scalars(select(Response.id)))


def test_two_processes_on_one_database_store_once_and_scrape_alike() -> None:
    with live_kaiku(backend(), workers=2) as first:
        second = LiveKaiku(
            base_url=first.base_url.rsplit(":", 1)[0] + ":" + str(_free()),
            database_url=first.database_url,
            seeded=first.seeded,
            environ={},
            port=0,
        )
        second.port = int(second.base_url.rsplit(":", 1)[1])
        second.environ = {
            **first.environ,
            "KAIKU_PUBLIC_URL": second.base_url,
            "PROMETHEUS_MULTIPROC_DIR": "",
        }
        second.start()
        try:
            # Five of one option: a series below the suppression step is not exposed at all.
            items = [answer(rating="good") for _ in range(5)] * 2
            unique = list({item["id"]: item for item in items}.values())
            replies = _concurrently([(live, unique) for live in (first, second) for _ in range(6)])
            statuses = [r["status"] for reply in replies for r in reply["results"]]
            assert statuses.count("stored") == len(unique)
            assert set(statuses) <= {"stored", "duplicate"}
            assert first.stored_responses() == len(unique)
            assert rollup_matches_recount(first)
            assert _business_lines(first) == _business_lines(second)
            assert any(line.startswith("kaiku_responses_total") for line in _business_lines(first))
        finally:
            second.stop()


def _free() -> int:
    from tests.support.live import free_port

    return free_port()


def _concurrently(calls: list[tuple[LiveKaiku, list[dict[str, Any]]]]) -> list[Any]:
    async def one(http: httpx.AsyncClient, live: LiveKaiku, items: list[dict[str, Any]]) -> Any:
        reply = await http.post(
            f"{live.base_url}/api/v1/responses/batch",
            json={"items": items},
            headers=bearer(live.device_key),
        )
        assert reply.status_code == 200, reply.text
        return reply.json()

    async def main() -> list[Any]:
        async with httpx.AsyncClient(timeout=30) as http:
            return list(await asyncio.gather(*(one(http, live, items) for live, items in calls)))

    return asyncio.run(main())


def _business_lines(live: LiveKaiku) -> list[str]:
    """Metric samples read from the database (not per-process HTTP metrics)."""
    text = httpx.get(f"{live.base_url}/metrics", timeout=10).text
    return sorted(
        line
        for line in text.splitlines()
        if line.startswith(("kaiku_responses_total", "kaiku_kiosk_"))
    )


def test_graceful_shutdown_finishes_in_flight_requests() -> None:
    """SIGTERM while batches are being stored: each one is answered and fully stored."""
    with live_kaiku(backend()) as live:
        batches = [[answer() for _ in range(400)] for _ in range(4)]
        replies: list[httpx.Response | Exception] = []

        def send(items: list[dict[str, Any]], http: httpx.Client) -> None:
            try:
                replies.append(
                    http.post(
                        f"{live.base_url}/api/v1/responses/batch",
                        json={"items": items},
                        headers=bearer(live.device_key),
                    )
                )
            except httpx.HTTPError as exc:
                replies.append(exc)

        clients = [httpx.Client(timeout=30) for _ in batches]
        for http in clients:  # connections are open before the signal
            assert http.get(f"{live.base_url}/healthz").status_code == 200
        threads = [
            threading.Thread(target=send, args=(items, http))
            for items, http in zip(batches, clients, strict=True)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.05)
        live.stop()  # SIGTERM, then wait for the process to exit
        for thread in threads:
            thread.join()
        for http in clients:
            http.close()

        live.start()
        answered = [r for r in replies if isinstance(r, httpx.Response)]
        assert answered, "no request was in flight"
        assert all(r.status_code == 200 for r in answered)
        stored = {str(i) for i in live.run(_all_ids)}
        for reply in answered:
            assert all(item["id"] in stored for item in reply.json()["results"])
