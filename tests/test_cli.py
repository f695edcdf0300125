"""The ``kaiku`` command as an operator uses it, against a fresh database of the test backend."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from server.app import create_app
from server.auth.keys import create_key
from server.auth.models import AuditEvent
from server.auth.roles import Role
from server.cli import main
from server.migrations_runner import current_revision, head_revision
from server.settings import Settings
from tests.support.databases import backend, create_database, drop_database
from tests.support.fixtures import EXAMPLE_CATALOG

pytestmark = pytest.mark.db
PUBLIC_URL = "http://kaiku.test:8000"
T = TypeVar("T")


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh, unmigrated database: the CLI is what sets it up."""
    url = create_database(backend(), migrate=False)
    yield url
    drop_database(url)


@pytest.fixture
def kaiku(database_url: str) -> Any:
    """``kaiku(*args)`` runs the command with the environment pointing at the database."""
    env = {"KAIKU_ENV": "test", "KAIKU_DATABASE_URL": database_url, "KAIKU_PUBLIC_URL": PUBLIC_URL}

    def invoke(*args: str, ok: bool = True) -> Result:
        result = CliRunner().invoke(main, list(args), env=env)
        if ok:
            assert result.exit_code == 0, result.output + repr(result.exception)
        return result

    return invoke


def on_database(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed session on its own engine."""

    async def main() -> T:
        engine = create_async_engine(url)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(main())


def revision_of(url: str) -> str | None:
    async def read(session: AsyncSession) -> str | None:
        return await current_revision(await session.connection())

    return on_database(url, read)


def test_db_upgrade_migrates_to_head_and_can_run_again(kaiku: Any, database_url: str) -> None:
    assert revision_of(database_url) is None
    assert kaiku("db", "upgrade").stdout == "database at head\n"
    assert revision_of(database_url) == head_revision()
    kaiku("db", "upgrade")
    assert revision_of(database_url) == head_revision()


def test_catalog_import_is_idempotent(kaiku: Any) -> None:
    first = kaiku("catalog", "import", str(EXAMPLE_CATALOG))
    second = kaiku("catalog", "import", str(EXAMPLE_CATALOG))

    assert re.fullmatch(r"created \d+, updated 0\n", first.stdout)
    assert second.stdout == "catalog unchanged\n"


def test_catalog_import_of_a_bad_file_names_the_file_and_the_problem(
    kaiku: Any, tmp_path: Any
) -> None:
    bad = tmp_path / "catalog.toml"
    bad.write_text("schema = 1\n[organisation\n", encoding="utf-8")
    result = kaiku("catalog", "import", str(bad), ok=False)
    assert result.exit_code == 1
    assert str(bad) in result.stderr
    assert "not valid TOML" in result.stderr


@pytest.mark.parametrize("role", ["integration", "metrics", "manager"])
def test_keys_create_prints_the_secret_once(kaiku: Any, role: str) -> None:
    created = kaiku("keys", "create", "--name", "x", "--role", role)
    assert re.fullmatch(rf"key \d+ \({role}\) x: kaiku_\S+\n", created.stdout)
    assert "not shown again" in created.stderr


def test_keys_are_listed_without_their_secret_and_can_be_revoked(
    kaiku: Any, database_url: str
) -> None:
    kaiku("db", "upgrade")
    created = on_database(database_url, lambda session: create_key(session, "x", Role.INTEGRATION))
    key_id, secret = str(created.id), created.secret

    listed = kaiku("keys", "list").stdout
    assert secret not in listed
    assert secret[8:] not in listed, "not even most of the secret"
    assert re.search(rf"^{key_id}\tintegration\tactive\t.*\tx$", listed, re.MULTILINE), listed

    assert kaiku("keys", "revoke", key_id).stdout == f"key {key_id} revoked\n"
    assert f"{key_id}\tintegration\trevoked" in kaiku("keys", "list").stdout
    again = kaiku("keys", "revoke", key_id, ok=False)
    assert again.exit_code == 1
    assert f"no active key {key_id}" in again.stderr


def test_keys_create_refuses_roles_that_do_not_use_keys(kaiku: Any) -> None:
    result = kaiku("keys", "create", "--name", "x", "--role", "kiosk", ok=False)
    assert result.exit_code == 2
    assert "--role" in result.stderr


def test_kiosks_pair_prints_a_code_and_url_that_enrol_a_kiosk(
    kaiku: Any, database_url: str
) -> None:
    kaiku("catalog", "import", str(EXAMPLE_CATALOG))
    lines = kaiku("kiosks", "pair", "vaasa-aula-1").stdout.splitlines()

    code_line = re.fullmatch(r"pairing code (\S+)", lines[0])
    assert code_line, lines
    code = code_line.group(1)
    assert lines[1] == f"{PUBLIC_URL}/k/vaasa-aula-1?pair={code}"

    app = create_app(Settings(env="test", database_url=database_url, auto_migrate=False))
    with TestClient(app) as client:
        paired = client.post("/api/v1/kiosks/pair", json={"code": code})
    assert paired.status_code == 200, paired.text
    assert paired.json()["kiosk"] == "vaasa-aula-1"


def test_kiosks_pair_for_an_unknown_kiosk_says_so(kaiku: Any) -> None:
    result = kaiku("kiosks", "pair", "ei-ole", ok=False)
    assert result.exit_code == 1
    assert "no kiosk 'ei-ole'" in result.stderr


def test_a_bad_setting_is_reported_without_a_traceback(kaiku: Any, database_url: str) -> None:
    result = CliRunner().invoke(
        main, ["db", "upgrade"], env={"KAIKU_DATABASE_URL": database_url, "KAIKU_DEBUG": "maybe"}
    )
    assert result.exit_code == 1
    assert "KAIKU_DEBUG must be true or false (got 'maybe')" in result.stderr
    assert "Traceback" not in result.output


def test_key_catalog_and_pairing_changes_are_audited_without_secrets(
    kaiku: Any, database_url: str
) -> None:
    kaiku("catalog", "import", str(EXAMPLE_CATALOG))
    created = kaiku("keys", "create", "--name", "grafana", "--role", "manager").stdout
    key_id, secret = re.findall(r"key (\d+) .*: (\S+)", created)[0]
    kaiku("keys", "revoke", key_id)
    code = kaiku("kiosks", "pair", "vaasa-aula-1").stdout.split()[2]

    async def events(session: AsyncSession) -> list[Any]:
        return list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))

    logged = on_database(database_url, events)
    assert [(e.actor, e.action, e.subject) for e in logged] == [
        ("cli", "catalog.import", f"catalog:{EXAMPLE_CATALOG.name}"),
        ("cli", "key.create", f"key:{key_id}"),
        ("cli", "key.revoke", f"key:{key_id}"),
        ("cli", "kiosk.pairing-code", "kiosk:vaasa-aula-1"),
    ]
    assert "unit vaasa-aikuissosiaalityo" in logged[0].detail["created"]
    assert logged[1].detail == {"role": "manager", "name": "grafana"}
    for secret_value in (secret, code, code.replace("-", "")):
        assert all(secret_value not in str(e.detail) for e in logged)
