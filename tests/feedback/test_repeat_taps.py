"""The repeat-tap rule, for any sequence of single answers and batches from two kiosks.

An answer is flagged as misuse when the same kiosk already has an answer (stored, or
earlier in the same submission) less than the misuse interval before it, or at the same
moment. The implementation reads only what it must from the database (the latest stored
time before each distinct moment, one index probe each); this checks it against the
rule stated plainly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections import Counter
from dataclasses import replace
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.catalog.lookup import CatalogCache
from server.database import create_engine
from server.feedback.ingest import IngestService, Origin
from server.feedback.models import Response
from server.feedback.schemas import ResponseIn
from server.settings import Settings
from tests.feedback.helpers import answer
from tests.support.fixtures import Seeded

INTERVAL = 5
# Each example gets its own stretch of time, so what earlier examples stored is too far
# away to count (the database outlives the examples).
_stretches = itertools.count()

submissions = st.lists(
    st.tuples(
        st.sampled_from([0, 1]),  # which kiosk
        st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=6),  # seconds
    ),
    min_size=1,
    max_size=6,
)


def answer_at(moment: dt.datetime) -> ResponseIn:
    body = msgspec.json.encode(answer(answered_at=moment.isoformat()))
    return msgspec.json.decode(body, type=ResponseIn)


async def ingest_in_turn(
    config: Settings, seeded: Seeded, sent: list[tuple[int, list[ResponseIn]]]
) -> None:
    """Submit each (kiosk 0 or 1, answers) in turn, as a kiosk's retries come; all stored."""
    engine = create_engine(config)
    try:
        catalog = CatalogCache(ttl=60)
        snapshot = await catalog.get(engine)
        home = snapshot.kiosks_by_code[seeded.kiosk_code]
        kiosks = [
            Origin(k.unit_id, "kiosk", "in_person", k.id)
            for k in snapshot.kiosks.values()
            if k.unit_id == home.unit_id
        ][:2]
        service = IngestService(engine, catalog, config)
        for kiosk, batch in sent:
            results = await service.ingest(kiosks[kiosk], batch)
            assert {r.status for r in results} == {"stored"}
    finally:
        await engine.dispose()


def misuse_flags(items: list[ResponseIn]) -> Any:
    """A ``run`` callable: stored misuse flag per answer id."""

    async def read(session: Any) -> dict[str, bool]:
        ids = [item.id for item in items]
        rows = await session.execute(
            select(Response.id, Response.misuse).where(Response.id.in_(ids))
        )
        return {str(row.id): row.misuse for row in rows}

    return read


def expected_flags(sent: list[tuple[int, list[int]]]) -> list[Counter[tuple[int, bool]]]:
    """Per submission, how many answers at each second are flagged and not (the rule)."""
    earlier: dict[int, list[int]] = {0: [], 1: []}
    outcome = []
    for kiosk, seconds in sent:
        flags: Counter[tuple[int, bool]] = Counter()
        for second in sorted(seconds):
            flagged = any(second - INTERVAL < other <= second for other in earlier[kiosk])
            flags[(second, flagged)] += 1
            earlier[kiosk].append(second)
        outcome.append(flags)
    return outcome


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sent=submissions)
def test_flags_follow_the_rule_for_any_submissions(
    settings: Settings, seeded: Seeded, run: Any, sent: list[tuple[int, list[int]]]
) -> None:
    strict = replace(settings, misuse_interval_seconds=INTERVAL)
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    base += dt.timedelta(minutes=next(_stretches))

    def at(second: int) -> ResponseIn:
        return answer_at(base + dt.timedelta(seconds=second))

    submitted = [(kiosk, [at(second) for second in seconds]) for kiosk, seconds in sent]
    asyncio.run(ingest_in_turn(strict, seeded, submitted))
    items = [batch for _, batch in submitted]

    stored = run(misuse_flags([item for batch in items for item in batch]))
    actual = [
        Counter((int((item.answered_at - base).total_seconds()), stored[str(item.id)])
                for item in batch)
        for batch in items
    ]  # fmt: skip
    assert actual == expected_flags(sent)


def test_a_queue_of_more_moments_than_one_statement_takes_is_judged_whole(
    settings: Settings, seeded: Seeded, run: Any
) -> None:
    """600 distinct moments (SQLite reads them in chunks of 500): a first queue six seconds
    apart is clean, a second one three seconds after each of those is all flagged."""
    strict = replace(settings, misuse_interval_seconds=INTERVAL, max_batch_items=600)
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=2)
    clean = [answer_at(base + dt.timedelta(seconds=6 * n)) for n in range(600)]
    close = [answer_at(base + dt.timedelta(seconds=6 * n + 3)) for n in range(600)]
    asyncio.run(ingest_in_turn(strict, seeded, [(0, clean), (0, close)]))

    stored = run(misuse_flags(clean + close))
    assert [stored[str(item.id)] for item in clean] == [False] * 600
    assert [stored[str(item.id)] for item in close] == [True] * 600
