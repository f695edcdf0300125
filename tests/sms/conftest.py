"""SMS fixtures: a loopback 46elks, settings that use it, and a clock tests can move."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from server.settings import Settings
from tests.support.fake_46elks import Fake46elks, with_fake_gateway


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
    return with_fake_gateway(settings, fake_elks)


@pytest.fixture
def clock() -> Clock:
    return Clock()
