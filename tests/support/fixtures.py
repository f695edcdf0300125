"""Seed data shared by tests: the example catalog and a kiosk key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.keys import create_key
from server.auth.roles import Role
from server.catalog.importer import import_catalog, parse_catalog
from server.catalog.models import Kiosk

EXAMPLE_CATALOG = Path(__file__).resolve().parents[2] / "ops" / "catalog.example.toml"
KIOSK = "vaasa-aula-1"


@dataclass(frozen=True)
class Seeded:
    kiosk_code: str
    kiosk_key: str
    integration_key: str
    metrics_key: str


async def seed(session: AsyncSession) -> Seeded:
    await import_catalog(session, parse_catalog(EXAMPLE_CATALOG))
    kiosk = await session.scalar(select(Kiosk).where(Kiosk.code == KIOSK))
    assert kiosk is not None
    kiosk_key = await create_key(session, "test kiosk", Role.KIOSK, kiosk_id=kiosk.id)
    integration = await create_key(session, "test integration", Role.INTEGRATION)
    metrics = await create_key(session, "test scraper", Role.METRICS)
    await session.commit()
    return Seeded(KIOSK, kiosk_key.secret, integration.secret, metrics.secret)
