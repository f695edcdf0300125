"""One background run of a piece of work at a time, finished before the process stops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
FINISH_SECONDS = 5.0


class OneAtATime:
    """Runs ``work`` in the background when asked, unless a run is still going.

    For upkeep no request should wait for (reloading a cache, deleting old rows). A failed
    run is logged and the next :meth:`start` tries again. :meth:`finish` lets a run in
    progress end before the database connections close at shutdown.
    """

    def __init__(self, what: str, work: Callable[[], Awaitable[None]]) -> None:
        self._what = what
        self._work = work
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            await self._work()
        except Exception:
            log.warning("%s failed; it is tried again later", self._what, exc_info=True)
        finally:
            self._task = None

    async def finish(self) -> None:
        """Wait (up to :data:`FINISH_SECONDS`) for a run in progress."""
        if self._task is not None:
            await asyncio.wait([self._task], timeout=FINISH_SECONDS)
