"""Selection properties on random pools, checked against brute force on small pools."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from server.panels.selection import Candidate, Quota, eligible, select

MAX_INVITES = 3
SENTIMENTS = (None, "positive", "neutral", "negative")
LANGS = ("fi", "sv", "en")
BANDS = (None, "under-25", "65+")

candidates = st.builds(
    Candidate,
    id=st.integers(),
    sentiment=st.sampled_from(SENTIMENTS),
    language=st.sampled_from(LANGS),
    age_band=st.sampled_from(BANDS),
    staff=st.sampled_from((False, False, False, True)),
    invites_last_year=st.integers(0, 4),
)
pools = st.lists(candidates, max_size=9, unique_by=lambda c: c.id)
quota_lists = st.lists(
    st.one_of(
        st.builds(Quota, st.just("sentiment"), st.sampled_from(SENTIMENTS[1:]), st.integers(1, 3)),
        st.builds(Quota, st.just("language"), st.sampled_from(LANGS), st.integers(1, 2)),
        st.builds(Quota, st.just("age_band"), st.sampled_from(BANDS[1:]), st.integers(1, 2)),
    ),
    max_size=4,
    unique_by=lambda q: (q.attribute, q.value),
)


def _feasible(pool: list[Candidate], seats: int, quotas: list[Quota]) -> bool:
    ok = [c for c in pool if eligible(c, MAX_INVITES)]
    for size in range(min(seats, len(ok)) + 1):
        for combo in itertools.combinations(ok, size):
            if all(sum(q.matches(c) for c in combo) >= q.minimum for q in quotas):
                return True
    return False


@settings(max_examples=300)
@given(pools, st.integers(0, 5), quota_lists, st.integers())
def test_targets_met_whenever_the_pool_allows(
    pool: list[Candidate], seats: int, quotas: list[Quota], seed: int
) -> None:
    result = select(pool, seats, quotas, max_invites=MAX_INVITES, rng=random.Random(seed))
    chosen = [c for c in pool if c.id in set(result.chosen)]

    assert len(result.chosen) == len(set(result.chosen)) <= seats
    assert all(eligible(c, MAX_INVITES) for c in chosen)
    really_unmet = [q for q in quotas if sum(q.matches(c) for c in chosen) < q.minimum]
    assert result.unmet == really_unmet
    if _feasible(pool, seats, quotas):
        assert result.unmet == []
    eligible_count = sum(eligible(c, MAX_INVITES) for c in pool)
    assert len(result.chosen) == min(seats, eligible_count)


def test_selection_is_random_among_equals() -> None:
    pool = [Candidate(i) for i in range(20)]
    picks = {
        tuple(select(pool, 3, [], max_invites=3, rng=random.Random(s)).chosen) for s in range(10)
    }
    assert len(picks) > 5
