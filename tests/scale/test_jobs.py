"""Scheduled jobs run once per period across processes; raw retention keeps roll-ups."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.feedback import repository
from server.feedback.retention import purge_raw_responses
from server.jobs import Job, Scheduler
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
