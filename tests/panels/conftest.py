"""Panel fixtures: the app wired to a loopback 46elks and a real loopback SMTP server."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from server.settings import Settings
from tests.support.fake_46elks import Fake46elks
from tests.support.smtp import LoopbackSmtp


@pytest.fixture(scope="session")
def fake_elks() -> Iterator[Fake46elks]:
    with Fake46elks(username="kaiku", password="elks-secret") as fake:
        yield fake


@pytest.fixture(scope="session")
def smtp() -> Iterator[LoopbackSmtp]:
    with LoopbackSmtp() as server:
        yield server


@pytest.fixture
def settings(settings: Settings, fake_elks: Fake46elks, smtp: LoopbackSmtp) -> Settings:
    return dataclasses.replace(
        settings,
        sms_gateway="46elks",
        sms_46elks_username="kaiku",
        sms_46elks_password="elks-secret",
        sms_46elks_sender="Kaiku",
        sms_46elks_base_url=fake_elks.base_url,
        outbox_poll_seconds=3600.0,
        sms_delay_minutes=30,
        sms_window_start_hour=0,
        sms_window_end_hour=24,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls=False,
    )
