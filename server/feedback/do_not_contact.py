"""All SQL on ``do_not_contact``: numbers (as keyed hashes) that asked for no more texts.

A STOP reply or the answer page's opt-out lists a number; every sender of texts asks
here first, answer invitations and panel invitations alike, so "stop" means stop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.feedback.invitation_models import DoNotContact


async def listed(conn: AsyncConnection, hashes: Iterable[str]) -> set[str]:
    """Which of ``hashes`` are on the list."""
    wanted = sorted(set(hashes))
    if not wanted:
        return set()
    rows = await conn.scalars(
        select(DoNotContact.phone_hash).where(DoNotContact.phone_hash.in_(wanted))
    )
    return set(rows)


async def add(conn: AsyncConnection, hashed: str, source: str, now: dt.datetime) -> None:
    """List a number once; listing it again changes nothing."""
    if not await listed(conn, [hashed]):
        await conn.execute(
            insert(DoNotContact).values(phone_hash=hashed, source=source, added_at=now)
        )
