"""Append-only audit log of security-relevant actions.

Only :func:`record` exists: the application has no way to change or remove an event,
so the log stays trustworthy evidence of who did what. Never pass secrets in ``detail``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.models import AuditEvent
from server.auth.roles import Principal


def actor_of(principal: Principal | None) -> str:
    """A stable text name for whoever acted: ``user:<id>``, ``key:<id>`` or ``anonymous``."""
    if principal is None:
        return "anonymous"
    if principal.user_id is not None:
        return f"user:{principal.user_id}"
    if principal.key_id is not None:
        return f"key:{principal.key_id}"
    return "anonymous"


async def record(
    session: AsyncSession,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one event to ``session``; it is written when the caller commits its own work."""
    session.add(
        AuditEvent(
            at=dt.datetime.now(dt.UTC),
            actor=actor,
            action=action,
            subject=subject,
            detail=dict(detail or {}),
        )
    )
    await session.flush()
