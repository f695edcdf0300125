"""Apps with tight limits and a frozen rate-limit clock; the app's routes, for the security
tests that must cover every one of them."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
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


PARAM_VALUES = {"file_path": "kiosk.css", "kiosk_code": "vaasa-aula-1", "volunteer_id": "1"}
_PARAM = re.compile(r"\{(\w+):\w+\}")


def session_runner(client: TestClient[Litestar]) -> Callable[[Any], Any]:
    """``run(fn)``: ``await fn(session)`` in a committed session of the client's app."""

    def run(fn: Any) -> Any:
        async def wrapped() -> Any:
            async with client.app.state.services.session() as session:
                result = await fn(session)
                await session.commit()
                return result

        return client.blocking_portal.call(wrapped)

    return run


def app_routes(app: Litestar) -> set[tuple[str, str]]:
    """Every (method, path) the app serves; HEAD and OPTIONS follow their GET."""
    return {
        (method, route.path)
        for route in app.routes
        for method in getattr(route, "methods", ())
        if method not in ("HEAD", "OPTIONS")
    }


def concrete(path: str) -> str:
    """A URL for a route path: known values for some parameters, ``x`` for the rest."""
    return _PARAM.sub(lambda m: PARAM_VALUES.get(m.group(1), "x"), path)
