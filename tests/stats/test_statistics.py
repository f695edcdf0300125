"""Pure statistics: Wilson intervals, comparisons, Helsinki calendars, published tables."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from server.feedback import statistics as st
from server.feedback.scales import FFT_OPTIONS

counts = hs.integers(min_value=1, max_value=100_000).flatmap(
    lambda n: hs.tuples(hs.integers(min_value=0, max_value=n), hs.just(n))
)


@given(counts)
def test_wilson_bounds_contain_the_share_and_stay_in_unit_interval(xn: tuple[int, int]) -> None:
    x, n = xn
    w = st.wilson(x, n)
    assert 0.0 <= w.low <= w.value <= w.high <= 1.0
    assert w.value == x / n


@given(counts)
def test_wilson_is_symmetric_between_successes_and_failures(xn: tuple[int, int]) -> None:
    x, n = xn
    a, b = st.wilson(x, n), st.wilson(n - x, n)
    assert a.low == pytest.approx(1 - b.high, abs=1e-12)
    assert a.high == pytest.approx(1 - b.low, abs=1e-12)


def test_wilson_known_value_and_narrowing() -> None:
    # 8/10: the textbook Wilson 95 % interval is 0.490–0.943.
    w = st.wilson(8, 10)
    assert (round(w.low, 3), round(w.high, 3)) == (0.490, 0.943)
    assert st.wilson(800, 1000).high - st.wilson(800, 1000).low < w.high - w.low
    with pytest.raises(ValueError):
        st.wilson(3, 2)


def test_comparison_flags_noise_and_real_differences() -> None:
    noisy = st.compare(7, 10, 5, 10)
    assert noisy.within_noise
    assert noisy.intervals_overlap
    real = st.compare(900, 1000, 700, 1000)
    assert not real.within_noise
    assert not real.intervals_overlap
    assert real.difference == pytest.approx(0.2)
    assert st.two_proportion_p(5, 10, 5, 10) == pytest.approx(1.0)


def test_nps_points() -> None:
    counts = {"10": 5, "9": 5, "8": 3, "3": 7}
    assert st.nps_counts(counts) == (10, 7, 20)
    assert st.nps(10, 7, 20) == pytest.approx(15.0)


hours = hs.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 12, 31)).map(
    lambda d: d.replace(minute=0, second=0, microsecond=0, tzinfo=dt.UTC)
)


@given(hours, hs.sampled_from(st.INTERVALS))
def test_every_utc_hour_lands_in_exactly_one_local_period(
    bucket: dt.datetime, interval: st.Interval
) -> None:
    start = st.period_of(bucket, interval)
    local = bucket.astimezone(st.HELSINKI)
    first, end = st.local_day_bounds(start, None)[0], None
    following = {
        "day": start + dt.timedelta(days=1),
        "week": start + dt.timedelta(days=7),
        "month": (start + dt.timedelta(days=32)).replace(day=1),
    }[interval]
    end = st.local_day_bounds(None, following - dt.timedelta(days=1))[1]
    assert first is not None
    assert end is not None
    assert first <= bucket < end
    assert start <= local.date() < following
    if interval == "week":
        assert start.isoweekday() == 1
    if interval == "month":
        assert start.day == 1


def test_dst_days_have_23_and_25_hours_in_helsinki() -> None:
    """Spring forward (last Sunday of March) and fall back (last Sunday of October)."""
    for day, expected in ((dt.date(2026, 3, 29), 23), (dt.date(2026, 10, 25), 25)):
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        hours_in_day = sum(
            st.local_date(start + dt.timedelta(hours=h)) == day for h in range(24 * 366)
        )
        assert hours_in_day == expected
    # 21:00 UTC is already the next day in Helsinki, winter and summer.
    assert st.local_date(dt.datetime(2026, 1, 31, 22, tzinfo=dt.UTC)) == dt.date(2026, 2, 1)
    assert st.period_of(dt.datetime(2026, 5, 31, 21, tzinfo=dt.UTC), "month") == dt.date(2026, 6, 1)
    assert st.hour_and_weekday(dt.datetime(2026, 11, 22, 22, tzinfo=dt.UTC)) == (0, 1)


def test_weeks_start_on_monday() -> None:
    assert st.period_start(dt.date(2026, 11, 22), "week") == dt.date(2026, 11, 16)
    assert st.period_start(dt.date(2026, 11, 16), "week") == dt.date(2026, 11, 16)


tables = hs.dictionaries(
    hs.tuples(hs.sampled_from(["a", "b", "c"]), hs.sampled_from(FFT_OPTIONS)),
    hs.integers(min_value=0, max_value=40),
    min_size=1,
)


@given(tables, hs.integers(min_value=3, max_value=10))
def test_table_hides_small_cells_and_every_derived_figure_they_feed(
    cells: dict[tuple[str, str], int], threshold: int
) -> None:
    table = st.build_table(cells, FFT_OPTIONS, threshold, grouped=True)
    for row in table.groups:
        for option, cell in row.options.items():
            true = cells.get((row.key, option), 0)
            if 0 < true < threshold:
                assert cell.count is None
                assert cell.suppressed
            elif cell.count is not None:
                assert cell.count == true
        _assert_shares_only_from_shown(row)
    _assert_shares_only_from_shown(table.total)


def _assert_shares_only_from_shown(row: st.Row) -> None:
    """A published share must be computable from published counts."""
    if row.share_positive.value is None:
        return
    n = row.share_positive.n
    assert n is not None
    shown = {k: c.count for k, c in row.options.items()}
    pos = st.derivable(row.n.count, shown, frozenset({"very_good", "good"}))
    assert pos is not None
    assert row.share_positive.value == pytest.approx(pos / n)


def test_table_without_groups_lists_all_options_and_shares() -> None:
    table = st.build_table({("", "good"): 30, ("", "poor"): 10}, FFT_OPTIONS, 5, grouped=False)
    assert table.groups == []
    assert table.total.n.count == 40
    assert table.total.options["very_good"].count == 0
    assert table.total.share_positive.value == pytest.approx(0.75)
    assert table.total.share_negative.value == pytest.approx(0.25)
    assert table.total.nps.value is None
    assert not table.total.nps.suppressed


def test_small_group_leaves_no_trace_in_a_grouped_table() -> None:
    cells = {("big", o): 20 for o in FFT_OPTIONS} | {("tiny", "poor"): 3}
    table = st.build_table(cells, FFT_OPTIONS, 5, grouped=True)
    tiny = next(r for r in table.groups if r.key == "tiny")
    assert tiny.n.count is None
    assert tiny.share_negative.value is None
    # The total and the other group cannot both be shown, or total − big = tiny.
    big = next(r for r in table.groups if r.key == "big")
    assert table.total.n.count is None or big.n.count is None
    # Option totals are published only as sums of shown cells: "poor" overall would leak.
    assert table.total.options["poor"].count is None
