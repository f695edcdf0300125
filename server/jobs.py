"""Periodic jobs that run once per period across all workers and replicas.

Each job has a row in ``scheduled_jobs``. A process runs a job only after winning an
atomic claim, ``UPDATE … SET next_run_at = now + period WHERE name = … AND
next_run_at <= now``: exactly one claimer sees a changed row, on PostgreSQL and SQLite
alike, so no advisory-lock dialect code is needed and a crashed runner simply leaves
the job to the next period.

Stopping is graceful: the loop checks a stop event between jobs and while it waits for
the next poll, and ``stop()`` lets the job in hand finish, cancelling it only past a
grace period. Cancelling a job in the middle of a statement makes SQLAlchemy hard-close
its connection without a rollback; on SQLite a half-read ``UPDATE … RETURNING`` (the
claim itself is one) then keeps the write lock until the cursor is garbage-collected,
so the next writer at shutdown waited out the whole busy timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import String, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from server.database import Base, UTCDateTime, upsert_insert

log = logging.getLogger("kaiku.jobs")
Clock = Callable[[], dt.datetime]


class ScheduledJob(Base):
    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_run_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_owner: Mapped[str] = mapped_column(String(128), default="")


@dataclass(frozen=True)
class Job:
    name: str
    period: dt.timedelta
    run: Callable[[AsyncEngine], Awaitable[object]]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Scheduler:
    """Runs due jobs in the app's lifespan; ``run_due`` is also callable directly."""

    def __init__(
        self,
        engine: AsyncEngine,
        jobs: Sequence[Job],
        poll_seconds: float = 30.0,
        clock: Clock = _now,
        owner: str | None = None,
    ) -> None:
        self._engine = engine
        self._jobs = list(jobs)
        self._poll = poll_seconds
        self._clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def claim(self, job: Job) -> bool:
        """True if this process won the job's current period."""
        now = self._clock()
        table = ScheduledJob.__table__
        async with self._engine.begin() as conn:
            await conn.execute(
                upsert_insert(conn.dialect.name, table)
                .values(name=job.name, next_run_at=now, last_owner="")
                .on_conflict_do_nothing(index_elements=["name"])
            )
            won = await conn.execute(
                update(ScheduledJob)
                .where(ScheduledJob.name == job.name, ScheduledJob.next_run_at <= now)
                .values(next_run_at=now + job.period, last_started_at=now, last_owner=self.owner)
                .returning(ScheduledJob.name)
            )
            return won.first() is not None

    async def run_due(self) -> list[str]:
        """Run every job this process wins now; returns their names."""
        ran = []
        for job in self._jobs:
            if self._stopping.is_set():  # leave the rest unclaimed, due for other processes
                break
            if await self.claim(job):
                try:
                    await job.run(self._engine)
                except Exception:  # one failing job must not stop the others
                    log.exception("scheduled job %s failed", job.name)
                ran.append(job.name)
        return ran

    def start(self) -> None:
        if self._jobs and self._task is None:
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._loop(), name="kaiku-scheduler")

    async def stop(self, grace: float = 15.0) -> None:
        """Let the job in hand finish, claim no more; cancel only after ``grace`` seconds."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            log.warning("scheduled job still running %s s after stop: cancelling it", grace)
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_due()
            except Exception:  # the database may be away; try again next poll
                log.warning("scheduler could not claim jobs; retrying", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll)


async def next_runs(engine: AsyncEngine) -> dict[str, dt.datetime]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(ScheduledJob.name, ScheduledJob.next_run_at))
        return {row.name: row.next_run_at for row in rows}
