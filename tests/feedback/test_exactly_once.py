"""Exactly once: under any mix of retries, conflicts and concurrency, each id is stored once
and the roll-up equals a recount of the raw table."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from server.app import create_app
from server.catalog.lookup import CatalogCache
from server.database import create_engine
from server.feedback import repository
from server.feedback.ingest import IngestService, Origin
from server.feedback.models import Response, ResponseRollup
from server.feedback.scales import FFT_OPTIONS
from server.feedback.schemas import ResponseIn
from server.settings import Settings
from tests.feedback.helpers import answer, bearer
from tests.support.fixtures import Seeded

T = TypeVar("T")
# (path, step) pairs of the seeded kiosk's unit, so answers spread over several roll-up keys
TARGETS = [
    ("toimeentulotuki", None),
    ("toimeentulotuki", "hakemus"),
    ("toimeentulotuki", "ensitapaaminen"),
    ("aikuissosiaalityo", None),
]


# --- the model: what the server must answer, item by item --------------------------------


@dataclass(frozen=True)
class New:
    target: tuple[str, str | None]
    rating: str
    minutes_ago: int


@dataclass(frozen=True)
class Resend:
    """Send an earlier answer again, unchanged (a retry)."""

    pick: int


@dataclass(frozen=True)
class Change:
    """Send an earlier answer's id with another rating (a client bug, never a retry)."""

    pick: int
    rating: str


Item = New | Resend | Change


@dataclass(frozen=True)
class Single:
    item: Item


@dataclass(frozen=True)
class Batch:
    items: list[Item]


@dataclass
class Model:
    """Bodies made so far and, per id, the first body the server accepted."""

    pool: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)

    def body(self, item: Item) -> dict[str, Any]:
        if isinstance(item, New) or not self.pool:
            new = item if isinstance(item, New) else New(TARGETS[0], "good", 0)
            path, step = new.target
            at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=new.minutes_ago)
            body = answer(path=path, step=step, rating=new.rating, answered_at=at.isoformat())
            self.pool.append(body)
            return body
        earlier = self.pool[item.pick % len(self.pool)]
        if isinstance(item, Resend):
            return earlier
        rating = item.rating if item.rating != earlier["rating"] else _other(item.rating)
        return {**earlier, "rating": rating}

    def expect(self, body: dict[str, Any]) -> str:
        first = self.accepted.get(body["id"])
        if first is None:
            self.accepted[body["id"]] = body
            return "stored"
        return "duplicate" if first == body else "rejected"


def _other(rating: str) -> str:
    return FFT_OPTIONS[(FFT_OPTIONS.index(rating) + 1) % len(FFT_OPTIONS)]


ratings = st.sampled_from(FFT_OPTIONS)
items: st.SearchStrategy[Item] = st.one_of(
    st.builds(New, st.sampled_from(TARGETS), ratings, st.integers(0, 3 * 24 * 60)),
    st.builds(Resend, st.integers(0, 63)),
    st.builds(Change, st.integers(0, 63), ratings),
)
operations = st.lists(
    st.one_of(st.builds(Single, items), st.builds(Batch, st.lists(items, min_size=1, max_size=8))),
    min_size=1,
    max_size=8,
)
SINGLE_STATUS = {"stored": 201, "duplicate": 200, "rejected": 409}


# --- database checks -------------------------------------------------------------------


async def _rollup_and_recount(conn: AsyncConnection) -> tuple[Any, Any]:
    """(roll-up, per-series totals, cubes) as stored, and as recounted from the raw rows."""
    recount = await repository.recount_from_raw(conn)
    stored = (
        await repository.rollup_contents(conn),
        await repository.totals_contents(conn),
        await repository.cubes_contents(conn),
    )
    return stored, (
        recount,
        repository.totals_from_rollup(recount),
        repository.cubes_from_rollup(recount),
    )


async def _stored_ratings(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, str]:
    wanted = [uuid.UUID(i) for i in ids]
    rows = await conn.execute(select(Response.id, Response.option).where(Response.id.in_(wanted)))
    return {str(row.id): row.option for row in rows}


async def _total(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(Response)) or 0)


