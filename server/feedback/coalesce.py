"""Group commit for single answers: concurrent requests share one transaction.

Each single POST would otherwise pay a whole transaction (BEGIN, repeat check, insert,
roll-up upsert, COMMIT). Here the first request of an origin starts a flush at once (no
added wait when idle); requests arriving while that transaction runs are queued and go
together in the next one. Every caller still gets its own result, and only after the
transaction that stored its answer has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Item = TypeVar("Item")
Result = TypeVar("Result")


class Coalescer(Generic[Key, Item, Result]):
    def __init__(
        self,
        flush: Callable[[Key, Sequence[Item]], Awaitable[Sequence[Result]]],
        max_items: int,
    ) -> None:
        self._flush = flush
        self._max_items = max_items
        self._queues: dict[Key, list[tuple[Item, asyncio.Future[Result]]]] = {}
        self._drains: dict[Key, asyncio.Task[None]] = {}

    async def submit(self, key: Key, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(key, []).append((item, future))
        if key not in self._drains:
            self._drains[key] = asyncio.create_task(self._drain(key))
        # shield: a caller that goes away must not cancel the flush others wait on.
        return await asyncio.shield(future)

    async def _drain(self, key: Key) -> None:
        try:
            while queue := self._queues.pop(key, None):
                group, rest = queue[: self._max_items], queue[self._max_items :]
                if rest:
                    self._queues[key] = rest + self._queues.get(key, [])
                try:
                    results = await self._flush(key, [item for item, _ in group])
                except Exception as exc:  # every waiter sees the failure, e.g. as a 503
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(group, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            del self._drains[key]
