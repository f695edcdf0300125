"""Panel fixtures: the app wired to a loopback 46elks and a real loopback SMTP server."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from server.jobs import ScheduledJob
from server.settings import Settings
from tests.support.fake_46elks import Fake46elks, with_fake_gateway
from tests.support.smtp import LoopbackSmtp


@pytest.fixture(scope="session")
def fake_elks() -> Iterator[Fake46elks]:
    with Fake46elks(username="kaiku", password="elks-secret") as fake:
        yield fake


@pytest.fixture(scope="session")
def smtp() -> Iterator[LoopbackSmtp]:
    with LoopbackSmtp() as server:
        yield server


def _panel_jobs_just_ran(url: str) -> None:
    """Tests drive the panel jobs themselves; the app's scheduler must not race them."""

    async def mark() -> None:
        engine = create_async_engine(url)
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        async with AsyncSession(engine) as session:
            for name in ("panel-retention", "panel-reminders"):
                session.add(ScheduledJob(name=name, next_run_at=later, last_owner="test"))
            await session.commit()
        await engine.dispose()

    asyncio.run(mark())


@pytest.fixture
def settings(settings: Settings, fake_elks: Fake46elks, smtp: LoopbackSmtp) -> Settings:
    _panel_jobs_just_ran(settings.database_url)
    changed: Settings = dataclasses.replace(
        with_fake_gateway(settings, fake_elks),
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls=False,
    )
    return changed
