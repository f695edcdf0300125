"""Demo data for ``kaiku serve --demo``: a staff user and a few weeks of plausible answers,
so the kiosk, statistics, overview and metrics have something to show on first start."""

from __future__ import annotations

import datetime as dt
import random
import secrets
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.auth.models import User
from server.auth.roles import STAFF_ROLES
from server.auth.users import create_user, hash_password
from server.catalog.lookup import CatalogCache
from server.feedback.ingest import IngestService, Origin
from server.feedback.models import Response
from server.feedback.scales import FFT_OPTIONS, NPS_OPTIONS
from server.feedback.schemas import ResponseIn
from server.settings import Settings

DEMO_USER = "demo"
# Skewed towards positive, as real FFT results are; negatives still visible per path.
FFT_WEIGHTS = (38, 30, 10, 8, 6, 8)
CHANNELS = (("kiosk", "in_person"), ("qr", "in_person"), ("sms", "video"), ("sms", "phone"))


async def ensure_demo_user(session: AsyncSession) -> str:
    """Create (or reset) the demo staff user with every staff role; returns its password."""
    password = secrets.token_urlsafe(12)
    existing = await session.scalar(select(User.id).where(User.username == DEMO_USER))
    if existing is None:
        await create_user(session, DEMO_USER, password, STAFF_ROLES, display_name="Demo")
    else:
        await session.execute(
            update(User).where(User.id == existing).values(password_hash=hash_password(password))
        )
    return password


async def seed_demo_answers(
    engine: AsyncEngine, settings: Settings, count: int = 2000, seed: int = 7
) -> int:
    """Store ``count`` answers over the last 8 weeks, once (nothing if answers exist)."""
    async with AsyncSession(engine) as session:
        if await session.scalar(select(func.count()).select_from(Response)):
            return 0
    catalog_cache = CatalogCache(ttl=0)
    catalog = await catalog_cache.get(engine)
    ingest = IngestService(engine, catalog_cache, settings)
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    paths = list(catalog.paths.values())
    now = dt.datetime.now(dt.UTC)
    stored = 0
    for _ in range(count // 100):
        batch: dict[Origin, list[ResponseIn]] = {}
        for _ in range(100):
            path = rng.choice(paths)
            steps = [s.code for s in path.steps.values() if s.active]
            channel, mode = rng.choice(CHANNELS)
            day = now - dt.timedelta(days=rng.randrange(56))
            at = day.replace(hour=rng.randrange(6, 15), minute=rng.randrange(60))
            options = NPS_OPTIONS if path.scale == "nps" else FFT_OPTIONS
            weights = None if path.scale == "nps" else FFT_WEIGHTS
            item = ResponseIn(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                path=path.code,
                step=rng.choice(steps) if steps else None,
                rating=rng.choices(options, weights=weights)[0],
                language=rng.choice(("fi", "fi", "fi", "sv", "en")),
                answered_at=min(at, now),
            )
            origin = Origin(unit_id=path.unit_id, channel=channel, contact_mode=mode)
            batch.setdefault(origin, []).append(item)
        for origin, items in batch.items():
            results = await ingest.ingest(origin, items)
            stored += sum(1 for r in results if r.status == "stored")
    return stored
