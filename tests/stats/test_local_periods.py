"""The database groups UTC hour buckets into Helsinki periods exactly as statistics.py does."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import msgspec
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as hs
from litestar import Litestar
from litestar.testing import TestClient

from server.feedback import statistics as st
from tests.feedback.helpers import bearer
from tests.stats.helpers import FFT_PATH, add_rollups, clear_rollups, manager_key
from tests.support.fixtures import Seeded

UTC = dt.UTC
EDGES = [
    dt.datetime(2026, 3, 29, 0, tzinfo=UTC),  # 02:00 local, last winter hour
    dt.datetime(2026, 3, 29, 1, tzinfo=UTC),  # 04:00 local, first summer hour
    dt.datetime(2026, 10, 25, 0, tzinfo=UTC),  # 03:00 summer time
    dt.datetime(2026, 10, 25, 1, tzinfo=UTC),  # 03:00 again, winter time
    dt.datetime(2026, 12, 31, 22, tzinfo=UTC),  # already New Year in Helsinki
    dt.datetime(2026, 11, 22, 21, tzinfo=UTC),  # Sunday 23:00 → Monday 00:00 next hour
    dt.datetime(2026, 11, 22, 22, tzinfo=UTC),
]
hours = hs.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2060, 12, 31)).map(
    lambda d: d.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)
)


@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(buckets=hs.lists(hours, min_size=1, max_size=6, unique=True))
@example(buckets=EDGES)
def test_sql_periods_match_python(
    client: TestClient[Litestar],
    run: Callable[..., Any],
    seeded: Seeded,
    buckets: list[dt.datetime],
) -> None:
    run(clear_rollups)
    answers = [(FFT_PATH, None, "kiosk", "in_person", "good", 5, b) for b in buckets]
    run(lambda s: add_rollups(s, answers))
    headers = bearer(run(manager_key))

    def fetch(endpoint: str, **params: str) -> dict[str, int | None]:
        reply = client.get(f"/api/v1/stats/{endpoint}", params=params, headers=headers)
        table = msgspec.json.decode(reply.content, type=st.Table)
        return {g.key: g.n.count for g in table.groups}

    for interval in st.INTERVALS:
        expected = Counter(st.period_of(b, interval).isoformat() for b in buckets)
        assert fetch("trend", interval=interval) == {k: 5 * n for k, n in expected.items()}
    by_hour = Counter(f"{st.hour_and_weekday(b)[0]:02d}" for b in buckets)
    assert fetch("patterns", pattern="hour") == {k: 5 * n for k, n in by_hour.items()}
    by_day = Counter(str(st.hour_and_weekday(b)[1]) for b in buckets)
    assert fetch("patterns", pattern="weekday") == {k: 5 * n for k, n in by_day.items()}
