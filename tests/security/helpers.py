"""Apps with tight limits and a frozen rate-limit clock, for the security tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from server.app import create_app
from server.settings import Settings

NOW = 1_800_000_030.0  # 30 s into a one-minute window


@contextmanager
def client_with(settings: Settings, **overrides: Any) -> Iterator[TestClient[Litestar]]:
    """A test client for ``settings`` changed by ``overrides``; the window clock stands still."""
    app = create_app(dataclasses.replace(settings, **overrides))
    app.state.rate_limiter.clock = lambda: NOW
    with TestClient(app) as client:
        yield client
