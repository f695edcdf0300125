"""The per-application service container, built by ``create_app`` and torn down on exit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.auth.keys import KeyVerifier
from server.catalog.lookup import CatalogCache
from server.feedback.ingest import IngestService
from server.feedback.invitations import InvitationService
from server.feedback.retention import purge_phone_hashes, purge_raw_responses
from server.jobs import Job, Scheduler
from server.messaging.outbox import OutboxWorker, gateway_from_settings
from server.messaging.sms import SmsGateway
from server.metrics import BusinessCollector, HttpMetrics, MetricsSnapshot
from server.panels import jobs as panel_jobs
from server.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    catalog: CatalogCache
    keys: KeyVerifier
    ingest: IngestService
    metrics_snapshot: MetricsSnapshot
    business_metrics: BusinessCollector
    http_metrics: HttpMetrics
    invitations: InvitationService
    sms_gateway: SmsGateway
    outbox: OutboxWorker
    scheduler: Scheduler

    @classmethod
    def build(cls, settings: Settings, engine: AsyncEngine) -> Services:
        catalog = CatalogCache(ttl=settings.auth_cache_seconds)
        snapshot = MetricsSnapshot(
            engine, catalog, settings.metrics_refresh_seconds, settings.suppression_threshold
        )
        ingest = IngestService(engine, catalog, settings)
        gateway = gateway_from_settings(settings)
        return cls(
            settings=settings,
            engine=engine,
            catalog=catalog,
            keys=KeyVerifier(engine, ttl=settings.auth_cache_seconds),
            ingest=ingest,
            metrics_snapshot=snapshot,
            business_metrics=BusinessCollector(snapshot),
            http_metrics=HttpMetrics(),
            invitations=InvitationService(engine, catalog, settings, ingest),
            sms_gateway=gateway,
            outbox=OutboxWorker(
                engine,
                gateway,
                max_attempts=settings.sms_max_attempts,
                poll_seconds=settings.outbox_poll_seconds,
            ),
            scheduler=Scheduler(engine, scheduled_jobs(settings), settings.jobs_poll_seconds),
        )

    def session(self) -> AsyncSession:
        """A new ORM session; ``expire_on_commit=False`` so results stay usable after commit."""
        return AsyncSession(self.engine, expire_on_commit=False)


def scheduled_jobs(settings: Settings) -> list[Job]:
    """Periodic work; each job runs once per period across all processes."""

    async def purge_raw(engine: AsyncEngine) -> int:
        now = dt.datetime.now(dt.UTC)
        return await purge_raw_responses(engine, settings.raw_retention_months, now)

    async def purge_phone(engine: AsyncEngine) -> int:
        now = dt.datetime.now(dt.UTC)
        return (await purge_phone_hashes(engine, settings, now)).total

    async def panels_daily(engine: AsyncEngine) -> int:
        return await panel_jobs.daily(engine, settings.volunteer_retention_months)

    async def panel_reminders(engine: AsyncEngine) -> int:
        return await panel_jobs.remind(engine, settings, dt.datetime.now(dt.UTC))

    return [
        Job("raw-response-retention", dt.timedelta(days=1), purge_raw),
        Job("phone-hash-retention", dt.timedelta(days=1), purge_phone),
        Job("panel-retention", dt.timedelta(days=1), panels_daily),
        Job("panel-reminders", panel_jobs.REMINDER_PERIOD, panel_reminders),
    ]


ServicesDep = NamedDependency[Services]
"""Handler parameter type: ``services: ServicesDep`` injects the container."""
