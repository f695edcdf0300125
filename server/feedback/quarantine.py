"""The SMS quarantine: one invitation per number per period, decided atomically.

Looking for a recent invitation and then inserting one lets concurrent contacts for one
number all pass the check. Instead a contact claims its number's row in ``sms_quarantine``
with one conditional upsert, in the same transaction as the invitation it schedules::

    INSERT INTO sms_quarantine (phone_hash, invited_at) VALUES (:hash, :now)
    ON CONFLICT (phone_hash) DO UPDATE SET invited_at = excluded.invited_at
        WHERE sms_quarantine.invited_at <= :period_start
    RETURNING phone_hash

A row comes back only to the claimer that inserted it or found the last period over. On
PostgreSQL a concurrent claimer waits for the first one's transaction and then re-checks
the committed row; SQLite runs one writer at a time. A contact that fails after claiming
(a concurrent retry with the same idempotency key) rolls its claim back with it.

The row keeps when the period began rather than when it ends, so a changed
``KAIKU_SMS_QUARANTINE_DAYS`` applies to every number at once. Rows whose period is over
are deleted by the daily purge: the keyed hash is kept no longer than it is needed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.database import upsert_insert
from server.feedback.invitation_models import SmsQuarantine


def _over(now: dt.datetime, period: dt.timedelta) -> ColumnElement[bool]:
    return SmsQuarantine.invited_at <= now - period


async def claim(
    conn: AsyncConnection, phone_hash: str, now: dt.datetime, period: dt.timedelta
) -> bool:
    """True if this contact may invite the number now (and the period starts now)."""
    table = SmsQuarantine.__table__
    insert = upsert_insert(conn.dialect.name, table).values(phone_hash=phone_hash, invited_at=now)
    statement = insert.on_conflict_do_update(
        index_elements=["phone_hash"],
        set_={"invited_at": insert.excluded.invited_at},
        where=_over(now, period),
    ).returning(table.c.phone_hash)
    return (await conn.execute(statement)).first() is not None


async def purge(
    conn: AsyncConnection, now: dt.datetime, period: dt.timedelta, *, dry_run: bool = False
) -> int:
    """Delete (or with ``dry_run`` count) the rows whose period is over."""
    if dry_run:
        counted = await conn.scalar(
            select(func.count()).select_from(SmsQuarantine).where(_over(now, period))
        )
        return int(counted or 0)
    return int((await conn.execute(delete(SmsQuarantine).where(_over(now, period)))).rowcount)
