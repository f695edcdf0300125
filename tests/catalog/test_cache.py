"""The per-process catalog copy: served while it is reloaded, never stale past a reload."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from server.catalog.lookup import CatalogCache, CatalogSnapshot
from server.catalog.models import Unit
from server.database import create_engine
from server.settings import Settings

TTL = 0.2


async def _add_unit(engine: AsyncEngine, code: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(Unit).values(code=code, names={"fi": code}))


async def _reloaded(
    cache: CatalogCache, engine: AsyncEngine, old: CatalogSnapshot
) -> CatalogSnapshot:
    deadline = time.monotonic() + 10
    while (snapshot := await cache.get(engine)) is old:
        assert time.monotonic() < deadline, "the copy was never reloaded"
        await asyncio.sleep(0.01)
    return snapshot


def test_an_old_copy_is_served_at_once_while_one_reload_runs(settings: Settings) -> None:
    async def main() -> None:
        engine = create_engine(settings)
        try:
            cache = CatalogCache(ttl=TTL)
            first = await cache.get(engine)
            await _add_unit(engine, "uusi-yksikko")
            assert await cache.get(engine) is first  # within the ttl: the copy
            await asyncio.sleep(TTL * 1.5)
            # Past the ttl, callers still get the copy without waiting for the database...
            served = await asyncio.gather(*(cache.get(engine) for _ in range(20)))
            assert all(snapshot is first for snapshot in served)
            # ...and the reload that started brings the change.
            fresh = await _reloaded(cache, engine, first)
            assert "uusi-yksikko" in fresh.units.values()
            assert "uusi-yksikko" not in first.units.values()
        finally:
            await engine.dispose()

    asyncio.run(main())


def test_without_a_copy_or_a_ttl_a_caller_waits_for_the_current_catalog(
    settings: Settings,
) -> None:
    async def main() -> None:
        engine = create_engine(settings)
        try:
            uncached = CatalogCache(ttl=0)
            await uncached.get(engine)
            await _add_unit(engine, "heti-nakyva")
            assert "heti-nakyva" in (await uncached.get(engine)).units.values()

            cache = CatalogCache(ttl=60)
            await cache.get(engine)
            await _add_unit(engine, "mitatoity")
            cache.invalidate()
            assert "mitatoity" in (await cache.get(engine)).units.values()
        finally:
            await engine.dispose()

    asyncio.run(main())
