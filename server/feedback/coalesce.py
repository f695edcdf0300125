"""Group commit for single answers: concurrent requests share one transaction.

Each single POST would otherwise pay a whole transaction (BEGIN, repeat check, insert,
roll-up upserts, COMMIT) and a WAL flush. Here the first request starts a flush at once
(no added wait when idle); requests arriving while that transaction runs, from any
kiosk, are queued and go together in the next one. Every caller still gets its own
result, and only after the transaction that stored its answer has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Coalescer(Generic[Item, Result]):
    """Runs ``flush`` on groups of at most ``max_items``, one group at a time."""

    def __init__(
        self, flush: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]], max_items: int
    ) -> None:
        self._flush = flush
        self._max_items = max_items
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._drain_task: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._drain_task is None:
            self._drain_task = asyncio.create_task(self._drain())
        # shield: a caller that goes away must not cancel the flush others wait on.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        try:
            while self._queue:
                group = self._queue[: self._max_items]
                del self._queue[: self._max_items]
                try:
                    results = await self._flush([item for item, _ in group])
                except Exception as exc:  # every waiter sees the failure, e.g. as a 503
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(group, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._drain_task = None
