"""SMS fixtures: a loopback 46elks, settings that use it, and a clock tests can move."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest

from server.settings import Settings
from tests.support.fake_46elks import Fake46elks


class Clock:
    """A settable ``now`` for services and workers (tests move time instead of sleeping)."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture(scope="session")
def fake_elks() -> Iterator[Fake46elks]:
    with Fake46elks(username="kaiku", password="elks-secret", hang_seconds=1) as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, fake_elks: Fake46elks) -> Settings:
    """The shared test settings with the 46elks gateway on loopback; the app's own worker
    polls rarely so tests drive their own workers."""
    return dataclasses.replace(
        settings,
        sms_gateway="46elks",
        sms_46elks_username="kaiku",
        sms_46elks_password="elks-secret",
        sms_46elks_sender="Kaiku",
        sms_46elks_base_url=fake_elks.base_url,
        sms_delay_minutes=30,
        sms_window_start_hour=0,
        sms_window_end_hour=24,
        outbox_poll_seconds=3600.0,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()
