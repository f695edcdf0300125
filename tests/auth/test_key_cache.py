"""The per-process key cache: no query for a known key, revocations seen within ``ttl``."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.auth.keys import CreatedKey, KeyVerifier, create_key, hash_secret, revoke_key
from server.auth.models import ApiKey
from server.auth.roles import Role
from server.database import create_engine
from server.settings import Settings

TTL = 0.2


async def _new_key(engine: AsyncEngine) -> CreatedKey:
    async with AsyncSession(engine) as session:
        created = await create_key(session, "scraper", Role.METRICS)
        await session.commit()
    return created


def test_cached_keys_cost_no_query_and_a_revocation_elsewhere_is_seen_after_ttl(
    settings: Settings,
) -> None:
    async def main() -> None:
        engine = create_engine(settings)
        statements: list[str] = []
        event.listen(
            engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2])
        )
        try:
            key = await _new_key(engine)
            cached = KeyVerifier(engine, ttl=3600)
            polling = KeyVerifier(engine, ttl=TTL)
            assert (await cached.verify(key.secret)).principal is not None
            assert (await polling.verify(key.secret)).principal is not None
            statements.clear()
            for _ in range(50):
                assert (await cached.verify(key.secret)).principal is not None
            assert statements == [], "a cached key was looked up again"

            # Another process (an admin's) revokes it; this verifier's cache is not told.
            async with AsyncSession(engine) as session:
                assert await revoke_key(session, key.id)
                await session.commit()
            await asyncio.sleep(TTL * 1.5)
            assert (await polling.verify(key.secret)).revoked

            async with AsyncSession(engine) as session:
                used = await session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key.id))
            assert used is not None
            assert dt.datetime.now(dt.UTC) - used < dt.timedelta(minutes=1)
        finally:
            await engine.dispose()

    asyncio.run(main())


def test_an_unknown_key_is_not_remembered_past_the_poll(settings: Settings) -> None:
    """A miss (e.g. a key created on another replica a moment later) is retried after ``ttl``."""

    async def main() -> None:
        engine = create_engine(settings)
        try:
            key = await _new_key(engine)
            hidden = update(ApiKey).where(ApiKey.id == key.id)
            async with AsyncSession(engine) as session:
                await session.execute(hidden.values(key_hash="0" * 64))
                await session.commit()
            verifier = KeyVerifier(engine, ttl=TTL)
            assert (await verifier.verify(key.secret)).principal is None
            async with AsyncSession(engine) as session:
                await session.execute(hidden.values(key_hash=hash_secret(key.secret)))
                await session.commit()
            await asyncio.sleep(TTL * 1.5)
            assert (await verifier.verify(key.secret)).principal is not None
        finally:
            await engine.dispose()

    asyncio.run(main())
