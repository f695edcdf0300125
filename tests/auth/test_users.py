"""Staff accounts: argon2id hashes, ``kaiku users add``, role storage."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.models import User
from server.auth.roles import STAFF_ROLES, Role
from server.auth.users import format_roles, hash_password, parse_roles, verify_password
from server.cli import main
from server.settings import Settings
from tests.auth.helpers import PASSWORD, audit_events


def test_passwords_are_hashed_with_argon2id_and_verified() -> None:
    digest = hash_password(PASSWORD)

    assert digest.startswith("$argon2id$")
    assert PASSWORD not in digest
    assert verify_password(digest, PASSWORD)
    assert not verify_password(digest, PASSWORD + "x")
    assert not verify_password("not a hash", PASSWORD)


@given(st.sets(st.sampled_from(sorted(STAFF_ROLES)), min_size=1))
def test_roles_survive_storage(roles: set[Role]) -> None:
    assert parse_roles(format_roles(roles)) == roles


def test_stored_machine_roles_are_never_granted_to_staff() -> None:
    assert parse_roles("admin,kiosk,integration,metrics,bogus") == {Role.ADMIN}


def _users(run: Any) -> list[User]:
    async def fetch(session: AsyncSession) -> list[User]:
        return list(await session.scalars(select(User)))

    return list(run(fetch))


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("KAIKU_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KAIKU_ENV", "test")
    return CliRunner()


def test_users_add_stores_roles_and_an_argon2id_hash(cli: CliRunner, run: Any) -> None:
    result = cli.invoke(
        main,
        ["users", "add", "aino", "--role", "admin", "--role", "manager", "--password-stdin"],
        input=f"{PASSWORD}\n",
    )

    assert result.exit_code == 0, result.output
    [user] = _users(run)
    assert user.username == "aino"
    assert parse_roles(user.roles) == {Role.ADMIN, Role.MANAGER}
    assert user.password_hash.startswith("$argon2id$")
    [event] = audit_events(run, "user.add")
    assert (event.actor, event.subject) == ("cli", f"user:{user.id}")
    assert PASSWORD not in str(event.detail)


def test_users_add_prompts_twice_and_refuses_a_mismatch(cli: CliRunner, run: Any) -> None:
    mismatch = cli.invoke(
        main, ["users", "add", "aino", "--role", "manager"], input=f"{PASSWORD}\nother{PASSWORD}\n"
    )
    typed = cli.invoke(
        main, ["users", "add", "aino", "--role", "manager"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )

    assert "do not match" in mismatch.output
    assert typed.exit_code == 0, typed.output
    assert PASSWORD not in typed.output
    assert [u.username for u in _users(run)] == ["aino"]


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--role", "admin"], "short-pass1", "at least 12 characters"),
        (["--role", "kiosk"], PASSWORD, "Invalid value"),
        ([], PASSWORD, "Missing option"),
    ],
)
def test_users_add_rejects_bad_input(
    cli: CliRunner, run: Any, args: list[str], password: str, message: str
) -> None:
    result = cli.invoke(
        main, ["users", "add", "aino", *args, "--password-stdin"], input=f"{password}\n"
    )

    assert result.exit_code != 0
    assert message in result.output
    assert _users(run) == []


def test_users_add_refuses_a_taken_username(cli: CliRunner, run: Any) -> None:
    args = ["users", "add", "aino", "--role", "admin", "--password-stdin"]
    assert cli.invoke(main, args, input=f"{PASSWORD}\n").exit_code == 0

    again = cli.invoke(main, args, input=f"{PASSWORD}\n")

    assert again.exit_code != 0
    assert "already exists" in again.output
