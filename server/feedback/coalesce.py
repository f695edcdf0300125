"""Group commit: concurrent ingest requests share one database statement.

Each request would otherwise pay a whole round of its own (connection, repeat-tap read,
the insert-and-count statement, its commit and WAL flush). Here the first request
starts a flush at once (no added wait when idle); requests arriving while that flush
runs, from any kiosk, single answers and batches alike, are queued and go together in
the next one. Every caller still gets its own results, and only after the statement
that stored its answers has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Coalescer(Generic[Item, Result]):
    """Runs ``flush`` on whole submissions, one group at a time.

    A group takes queued submissions in order while their items fit in ``max_items``
    (always at least one submission, so one larger than ``max_items`` still goes, alone).
    A submission is never split: its items share one commit, as its caller expects.
    """

    def __init__(
        self, flush: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]], max_items: int
    ) -> None:
        self._flush = flush
        self._max_items = max_items
        self._queue: list[tuple[Sequence[Item], asyncio.Future[list[Result]]]] = []
        self._drain_task: asyncio.Task[None] | None = None

    async def submit(self, items: Sequence[Item]) -> list[Result]:
        """The results of ``items``, in order, once the group holding them has flushed."""
        future: asyncio.Future[list[Result]] = asyncio.get_running_loop().create_future()
        self._queue.append((items, future))
        if self._drain_task is None:
            self._drain_task = asyncio.create_task(self._drain())
        # shield: a caller that goes away must not cancel the flush others wait on.
        return await asyncio.shield(future)

    def _next_group(self) -> list[tuple[Sequence[Item], asyncio.Future[list[Result]]]]:
        taken = 1
        size = len(self._queue[0][0])
        while taken < len(self._queue) and size + len(self._queue[taken][0]) <= self._max_items:
            size += len(self._queue[taken][0])
            taken += 1
        group = self._queue[:taken]
        del self._queue[:taken]
        return group

    async def _drain(self) -> None:
        try:
            while self._queue:
                group = self._next_group()
                try:
                    results = await self._flush([item for items, _ in group for item in items])
                except Exception as exc:  # every waiter sees the failure, e.g. as a 503
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                start = 0
                for items, future in group:
                    if not future.done():
                        future.set_result(list(results[start : start + len(items)]))
                    start += len(items)
        finally:
            self._drain_task = None
