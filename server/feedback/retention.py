"""Raw-response retention: old raw rows go, the hourly roll-ups (and so statistics) stay.

Retention must outlast the window in which a tablet may still resend an answer (the
ingest API refuses answers older than a year), or a late retry could be stored again.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from server.feedback.ingest import MAX_AGE
from server.feedback.models import Response

MIN_RETENTION = MAX_AGE + dt.timedelta(days=31)


def cutoff(now: dt.datetime, months: int) -> dt.datetime:
    return now - dt.timedelta(days=months * 31)


async def purge_raw_responses(engine: AsyncEngine, months: int, now: dt.datetime) -> int:
    """Delete raw responses received before the retention cutoff; returns how many.

    ``received_at`` is indexed and never earlier than ``answered_at``, so a row received
    before the cutoff was also answered before it: the daily delete is an index range.
    """
    if months <= 0:
        return 0
    limit = cutoff(now, months)
    if now - limit < MIN_RETENTION:
        raise ValueError("raw retention shorter than the resend window would break exactly-once")
    async with engine.begin() as conn:
        result = await conn.execute(delete(Response).where(Response.received_at < limit))
        return int(result.rowcount)
