"""Retention: what the feedback domain keeps only for a while.

Raw responses: old raw rows go, the hourly roll-ups (and so statistics) stay. Retention
must outlast the window in which a tablet may still resend an answer (the ingest API
refuses answers older than a year), or a late retry could be stored again.

Phone hashes: a number's keyed hash is kept only while it has a job. Quarantine rows go
when their period is over, an invitation's hash (and the request fingerprint made from
it) when its link is over. The do-not-contact list stays: it is the one place that must
remember a number for good.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from server.feedback import quarantine
from server.feedback.ingest import MAX_AGE
from server.feedback.invitations import erase_spent_phone_hashes
from server.feedback.models import Response
from server.settings import Settings

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


@dataclass(frozen=True)
class PhoneHashesPurged:
    quarantine: int  # numbers whose quarantine period was over
    invitations: int  # invitations whose link was over

    @property
    def total(self) -> int:
        return self.quarantine + self.invitations


async def purge_phone_hashes(
    engine: AsyncEngine, settings: Settings, now: dt.datetime, *, dry_run: bool = False
) -> PhoneHashesPurged:
    """Erase every keyed phone hash that has served its purpose (``dry_run``: only count)."""
    period = dt.timedelta(days=settings.sms_quarantine_days)
    link_ttl = dt.timedelta(days=settings.invitation_ttl_days)
    async with engine.begin() as conn:
        return PhoneHashesPurged(
            quarantine=await quarantine.purge(conn, now, period, dry_run=dry_run),
            invitations=await erase_spent_phone_hashes(conn, now, link_ttl, dry_run=dry_run),
        )
