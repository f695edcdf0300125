"""Nothing secret leaks: not into any log record, not into repr(settings), not into an
error body (no stack trace, no SQL, no exception text)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from server.auth.roles import Role
from server.feedback.kiosks import create_pairing_code, kiosk_by_code
from server.feedback.tokens import receipt_secret
from server.settings import Settings
from tests.auth.helpers import PASSWORD, add_user, sign_in
from tests.feedback.helpers import answer, bearer
from tests.security.helpers import client_with, session_runner
from tests.support.fixtures import KIOSK, seed

SECRET_KEY = "never-logged-secret-key-" + "k" * 20
METRICS_TOKEN = "never-logged-metrics-token-" + "m" * 12
WRONG_PASSWORD = "never-logged-wrong-password"
LINK_TOKEN = "never-logged-link-token-AAAA"


def _broken(error: Exception) -> Any:
    async def fail(*_: Any) -> Any:
        raise error

    return fail


async def _pairing_code(session: Any) -> str:
    kiosk = await kiosk_by_code(session, KIOSK)
    assert kiosk is not None
    return await create_pairing_code(session, kiosk, minutes=15)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _every_log_record() -> Iterator[list[logging.LogRecord]]:
    """Every record any logger passes to the root, at DEBUG (installed after the app has
    configured logging, which replaces the root's handlers)."""
    root, handler = logging.getLogger(), _Records()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_no_secret_reaches_any_log_record(settings: Settings) -> None:
    with (
        client_with(settings, secret_key=SECRET_KEY, metrics_token=METRICS_TOKEN) as client,
        _every_log_record() as records,
    ):
        run = session_runner(client)
        seeded = run(seed)
        add_user(run, "aino", Role.MANAGER)
        sign_in(client, "aino", WRONG_PASSWORD)
        sign_in(client, "aino")
        code = run(_pairing_code)
        device_key = client.post("/api/v1/kiosks/pair", json={"code": code}).json()["device_key"]
        client.post("/api/v1/kiosks/pair", json={"code": code})  # used: refused
        client.post("/api/v1/responses", json=answer(), headers=bearer(device_key))
        client.post("/api/v1/responses", json=answer(), headers=bearer(seeded.kiosk_key))
        client.post("/api/v1/contacts", json={}, headers=bearer(seeded.integration_key))
        client.get("/metrics", headers=bearer(METRICS_TOKEN))
        callback = receipt_secret(SECRET_KEY)
        client.post(f"/api/v1/sms/inbound/46elks?secret={callback}", data={"message": "hei"})
        client.post(f"/a/{LINK_TOKEN}", data={"rating": "good"})
        # Failures are logged with their traceback: still no key or link token in them.
        services = client.app.state.services
        services.keys.verify = services.invitations.view = _broken(RuntimeError("boom"))
        assert client.get("/api/v1/stats/summary", headers=bearer(device_key)).status_code == 500
        assert client.post(f"/a/{LINK_TOKEN}", data={"rating": "good"}).status_code == 500

    secrets = [PASSWORD, WRONG_PASSWORD, SECRET_KEY, METRICS_TOKEN, callback, LINK_TOKEN]
    secrets += [code, code.replace("-", ""), device_key, seeded.kiosk_key, seeded.integration_key]
    # The test client's own request log (httpx, testserver.local) is not Kaiku's log.
    logged = "\n".join(
        f"{r.getMessage()}\n{r.exc_text or ''}"
        for r in records
        if not (r.name.startswith("httpx") and "testserver.local" in r.getMessage())
    )
    assert "unhandled error" in logged, "nothing was logged: the test would prove nothing"
    assert [s for s in secrets if s in logged] == []


def test_settings_never_show_their_secrets() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://kaiku:db-password-123@db.example/kaiku",
        secret_key=SECRET_KEY,
        metrics_token=METRICS_TOKEN,
        sms_46elks_password="elks-password-123",
        smtp_password="smtp-password-123",
        panel_keys="fernet-panel-key-123",
    )
    shown = repr(settings)
    secrets = [SECRET_KEY, METRICS_TOKEN, "db-password-123", "elks-password-123"]
    secrets += ["smtp-password-123", "fernet-panel-key-123"]
    assert [s for s in secrets if s in shown] == []


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (RuntimeError("SELECT password FROM staff_users WHERE name = 'aino'"), 500),
        (IntegrityError("INSERT INTO responses (comment) VALUES (?)", ("hetu",), Exception()), 500),
        (OperationalError("SELECT 1 FROM api_keys", {}, Exception("connection refused")), 503),
    ],
)
def test_error_bodies_carry_no_stack_trace_sql_or_exception_text(
    settings: Settings, error: Exception, status: int
) -> None:
    with client_with(settings) as client:
        seeded = session_runner(client)(seed)

        client.app.state.services.catalog.get = _broken(error)
        reply = client.post("/api/v1/responses", json=answer(), headers=bearer(seeded.kiosk_key))

    assert reply.status_code == status
    assert reply.headers["content-type"] == "application/problem+json"
    assert set(reply.json()) <= {"type", "title", "status", "detail"}
    for leak in ("Traceback", ".py", "SELECT", "INSERT", "password", "hetu", "refused"):
        assert leak not in reply.text, leak
