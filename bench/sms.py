"""SMS invitations end to end: contacts in through the API, texts out through the outbox.

    python -m bench.sms [--count 10000] [--backend postgresql|sqlite] [--workers 2]

Starts Kaiku (uvicorn subprocess, fresh seeded database) with the 46elks gateway pointed at
the loopback fake (``tests.support.fake_46elks``), no delay and a 0-24 sending window, then
POSTs ``count`` contacts for distinct numbers (quarantine would skip repeats) over
concurrent connections while the server's own outbox workers send. It prints contacts/s
accepted by the API, texts/s delivered to the fake, and checks the fake received exactly
``count`` distinct texts, none twice.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import httpx

from bench.common import running_kaiku
from tests.support.fake_46elks import Fake46elks, live_sms_env

CONNECTIONS = 32
RETRIES = 3
DRAIN_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class Result:
    count: int
    accepted: int
    retried: int
    accept_seconds: float
    deliver_seconds: float
    received: int
    distinct_numbers: int
    distinct_texts: int

    @property
    def exactly_once(self) -> bool:
        return self.received == self.distinct_numbers == self.distinct_texts == self.count


def phone(i: int) -> str:
    """A distinct valid Finnish mobile number per contact (040 100 0000 upwards)."""
    return f"+35840{1_000_000 + i:07d}"


def contact(i: int) -> dict[str, str]:
    return {
        "idempotency_key": f"bench-{uuid.uuid4()}",
        "unit": "vaasa-aikuissosiaalityo",
        "path": "toimeentulotuki",
        "step": "ensitapaaminen",
        "contact_mode": ("video", "phone", "chat")[i % 3],
        "phone": phone(i),
        "language": ("fi", "sv", "en")[i % 3],
        "contact_ended_at": dt.datetime.now(dt.UTC).isoformat(),
    }


async def post_contacts(base_url: str, key: str, count: int) -> tuple[int, int]:
    """POST every contact over ``CONNECTIONS`` connections: (scheduled, retried requests)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    accepted = 0
    retried = [0]
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def send(body: dict[str, str]) -> httpx.Response:
            """Retry a dropped connection with the same body: the idempotency key makes
            a repeat safe, which is what integrating systems are told to do."""
            for attempt in range(RETRIES):
                try:
                    return await client.post("/api/v1/contacts", json=body, headers=headers)
                except httpx.TransportError:
                    if attempt == RETRIES - 1:
                        raise
                    retried[0] += 1
            raise AssertionError("unreachable")

        async def worker() -> None:
            nonlocal accepted
            while not queue.empty():
                reply = await send(contact(queue.get_nowait()))
                if reply.status_code == 202 and reply.json()["state"] == "scheduled":
                    accepted += 1

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return accepted, retried[0]


def wait_for(fake: Fake46elks, count: int) -> None:
    deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
    while len(fake.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def run(backend: str, count: int, workers: int) -> Result:
    with Fake46elks(username="bench", password="bench-secret") as fake:
        env = {
            **live_sms_env(fake),
            # Measure the path, not the per-key limiter (1,200/min in production).
            "KAIKU_RATE_LIMIT_INTEGRATION_PER_MINUTE": "1000000",
        }
        with running_kaiku(backend, workers, env) as server:
            start = time.perf_counter()
            accepted, retried = asyncio.run(
                post_contacts(server.base_url, server.seeded.integration_key, count)
            )
            accept_seconds = time.perf_counter() - start
            wait_for(fake, count)
            deliver_seconds = time.perf_counter() - start
            time.sleep(1)  # anything sent twice would arrive now
            messages = fake.messages
    return Result(
        count=count,
        accepted=accepted,
        retried=retried,
        accept_seconds=accept_seconds,
        deliver_seconds=deliver_seconds,
        received=len(messages),
        distinct_numbers=len(Counter(m.to for m in messages)),
        distinct_texts=len({m.message for m in messages}),
    )


def report(backend: str, workers: int, r: Result) -> str:
    load = os.getloadavg()[0]
    verdict = "PASS" if r.exactly_once and r.accepted == r.count else "FAIL"
    return "\n".join(
        [
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {backend}, {workers} worker(s), "
            f"{os.cpu_count()} cores, load average {load:.2f}",
            f"  accepted by the API: {r.accepted:,}/{r.count:,} in {r.accept_seconds:.1f} s "
            f"= {r.accepted / r.accept_seconds:,.0f} invitations/s "
            f"({r.retried} requests retried after a dropped connection)",
            f"  delivered to the fake: {r.received:,} in {r.deliver_seconds:.1f} s "
            f"= {r.received / r.deliver_seconds:,.0f} messages/s (from the first POST)",
            f"  exactly once: {verdict} ({r.received:,} texts, {r.distinct_numbers:,} distinct "
            f"numbers, {r.distinct_texts:,} distinct texts)",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    result = run(args.backend, args.count, args.workers)
    print(report(args.backend, args.workers, result))
    if not result.exactly_once:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
