"""Who answered on a panel's paths: the yardstick for how representative a pool is.

Everything covers the same window, the last :data:`WINDOW` (the pool itself is at most
``KAIKU_VOLUNTEER_RETENTION_MONTHS`` old, so years-old answers would only blur it).
Sentiment and channel come from the hourly roll-ups through the statistics' own query.
The roll-ups have no language, and this must not widen them (every ingest would pay for
it), so language is one grouped query on ``responses`` bounded by unit, paths and window:
its cost follows the answers of those paths in a year, it runs only when an organiser
opens a panel (never for ``/metrics``) and returns one row per language.

Every cell below the small-cell threshold is suppressed, with complementary suppression,
like every other staff-facing number.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.feedback.models import Response
from server.feedback.stats_queries import StatsFilter, grouped_counts
from server.panels.context import sentiment_of
from server.panels.models import Panel
from server.privacy.suppression import suppress_flat

WINDOW = dt.timedelta(days=365)
WINDOW_LABEL = "last 12 months"
Mix = dict[str, dict[str, int | None]]


def window_start(now: dt.datetime) -> dt.datetime:
    """On the hour, as roll-up buckets are."""
    return (now - WINDOW).astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


async def _sentiment_and_channel(
    session: AsyncSession, panel: Panel, start: dt.datetime
) -> tuple[Counter[str], Counter[str]]:
    rows = await grouped_counts(
        await session.connection(),
        StatsFilter(unit_id=panel.unit_id, start=start),
        ("path_id", "channel"),
    )
    sentiments: Counter[str] = Counter()
    channels: Counter[str] = Counter()
    for row in rows:
        if panel.path_ids and row.path_id not in panel.path_ids:
            continue
        sentiments[sentiment_of(row.option) or "not_known"] += int(row.count)
        channels[row.channel] += int(row.count)
    return sentiments, channels


async def _languages(session: AsyncSession, panel: Panel, start: dt.datetime) -> Counter[str]:
    """One grouped query. ``received_at`` (indexed) bounds the scan; ``answered_at``
    decides, as it does for the roll-up's hour. An answer is never received before it
    is given, beyond the ingest's clock-skew allowance, hence the day of slack."""
    query = (
        select(Response.language, func.count())
        .where(
            Response.unit_id == panel.unit_id,
            Response.received_at >= start - dt.timedelta(days=1),
            Response.answered_at >= start,
            Response.misuse.is_(False),
        )
        .group_by(Response.language)
    )
    if panel.path_ids:
        query = query.where(Response.path_id.in_(panel.path_ids))
    return Counter({lang: int(n) for lang, n in (await session.execute(query)).all()})


async def mix(session: AsyncSession, panel: Panel, threshold: int, now: dt.datetime) -> Mix:
    """Sentiment, language and channel of the answers on the panel's paths, suppressed."""
    start = window_start(now)
    sentiments, channels = await _sentiment_and_channel(session, panel, start)
    languages = await _languages(session, panel, start)
    return {
        "sentiment": suppress_flat(dict(sentiments), threshold),
        "language": suppress_flat(dict(languages), threshold),
        "channel": suppress_flat(dict(channels), threshold),
    }