def on_connection(run: Any, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    async def with_session(session: Any) -> T:
        return await fn(await session.connection())

    result: T = run(with_session)
    return result


def in_database(url: str, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run ``fn`` on a short-lived engine of its own (for the live server's database)."""

    async def main() -> T:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await fn(conn)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def assert_rollup_equals_recount(rollup_and_recount: tuple[Any, Any]) -> None:
    rollup, recount = rollup_and_recount
    assert rollup == recount


# --- the property ----------------------------------------------------------------------


@pytest.fixture
def cached_client(settings: Settings, seeded: Seeded) -> Iterator[TestClient[Litestar]]:
    """A client whose app caches the catalog and keys (nothing here changes them).

    The default test app re-reads both on every request, which makes each example slow.
    """
    app = create_app(replace(settings, auth_cache_seconds=60, metrics_refresh_seconds=60))
    with TestClient(app) as client:
        yield client


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_any_mix_of_answers_retries_and_conflicts_is_stored_exactly_once(
    cached_client: TestClient[Litestar], seeded: Seeded, run: Any, ops: list[Single | Batch]
) -> None:
    # The database outlives each example: every example makes fresh ids and checks
    # totals relative to what was there before it.
    model = Model()
    before = on_connection(run, _total)
    headers = bearer(seeded.kiosk_key)
    for op in ops:
        if isinstance(op, Single):
            body = model.body(op.item)
            expected = model.expect(body)
            reply = cached_client.post("/api/v1/responses", json=body, headers=headers)
            assert reply.status_code == SINGLE_STATUS[expected], reply.text
        else:
            bodies = [model.body(item) for item in op.items]
            expected_all = [model.expect(body) for body in bodies]
            reply = cached_client.post(
                "/api/v1/responses/batch", json={"items": bodies}, headers=headers
            )
            assert reply.status_code == 200, reply.text
            assert [r["status"] for r in reply.json()["results"]] == expected_all

    ids = list(model.accepted)
    stored = on_connection(run, lambda conn: _stored_ratings(conn, ids))
    assert stored == {i: body["rating"] for i, body in model.accepted.items()}
    assert on_connection(run, _total) == before + len(ids)
    assert_rollup_equals_recount(on_connection(run, _rollup_and_recount))


@pytest.mark.parametrize(
    ("second_rating", "expected"),
    [
        pytest.param("good", "duplicate", id="retry-after-conflict-is-a-duplicate"),
        pytest.param("poor", "rejected", id="repeated-conflict-is-rejected"),
    ],
)
def test_repeats_in_a_batch_are_judged_against_the_stored_answer(
    client: TestClient[Litestar], seeded: Seeded, second_rating: str, expected: str
) -> None:
    original = answer(rating="good")
    headers = bearer(seeded.kiosk_key)
    assert client.post("/api/v1/responses", json=original, headers=headers).status_code == 201

    items = [{**original, "rating": "poor"}, {**original, "rating": second_rating}]
    reply = client.post("/api/v1/responses/batch", json={"items": items}, headers=headers)

    assert [r["status"] for r in reply.json()["results"]] == ["rejected", expected]


# --- concurrency -----------------------------------------------------------------------


def _answers(n: int) -> list[dict[str, Any]]:
    """Answers that collide on few roll-up rows, so concurrent upserts contend for them."""
    now = dt.datetime.now(dt.UTC)
    return [
        answer(rating=FFT_OPTIONS[i % 3], answered_at=(now - dt.timedelta(seconds=i)).isoformat())
        for i in range(n)
    ]


def test_concurrent_retries_on_a_live_server_store_each_answer_once(live_kiosk: Any) -> None:
    batch = _answers(50)
    single = answer(rating="very_good")

    async def send_all() -> tuple[list[httpx.Response], list[httpx.Response]]:
        async with httpx.AsyncClient(
            base_url=live_kiosk.base_url,
            headers=bearer(live_kiosk.device_key),
            timeout=60,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
        ) as http:
            batches = [
                http.post("/api/v1/responses/batch", json={"items": batch}) for _ in range(20)
            ]
            singles = [http.post("/api/v1/responses", json=single) for _ in range(50)]
            replies = await asyncio.gather(*batches, *singles)
        return replies[:20], replies[20:]

    batch_replies, single_replies = asyncio.run(send_all())

    assert {r.status_code for r in batch_replies} == {200}, batch_replies[0].text
    per_id: dict[str, Counter[str]] = {}
    for reply in batch_replies:
        for result in reply.json()["results"]:
            per_id.setdefault(result["id"], Counter())[result["status"]] += 1
    assert per_id == {body["id"]: Counter(stored=1, duplicate=19) for body in batch}

    single_outcomes = Counter((r.status_code, r.json()["status"]) for r in single_replies)
    assert single_outcomes == {(201, "stored"): 1, (200, "duplicate"): 49}

    ids = [body["id"] for body in [*batch, single]]
    stored = in_database(live_kiosk.database_url, lambda conn: _stored_ratings(conn, ids))
    assert stored == {body["id"]: body["rating"] for body in [*batch, single]}
    assert_rollup_equals_recount(in_database(live_kiosk.database_url, _rollup_and_recount))


def _track_peak_connections(engine: AsyncEngine) -> Callable[[], int]:
    """Count connections checked out at once, to prove the calls really overlapped."""
    state = {"now": 0, "peak": 0}

    def checkout(*_: Any) -> None:
        state["now"] += 1
        state["peak"] = max(state["peak"], state["now"])

    def checkin(*_: Any) -> None:
        state["now"] -= 1

    event.listen(engine.sync_engine.pool, "checkout", checkout)
    event.listen(engine.sync_engine.pool, "checkin", checkin)
    return lambda: state["peak"]


def test_concurrent_ingest_calls_on_separate_connections_store_each_id_once(
    settings: Settings, seeded: Seeded, run: Any
) -> None:
    bodies = _answers(60)
    parsed = [msgspec.json.decode(msgspec.json.encode(b), type=ResponseIn) for b in bodies]
    # 24 calls over overlapping windows of the same 60 answers, half of them reversed
    calls = [parsed[(k * 10) % 40 : (k * 10) % 40 + 20] for k in range(24)]
    calls = [call[::-1] if k % 2 else call for k, call in enumerate(calls)]
    pooled = replace(settings, db_pool_size=12)

    async def ingest_all() -> tuple[list[Any], int]:
        engine = create_engine(pooled)
        peak = _track_peak_connections(engine)
        try:
            catalog = CatalogCache(ttl=60)
            kiosk = (await catalog.get(engine)).kiosks_by_code[seeded.kiosk_code]
            origin = Origin(kiosk.unit_id, "kiosk", "in_person", kiosk.id)
            # One service per worker process: a service groups its own concurrent calls
            # into one statement, so overlap on the database comes from several of them.
            services = [IngestService(engine, catalog, pooled) for _ in range(8)]
            results = await asyncio.gather(
                *(services[k % 8].ingest(origin, call) for k, call in enumerate(calls))
            )
            return [r for call_results in results for r in call_results], peak()
        finally:
            await engine.dispose()

    results, peak = asyncio.run(ingest_all())

    assert peak >= 5, f"only {peak} connections were in use at once"
    outcomes: dict[str, Counter[str]] = {}
    for result in results:
        outcomes.setdefault(str(result.id), Counter())[result.status] += 1
    sent = {str(item.id) for call in calls for item in call}
    assert set(outcomes) == sent
    assert all(c["stored"] == 1 and set(c) <= {"stored", "duplicate"} for c in outcomes.values())
    stored = on_connection(run, lambda conn: _stored_ratings(conn, sorted(sent)))
    assert len(stored) == len(sent)
    assert on_connection(run, _total) == len(sent)
    assert_rollup_equals_recount(on_connection(run, _rollup_and_recount))
    if pooled.database_url.startswith("postgresql"):
        # The contended cells were counted in several shards, and the recount above summed them.
        assert on_connection(run, _shards_in_use) > 1


async def _shards_in_use(conn: AsyncConnection) -> int:
    shard = ResponseRollup.__table__.c.shard
    return int(await conn.scalar(select(func.count(shard.distinct()))) or 0)


def test_singles_from_many_kiosks_share_transactions_and_are_flagged_as_if_alone(
    settings: Settings, seeded: Seeded, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group commit spans kiosks; the repeat-tap check still judges each kiosk on its own."""
    strict = replace(settings, misuse_interval_seconds=5)
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=10)

    def at(seconds: int) -> ResponseIn:
        moment = (base + dt.timedelta(seconds=seconds)).isoformat()
        return msgspec.json.decode(msgspec.json.encode(answer(answered_at=moment)), type=ResponseIn)

    async def ingest_all() -> tuple[dict[str, bool], int, int]:
        engine = create_engine(strict)
        statements = 0
        insert_counted = repository.insert_counted

        async def counting(*args: Any) -> set[uuid.UUID]:
            nonlocal statements
            statements += 1
            return await insert_counted(*args)

        monkeypatch.setattr(repository, "insert_counted", counting)
        try:
            catalog = CatalogCache(ttl=60)
            snapshot = await catalog.get(engine)
            home = snapshot.kiosks_by_code[seeded.kiosk_code]
            a, b = [
                Origin(k.unit_id, "kiosk", "in_person", k.id)
                for k in snapshot.kiosks.values()
                if k.unit_id == home.unit_id
            ][:2]
            service = IngestService(engine, catalog, strict)
            await service.ingest(a, [at(0)])
            await service.ingest(b, [at(0)])
            # (origin, answer, flagged?): judged against what each kiosk already stored
            expected = [(a, at(2), True), (b, at(30), False), (a, at(60), False), (b, at(4), True)]
            expected += [(a if n % 2 else b, at(200 + 10 * n), False) for n in range(40)]
            statements = 0
            results = await asyncio.gather(
                *(service.ingest_one(origin, item) for origin, item, _ in expected)
            )
            assert {r.status for r in results} == {"stored"}
            singles = len(expected)
            # A batch of one kiosk: judged against each other and what is stored (A at 60).
            batch = [(a, at(58), False), (a, at(62), True), (a, at(64), True), (a, at(90), False)]
            await service.ingest(a, [item for _, item, _ in batch])
            flags = {str(item.id): flag for _, item, flag in expected + batch}
            return flags, statements, singles
        finally:
            await engine.dispose()

    wanted, statements, singles = asyncio.run(ingest_all())

    async def flags(session: Any) -> dict[str, bool]:
        rows = await session.execute(select(Response.id, Response.misuse))
        return {str(row.id): row.misuse for row in rows}

    stored = run(flags)
    assert {key: stored[key] for key in wanted} == wanted
    assert statements < singles / 4, f"{statements} inserts for {singles} concurrent answers"
