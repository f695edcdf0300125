"""API keys: shown once, stored hashed, named, revocable, last use recorded.

Keys are long random tokens, so a plain SHA-256 digest is enough at rest (there is no
dictionary to attack); lookups stay a single indexed equality.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import math
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.auth.models import ApiKey
from server.auth.roles import Principal, Role

KEY_PREFIXES = {
    Role.KIOSK: "kk",
    Role.INTEGRATION: "ki",
    Role.METRICS: "km",
    Role.MANAGER: "kmg",
}
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
REVOCATION_CLOCK_MARGIN = dt.timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(role: Role) -> str:
    return f"kaiku_{KEY_PREFIXES[role]}_{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class CreatedKey:
    id: int
    name: str
    role: Role
    secret: str


async def create_key(
    session: AsyncSession, name: str, role: Role, kiosk_id: int | None = None
) -> CreatedKey:
    """Create a key; the caller commits and shows ``secret`` exactly once."""
    if role not in KEY_PREFIXES:
        raise ValueError(f"role {role} does not use API keys")
    if (role is Role.KIOSK) != (kiosk_id is not None):
        raise ValueError("a kiosk key needs a kiosk, and only kiosk keys have one")
    secret = new_key(role)
    row = ApiKey(
        name=name,
        role=role.value,
        prefix=secret[:14],
        key_hash=hash_secret(secret),
        kiosk_id=kiosk_id,
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(row)
    await session.flush()
    return CreatedKey(row.id, name, role, secret)


async def revoke_key(session: AsyncSession, key_id: int) -> bool:
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_kiosk_keys(session: AsyncSession, kiosk_id: int) -> int:
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.kiosk_id == kiosk_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


class KeyCheck:
    """Outcome of presenting a key: a principal, or why not."""

    def __init__(self, principal: Principal | None, revoked: bool = False) -> None:
        self.principal = principal
        self.revoked = revoked


class KeyVerifier:
    """Verify bearer keys with a per-process cache that revocations invalidate.

    A key is looked up once; after that the hot ingest path pays no query for it. Every
    ``ttl`` seconds one query for keys revoked since the last look evicts them, so a
    revocation reaches every process within ``ttl`` however many keys are cached, and the
    same pass records last use (at most once a minute per key) in one UPDATE.
    """

    def __init__(self, engine: AsyncEngine, ttl: float) -> None:
        self._engine = engine
        self._ttl = ttl
        self._cache: dict[str, KeyCheck] = {}
        self._used: dict[int, float] = {}
        self._touched: dict[int, float] = {}
        self._polled_at = time.monotonic()
        self._revoked_since = dt.datetime.now(dt.UTC)
        self._lock = asyncio.Lock()

    async def verify(self, secret: str) -> KeyCheck:
        if time.monotonic() - self._polled_at >= self._ttl:
            await self._poll()
        digest = hash_secret(secret)
        check = self._cache.get(digest)
        if check is None:
            check = await self._look_up(digest)
        if check.principal is not None and check.principal.key_id is not None:
            self._used[check.principal.key_id] = time.monotonic()
        return check

    async def _look_up(self, digest: str) -> KeyCheck:
        async with AsyncSession(self._engine) as session:
            row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
            if row is None:
                check = KeyCheck(None)
            elif row.revoked_at is not None:
                check = KeyCheck(None, revoked=True)
            else:
                principal = Principal(
                    roles=frozenset({Role(row.role)}),
                    key_id=row.id,
                    kiosk_id=row.kiosk_id,
                    name=row.name,
                )
                check = KeyCheck(principal)
                await self._touch(session, row.id, row.last_used_at)
        if len(self._cache) > 10_000:  # unknown keys are cached too: bound the memory
            self._cache.clear()
        self._cache[digest] = check
        return check

    async def _poll(self) -> None:
        """Evict revoked keys, forget unknown ones and record last use, in one transaction."""
        async with self._lock:
            now = time.monotonic()
            if now - self._polled_at < self._ttl:
                return  # another request polled while this one waited
            wall = dt.datetime.now(dt.UTC)
            # Reach back over clock differences between processes that revoke keys.
            since = self._revoked_since - REVOCATION_CLOCK_MARGIN
            due = [
                key_id
                for key_id, used in self._used.items()
                if now - self._touched.get(key_id, -math.inf) >= LAST_USED_RESOLUTION.seconds
            ]
            async with self._engine.begin() as conn:
                revoked = set(
                    await conn.scalars(select(ApiKey.key_hash).where(ApiKey.revoked_at >= since))
                )
                if due:
                    await conn.execute(
                        update(ApiKey).where(ApiKey.id.in_(due)).values(last_used_at=wall)
                    )
            self._cache = {
                digest: check
                for digest, check in self._cache.items()
                if check.principal is not None and digest not in revoked
            }
            self._touched.update(dict.fromkeys(due, now))
            self._used.clear()
            self._revoked_since = wall
            self._polled_at = now

    async def _touch(
        self, session: AsyncSession, key_id: int, last_used_at: dt.datetime | None
    ) -> None:
        """Record a key's first use in this process at once (later uses go with the poll)."""
        now = dt.datetime.now(dt.UTC)
        if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
            await session.execute(
                update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now)
            )
            await session.commit()
        self._touched[key_id] = time.monotonic()

    def forget(self) -> None:
        self._cache.clear()
