"""Server-side staff sessions.

The browser holds a random 256-bit token in the ``kaiku_session`` cookie; the table
keeps only its SHA-256, so a database leak yields no usable session. Sessions end on
sign-out, after ``session_idle_minutes`` without use, or ``session_absolute_hours``
after sign-in, whichever comes first.
"""

from __future__ import annotations

import datetime as dt
import secrets

from litestar.datastructures import Cookie
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.auth.keys import hash_secret
from server.auth.models import StaffSession, User
from server.auth.roles import Principal
from server.auth.users import parse_roles
from server.settings import Settings

SESSION_COOKIE = "kaiku_session"
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)


def is_secure(settings: Settings) -> bool:
    """Cookies get ``Secure`` when Kaiku is published over TLS."""
    return settings.public_url.startswith("https")


def session_cookie(token: str, settings: Settings) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_secure(settings),
    )


def clear_session_cookie(settings: Settings) -> Cookie:
    cookie = session_cookie("", settings)
    return Cookie(**{**cookie.__dict__, "max_age": 0})


async def start_session(session: AsyncSession, user_id: int) -> str:
    """Create a session and return the token for the cookie; the caller commits."""
    token = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    session.add(
        StaffSession(id=hash_secret(token), user_id=user_id, created_at=now, last_seen_at=now)
    )
    await session.flush()
    return token


async def end_session(session: AsyncSession, token: str) -> int | None:
    """Revoke the session holding ``token``; returns its user id if it was live."""
    result = await session.execute(
        update(StaffSession)
        .where(StaffSession.id == hash_secret(token), StaffSession.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
        .returning(StaffSession.user_id)
    )
    return result.scalar_one_or_none()


async def end_all_sessions(session: AsyncSession, user_id: int) -> int:
    """ "Sign out everywhere": revoke every live session of the user."""
    result = await session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _expired(row: StaffSession, settings: Settings, now: dt.datetime) -> bool:
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    absolute = dt.timedelta(hours=settings.session_absolute_hours)
    return now - row.last_seen_at > idle or now - row.created_at > absolute


async def principal_for_token(
    engine: AsyncEngine, settings: Settings, token: str
) -> Principal | None:
    """The signed-in staff member for a cookie token, or None if the session is not live."""
    now = dt.datetime.now(dt.UTC)
    async with AsyncSession(engine) as session:
        found = (
            await session.execute(
                select(StaffSession, User)
                .join(User, User.id == StaffSession.user_id)
                .where(StaffSession.id == hash_secret(token))
            )
        ).one_or_none()
        if found is None:
            return None
        row, user = found
        if (
            row.revoked_at is not None
            or user.disabled_at is not None
            or _expired(row, settings, now)
        ):
            return None
        principal = Principal(
            roles=parse_roles(user.roles), user_id=user.id, name=user.display_name
        )
        if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
            await session.execute(
                update(StaffSession).where(StaffSession.id == row.id).values(last_seen_at=now)
            )
            await session.commit()
    return principal
