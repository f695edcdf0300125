"""Scheduled jobs run once per period across processes and stop gracefully; raw retention
keeps roll-ups."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.database import create_engine
from server.feedback import repository
from server.feedback.retention import purge_raw_responses
from server.jobs import Job, ScheduledJob, Scheduler
from server.settings import Settings, SettingsError
from tests.feedback.helpers import answer, bearer
from tests.support.fixtures import Seeded


def test_a_job_runs_once_per_period_however_many_processes_compete(settings: Settings) -> None:
    runs: list[str] = []
    now = [dt.datetime(2026, 5, 4, 3, 0, tzinfo=dt.UTC)]

    async def work(engine: AsyncEngine) -> None:
        runs.append("ran")

    job = Job("nightly", dt.timedelta(days=1), work)

    async def main() -> list[list[str]]:
        # Separate engines stand in for separate processes and replicas.
        engines = [create_async_engine(settings.database_url) for _ in range(4)]
        schedulers = [Scheduler(e, [job], clock=lambda: now[0]) for e in engines]
        rounds = []
        try:
            for advance in (dt.timedelta(0), dt.timedelta(hours=1), dt.timedelta(days=1)):
                now[0] += advance
                results = await asyncio.gather(*(s.run_due() for s in schedulers))
                rounds.append([name for result in results for name in result])
        finally:
            for engine in engines:
                await engine.dispose()
        return rounds

    assert asyncio.run(main()) == [["nightly"], [], ["nightly"]]
    assert runs == ["ran", "ran"]


def test_a_failing_job_does_not_stop_the_others(settings: Settings) -> None:
    async def broken(engine: AsyncEngine) -> None:
        raise RuntimeError("boom")

    done: list[str] = []

    async def fine(engine: AsyncEngine) -> None:
        done.append("fine")

    async def main() -> list[str]:
        engine = create_async_engine(settings.database_url)
        try:
            jobs = [
                Job("broken", dt.timedelta(hours=1), broken),
                Job("fine", dt.timedelta(hours=1), fine),
            ]
            return await Scheduler(engine, jobs).run_due()
        finally:
            await engine.dispose()

    assert asyncio.run(main()) == ["broken", "fine"]
    assert done == ["fine"]


# One write that takes a while (~0.1-0.3 s) on both backends and returns rows, as the
# scheduler's own claim does: on SQLite an unfinished UPDATE … RETURNING keeps the lock.
SLOW_WRITE = text(
    "UPDATE scheduled_jobs SET last_owner = CASE WHEN (WITH RECURSIVE c(n) AS "
    "(SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 400000) SELECT count(*) FROM c) > 0 "
    "THEN 'finished' ELSE '' END WHERE name = 'slow' RETURNING name"
)


async def _owners(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(ScheduledJob.name, ScheduledJob.last_owner))
        return {row.name: row.last_owner for row in rows}


def test_stop_lets_a_job_in_a_write_transaction_finish_and_leaves_no_lock(
    settings: Settings,
) -> None:
    """Shutdown right after startup (when due jobs run) must not cut a job's transaction.

    Cancelling it mid-statement made SQLAlchemy hard-close the connection without a
    rollback; on SQLite the half-read UPDATE … RETURNING then kept the write lock, and
    the outbox worker's release at shutdown waited the whole 10 s busy timeout.
    """
    started = asyncio.Event()

    async def slow(engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            assert (await conn.execute(SLOW_WRITE)).all() == [("slow",)]

    def sent(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement == SLOW_WRITE.text:  # stop() comes while the database works on it
            started.set()

    async def main() -> tuple[dict[str, str], float]:
        engine = create_engine(settings)
        event.listen(engine.sync_engine, "before_cursor_execute", sent)
        # Another process, quick to give up: a write it cannot make fails within 0.5 s.
        other = create_engine(dataclasses.replace(settings, db_statement_timeout_seconds=0.5))
        try:
            async with other.connect() as probe:  # connected beforehand: it writes at once
                await probe.execute(select(1))
                await probe.commit()
                scheduler = Scheduler(engine, [Job("slow", dt.timedelta(days=1), slow)], 60)
                scheduler.start()
                await started.wait()
                await scheduler.stop()
                begun = time.monotonic()
                await probe.execute(insert(ScheduledJob).values(name="next", next_run_at=now))
                await probe.commit()
                waited = time.monotonic() - begun
            owners = await _owners(other)
        finally:
            await engine.dispose()
            await other.dispose()
        return owners, waited

    now = dt.datetime.now(dt.UTC)
    owners, waited = asyncio.run(main())
    assert owners == {"slow": "finished", "next": ""}, "the job ran to its commit"
    assert waited < 0.5, "nothing holds a lock after stop()"


def test_stop_does_not_claim_jobs_it_would_not_run(settings: Settings) -> None:
    """A stopping process finishes the job in hand and leaves later ones to the others."""
    started = asyncio.Event()
    ran: list[str] = []

    async def first(engine: AsyncEngine) -> None:
        started.set()
        await asyncio.sleep(0.2)
        ran.append("first")

    async def second(engine: AsyncEngine) -> None:
        ran.append("second")

    jobs = [Job("first", dt.timedelta(days=1), first), Job("second", dt.timedelta(days=1), second)]

    async def main() -> list[str]:
        engine = create_engine(settings)
        try:
            scheduler = Scheduler(engine, jobs, 60)
            scheduler.start()
            await started.wait()
            await scheduler.stop()
            # Another process, later: the second job is still due there.
            return await Scheduler(engine, jobs).run_due()
        finally:
            await engine.dispose()

    assert asyncio.run(main()) == ["second"]
    assert ran == ["first", "second"]


def test_stop_returns_at_once_between_polls_and_cancels_a_job_past_the_grace(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async def stop_after_start(hang: bool, grace: float) -> float:
        started, forever = asyncio.Event(), asyncio.Event()

        async def work(engine: AsyncEngine) -> None:
            started.set()
            if hang:
                await forever.wait()

        engine = create_engine(settings)
        try:
            job = Job("hangs" if hang else "quick", dt.timedelta(days=1), work)
            scheduler = Scheduler(engine, [job], poll_seconds=60)
            scheduler.start()
            await started.wait()
            await asyncio.sleep(0.05)  # a quick job is done: the loop waits for its next poll
            begun = time.monotonic()
            await scheduler.stop(grace=grace)
            return time.monotonic() - begun
        finally:
            await engine.dispose()

    assert asyncio.run(stop_after_start(False, 30)) < 1, "stop() must not wait out the poll"
    caplog.set_level(logging.WARNING, "kaiku.jobs")
    assert 0.3 <= asyncio.run(stop_after_start(True, 0.3)) < 2
    assert "cancelling it" in caplog.text


def test_retention_removes_old_raw_rows_and_keeps_the_rollups(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    items = [answer(rating=r) for r in ("good", "poor", "good")]
    client.post("/api/v1/responses/batch", json={"items": items}, headers=bearer(seeded.kiosk_key))

    async def state(session: Any) -> tuple[int, int]:
        conn = await session.connection()
        return await repository.count_responses(conn), sum(
            (await repository.rollup_contents(conn)).values()
        )

    assert run(state) == (3, 3)
    engine = client.app.state.services.engine
    now = dt.datetime.now(dt.UTC)
    soon = client.blocking_portal.call(purge_raw_responses, engine, 14, now)
    assert soon == 0, "fresh answers are kept"
    later = client.blocking_portal.call(
        purge_raw_responses, engine, 14, now + dt.timedelta(days=15 * 31)
    )
    assert later == 3
    assert run(state) == (0, 3)


def test_retention_shorter_than_the_resend_window_is_refused() -> None:
    with pytest.raises(SettingsError, match="at least 14"):
        Settings(raw_retention_months=12).validate()
    Settings(raw_retention_months=0).validate()
    Settings(raw_retention_months=14).validate()

    async def main() -> None:
        await purge_raw_responses(None, 12, dt.datetime.now(dt.UTC))  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="exactly-once"):
        asyncio.run(main())
