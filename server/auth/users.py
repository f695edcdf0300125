"""Staff accounts with argon2id password hashes.

Verification always runs one argon2 check, against a dummy hash when the account does
not exist or is disabled, so response time does not reveal which usernames exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.models import User
from server.auth.roles import STAFF_ROLES, Role

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher(type=Type.ID)


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return hash_password("kaiku-dummy-password-for-timing")


def format_roles(roles: Iterable[Role]) -> str:
    return ",".join(sorted({Role(r).value for r in roles}))


def parse_roles(text: str) -> frozenset[Role]:
    """Staff roles stored for a user; anything else in the column is ignored, never granted."""
    return frozenset(Role(r) for r in text.split(",") if r in {s.value for s in STAFF_ROLES})


async def create_user(
    session: AsyncSession,
    username: str,
    password: str,
    roles: Iterable[Role],
    display_name: str = "",
) -> User:
    """Add a user; the caller commits. Raises :class:`UserError` on bad input."""
    username = username.strip()
    wanted = frozenset(Role(r) for r in roles)
    if not username or len(username) > 64:
        raise UserError("the username must be 1–64 characters")
    if not wanted or not wanted <= STAFF_ROLES:
        raise UserError("give at least one role among admin, manager, organiser")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if await session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        roles=format_roles(wanted),
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same work either way)."""
    user = await session.scalar(select(User).where(User.username == username.strip()))
    if user is None or user.disabled_at is not None:
        verify_password(_dummy_hash(), password)
        return None
    return user if verify_password(user.password_hash, password) else None
