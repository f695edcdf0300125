"""Group commit: concurrent submissions share flushes, each gets its own results."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.feedback.coalesce import Coalescer


def test_concurrent_submissions_are_grouped_and_answered_individually() -> None:
    flushed: list[list[int]] = []

    async def flush(items: Sequence[int]) -> list[int]:
        flushed.append(list(items))
        await asyncio.sleep(0.01)
        return [item * 10 for item in items]

    async def main() -> list[list[int]]:
        coalescer: Coalescer[int, int] = Coalescer(flush, max_items=4)
        return list(await asyncio.gather(*(coalescer.submit([i]) for i in range(10))))

    assert asyncio.run(main()) == [[i * 10] for i in range(10)]
    assert sum(len(group) for group in flushed) == 10
    assert len(flushed) < 10, "nothing was grouped"
    assert max(len(group) for group in flushed) <= 4


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=12))
def test_submissions_are_never_split_and_each_gets_its_own_results(sizes: list[int]) -> None:
    """Whatever the sizes: a submission flushes whole, groups stay within the limit unless
    one submission alone is larger, and each caller gets exactly its items' results."""
    limit = 8
    flushed: list[list[tuple[int, int]]] = []

    async def flush(items: Sequence[tuple[int, int]]) -> list[str]:
        flushed.append(list(items))
        await asyncio.sleep(0)
        return [f"{caller}.{n}" for caller, n in items]

    async def main() -> list[list[str]]:
        coalescer: Coalescer[tuple[int, int], str] = Coalescer(flush, max_items=limit)
        submissions = [[(caller, n) for n in range(size)] for caller, size in enumerate(sizes)]
        return list(await asyncio.gather(*(coalescer.submit(s) for s in submissions)))

    results = asyncio.run(main())
    assert results == [[f"{caller}.{n}" for n in range(size)] for caller, size in enumerate(sizes)]
    for group in flushed:
        callers = {caller for caller, _ in group}
        for caller in callers:  # whole: every item of a caller in this group
            assert sum(c == caller for c, _ in group) == sizes[caller]
        assert len(group) <= limit or len(callers) == 1


def test_a_lone_submission_is_flushed_without_waiting() -> None:
    async def flush(items: Sequence[int]) -> list[int]:
        return list(items)

    async def main() -> list[int]:
        coalescer: Coalescer[int, int] = Coalescer(flush, max_items=10)
        return await asyncio.wait_for(coalescer.submit([7]), timeout=0.5)

    assert asyncio.run(main()) == [7]


def test_a_failed_flush_fails_its_waiters_and_the_next_group_still_runs() -> None:
    calls = 0

    async def flush(items: Sequence[int]) -> list[int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        if calls == 1:
            raise ConnectionError("database went away")
        return list(items)

    async def main() -> tuple[BaseException | list[int], ...]:
        coalescer: Coalescer[int, int] = Coalescer(flush, max_items=10)
        first = asyncio.create_task(coalescer.submit([1]))
        await asyncio.sleep(0)  # the first flush starts with item 1 alone
        rest = [asyncio.create_task(coalescer.submit([i, i])) for i in (2, 3)]
        return tuple(await asyncio.gather(first, *rest, return_exceptions=True))

    outcome = asyncio.run(main())
    assert isinstance(outcome[0], ConnectionError)
    assert outcome[1:] == ([2, 2], [3, 3])


def test_a_caller_that_goes_away_does_not_cancel_the_others() -> None:
    async def flush(items: Sequence[int]) -> list[int]:
        await asyncio.sleep(0.05)
        return list(items)

    async def main() -> list[int]:
        coalescer: Coalescer[int, int] = Coalescer(flush, max_items=10)
        leaving = asyncio.create_task(coalescer.submit([1]))
        staying = asyncio.create_task(coalescer.submit([2]))
        await asyncio.sleep(0.01)
        leaving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leaving
        return await staying

    assert asyncio.run(main()) == [2]
