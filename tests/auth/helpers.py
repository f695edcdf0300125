"""Staff users and signed-in test clients."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.models import AuditEvent
from server.auth.roles import Role
from server.auth.users import create_user

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_user(run: Any, username: str, *roles: Role) -> int:
    async def add(session: AsyncSession) -> int:
        return (await create_user(session, username, PASSWORD, roles)).id

    return int(run(add))


def csrf_token(client: TestClient[Litestar], url: str = "/staff/sign-in") -> str:
    """The token a real browser would find in the form on ``url``."""
    page = client.get(url)
    match = _TOKEN.search(page.text)
    assert match, page.text
    return match.group(1)


def sign_in(client: TestClient[Litestar], username: str, password: str = PASSWORD) -> Any:
    token = csrf_token(client)
    return client.post(
        "/staff/sign-in",
        data={"csrf_token": token, "username": username, "password": password},
        follow_redirects=False,
    )


def signed_in(client: TestClient[Litestar], run: Any, role: Role, username: str = "") -> int:
    """Create a user with ``role`` and sign ``client`` in as them; returns the user id."""
    user_id = add_user(run, username or f"{role.value}-user", role)
    assert sign_in(client, username or f"{role.value}-user").status_code == 303
    return user_id


def audit_events(run: Any, action: str | None = None) -> list[AuditEvent]:
    async def fetch(session: AsyncSession) -> list[AuditEvent]:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return list(await session.scalars(query))

    return list(run(fetch))
