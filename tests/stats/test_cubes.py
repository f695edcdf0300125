"""Cubes answer every statistics query exactly as the hourly roll-up would, only cheaper."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.lookup import load_snapshot
from server.feedback import cubes
from server.feedback import stats_queries as q
from server.feedback.scales import FFT_OPTIONS
from server.feedback.statistics import HELSINKI
from tests.stats.helpers import FFT_PATH, UNIT, add_rollups, clear_rollups
from tests.support.fixtures import Seeded

UTC = dt.UTC
FIRST = dt.datetime(2026, 2, 20, tzinfo=UTC)  # spans the March summer-time change
HOURS = 24 * 75
ORIGINS = [("kiosk", "in_person"), ("sms", "video"), ("sms", "phone"), ("qr", "home_visit")]
answers = hs.lists(
    hs.tuples(
        hs.sampled_from([None, "ensitapaaminen", "paatos"]),
        hs.sampled_from(ORIGINS),
        hs.sampled_from(FFT_OPTIONS),
        hs.integers(1, 4),
        hs.integers(0, HOURS - 1),
        hs.booleans(),
    ),
    min_size=1,
    max_size=40,
)
local_days = hs.integers(0, 75).map(
    lambda n: dt.datetime.combine(
        FIRST.date() + dt.timedelta(days=n), dt.time(), tzinfo=HELSINKI
    ).astimezone(UTC)
)
month_starts = hs.sampled_from([dt.datetime(2026, m, 1, tzinfo=HELSINKI) for m in (2, 3, 4, 5)])
any_hours = hs.integers(0, HOURS).map(lambda h: FIRST + dt.timedelta(hours=h))
edges = hs.one_of(hs.none(), any_hours, local_days, month_starts.map(lambda d: d.astimezone(UTC)))
queries = hs.fixed_dictionaries(
    {
        "by": hs.lists(hs.sampled_from(get_args(q.Dimension)), unique=True, max_size=2),
        "period": hs.one_of(hs.none(), hs.sampled_from(get_args(q.Period))),
        "start": edges,
        "end": edges,
        "step": hs.booleans(),
        "channel": hs.booleans(),
        "misuse": hs.booleans(),
    }
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=answers, query=queries)
def test_every_query_counts_the_same_from_the_chosen_cube_and_the_hourly_roll_up(
    client: TestClient[Litestar],
    run: Callable[..., Any],
    seeded: Seeded,
    data: list[Any],
    query: dict[str, Any],
) -> None:
    chosen, hourly = _chosen_and_hourly(run, data, query)
    assert chosen == hourly


NARROW = {"by": [], "step": False, "channel": False, "misuse": False}
DAYS_IN = dt.timedelta(days=3, hours=1)  # a Helsinki midnight: FIRST is 02:00 local


@pytest.mark.parametrize(
    "window",
    [(None, None), (FIRST + DAYS_IN, None), (None, FIRST + dt.timedelta(days=60, hours=-2))],
    ids=["all", "from-a-day", "to-a-day"],
)
def test_hour_of_day_patterns_over_months_count_the_same_from_hour_slots(
    client: TestClient[Litestar], run: Callable[..., Any], seeded: Seeded, window: Any
) -> None:
    """Every hour of 75 days (two summer-time regimes) through the hour-slot cube."""
    data = [(None, ORIGINS[h % 4], FFT_OPTIONS[h // 24 % 6], 1, h, False) for h in range(HOURS)]
    query = {**NARROW, "period": "hour", "start": window[0], "end": window[1]}
    assert (
        cubes.plan({"path_id"}, "hour", *window)[-1 if window[1] is None else 0][0]
        == (cubes.CUBES[6])
    )
    chosen, hourly = _chosen_and_hourly(run, data, query)
    assert chosen == hourly
    assert len(chosen) == 24 * 6


def _chosen_and_hourly(
    run: Callable[..., Any], data: list[Any], query: dict[str, Any]
) -> tuple[Counter[Any], Counter[Any]]:
    """Load ``data`` as roll-ups, then count ``query`` from the chosen cubes and hourly."""
    run(clear_rollups)
    rows = [
        (FFT_PATH, step, channel, mode, option, n, FIRST + dt.timedelta(hours=h), misuse)
        for step, (channel, mode), option, n, h, misuse in data
    ]
    run(lambda s: add_rollups(s, rows))

    async def both(session: AsyncSession) -> tuple[Counter[Any], Counter[Any]]:
        catalog = await load_snapshot(session)
        path = catalog.path(catalog.unit_id(UNIT) or 0, FFT_PATH)
        assert path is not None
        step = path.steps["ensitapaaminen"].id if query["step"] else None
        where = q.StatsFilter(
            path_id=path.id,
            step_id=step,
            channel="sms" if query["channel"] else None,
            start=query["start"],
            end=query["end"],
            include_misuse=query["misuse"],
        )
        conn = await session.connection()
        args = (conn, where, query["by"])
        chosen = await q.grouped_counts(*args, period=query["period"])
        hourly = await q.grouped_counts(*args, period=query["period"], use_cubes=False)
        return _summed(chosen), _summed(hourly)

    result: tuple[Counter[Any], Counter[Any]] = run(both)
    return result


def _summed(rows: list[Any]) -> Counter[tuple[Any, ...]]:
    counts: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        *key, count = tuple(row)
        counts[tuple(key)] += int(count)
    return counts


def test_long_windows_use_coarse_cubes_and_hour_patterns_the_hourly_path_cube() -> None:
    year_ago = dt.datetime(2025, 11, 1, tzinfo=HELSINKI).astimezone(UTC)
    assert cubes.choose({"path_id"}, "month", None, None) == cubes.CUBES[5]
    assert cubes.choose({"path_id", "step_id"}, None, year_ago, None) == cubes.CUBES[4]
    assert cubes.choose({"path_id"}, "hour", year_ago, None) == cubes.CUBES[6]
    assert (
        cubes.choose({"path_id"}, "hour", year_ago + dt.timedelta(days=1), None) == cubes.CUBES[0]
    )
    assert cubes.choose({"path_id", "contact_mode"}, "week", year_ago, None) == cubes.CUBES[3]
    # A window that does not start on a Helsinki midnight can only be read hour by hour.
    assert cubes.choose({"path_id"}, None, year_ago + dt.timedelta(hours=5), None) == cubes.CUBES[0]
    # Step and channel together: no cube below a month keeps both.
    assert cubes.choose({"step_id", "channel"}, "day", None, None) is None


def test_whole_months_of_a_long_window_come_from_a_monthly_cube() -> None:
    start = dt.datetime(2025, 11, 23, tzinfo=HELSINKI).astimezone(UTC)
    december = dt.datetime(2025, 12, 1, tzinfo=HELSINKI).astimezone(UTC)
    assert cubes.plan({"path_id", "step_id"}, None, start, None) == [
        (cubes.CUBES[2], (start, december)),
        (cubes.CUBES[4], (december, None)),
    ]
    # Weekly periods cannot be split on month boundaries.
    assert cubes.plan({"path_id"}, "week", start, None) == [(cubes.CUBES[1], (start, None))]
