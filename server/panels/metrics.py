"""Panel recruitment figures for ``/metrics`` (names match ops/ rules and dashboards).

Member and pool counts (per panel, and per path of a panel) below the small-cell
threshold are omitted, not zeroed: a count of 1 or 2 could point at a person. Seats and
the first meeting time are the organiser's own settings and are always exported.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.catalog.lookup import CatalogSnapshot
from server.panels import service

HELSINKI = ZoneInfo("Europe/Helsinki")
LABELS = ["panel", "unit"]


def _meeting_timestamp(day: str) -> float:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), HELSINKI).timestamp()


async def panel_families(
    conn: AsyncConnection, catalog: CatalogSnapshot, threshold: int
) -> list[Metric]:
    seats = GaugeMetricFamily("kaiku_panel_seats", "Seats of a client panel.", labels=LABELS)
    members = GaugeMetricFamily(
        "kaiku_panel_members",
        "Panel members by invitation status; counts below the small-cell threshold omitted.",
        labels=[*LABELS, "status"],
    )
    pool = GaugeMetricFamily(
        "kaiku_panel_pool_volunteers",
        "Volunteers available for a panel (not yet invited); below the threshold omitted.",
        labels=LABELS,
    )
    first = GaugeMetricFamily(
        "kaiku_panel_first_meeting_timestamp_seconds",
        "Start of the day of a panel's first meeting (Unix time, Europe/Helsinki).",
        labels=LABELS,
    )
    by_path = GaugeMetricFamily(
        "kaiku_panel_path_volunteers",
        "Per path of a panel: volunteers in the pool (status pool) and members by invitation "
        "status; counts below the small-cell threshold omitted.",
        labels=[*LABELS, "path", "status"],
    )
    now = dt.datetime.now(dt.UTC)
    async with AsyncSession(bind=conn, expire_on_commit=False) as session:
        for panel in await service.all_panels(session):
            f = await service.figures(
                session, catalog, panel, now, threshold, with_respondents=False
            )
            labels = [f.panel, f.unit]
            seats.add_metric(labels, f.seats)
            for status in service.STATUSES:
                count = int(getattr(f, status))
                if count >= threshold:
                    members.add_metric([*labels, status], count)
            if f.pool >= threshold:
                pool.add_metric(labels, f.pool)
            if f.first_meeting:
                first.add_metric(labels, _meeting_timestamp(f.first_meeting))
            for p in f.paths:
                for status in ("pool", *service.STATUSES):
                    count = int(getattr(p, status))
                    if count >= threshold:
                        by_path.add_metric([*labels, p.path, status], count)
    return [seats, members, pool, first, by_path]
