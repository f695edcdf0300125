"""The repeat-tap rule, for any sequence of single answers and batches from two kiosks.

An answer is flagged as misuse when the same kiosk already has an answer (stored, or
earlier in the same submission) less than the misuse interval before it, or at the same
moment. The implementation reads only what it must from the database (one probe when a
kiosk's new answers share a moment, distinct times otherwise); this checks it against
the rule stated plainly.
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
        moment = (base + dt.timedelta(seconds=second)).isoformat()
        return msgspec.json.decode(msgspec.json.encode(answer(answered_at=moment)), type=ResponseIn)

    async def send_all() -> list[list[ResponseIn]]:
        engine = create_engine(strict)
        try:
            catalog = CatalogCache(ttl=60)
            snapshot = await catalog.get(engine)
            home = snapshot.kiosks_by_code[seeded.kiosk_code]
            kiosks = [
                Origin(k.unit_id, "kiosk", "in_person", k.id)
                for k in snapshot.kiosks.values()
                if k.unit_id == home.unit_id
            ][:2]
            service = IngestService(engine, catalog, strict)
            items = []
            for kiosk, seconds in sent:  # one after another, as a kiosk's retries come
                batch = [at(second) for second in seconds]
                results = await service.ingest(kiosks[kiosk], batch)
                assert {r.status for r in results} == {"stored"}
                items.append(batch)
            return items
        finally:
            await engine.dispose()

    items = asyncio.run(send_all())

    async def flags(session: Any) -> dict[str, bool]:
        ids = [item.id for batch in items for item in batch]
        rows = await session.execute(
            select(Response.id, Response.misuse).where(Response.id.in_(ids))
        )
        return {str(row.id): row.misuse for row in rows}

    stored = run(flags)
    actual = [
        Counter((int((item.answered_at - base).total_seconds()), stored[str(item.id)])
                for item in batch)
        for batch in items
    ]  # fmt: skip
    assert actual == expected_flags(sent)
