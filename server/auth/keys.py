"""API keys: shown once, stored hashed, named, revocable, last use recorded.

Keys are long random tokens, so a plain SHA-256 digest is enough at rest (there is no
dictionary to attack); lookups stay a single indexed equality.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
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
    """Verify bearer keys with a short per-process cache.

    The cache keeps the hot ingest path at zero extra queries; the price is that a
    revocation takes up to ``ttl`` seconds to reach every process.
    """

    def __init__(self, engine: AsyncEngine, ttl: float) -> None:
        self._engine = engine
        self._ttl = ttl
        self._cache: dict[str, tuple[float, KeyCheck, dt.datetime | None]] = {}
        self._lock = asyncio.Lock()

    async def verify(self, secret: str) -> KeyCheck:
        digest = hash_secret(secret)
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        async with AsyncSession(self._engine) as session:
            row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
            if row is None:
                check = KeyCheck(None)
                last_used = None
            elif row.revoked_at is not None:
                check = KeyCheck(None, revoked=True)
                last_used = None
            else:
                check = KeyCheck(
                    Principal(
                        roles=frozenset({Role(row.role)}),
                        key_id=row.id,
                        kiosk_id=row.kiosk_id,
                        name=row.name,
                    )
                )
                last_used = await self._touch(session, row)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now, check, last_used)
        return check

    async def _touch(self, session: AsyncSession, row: ApiKey) -> dt.datetime | None:
        """Record last use, at most once a minute per key (it is not an audit trail)."""
        now = dt.datetime.now(dt.UTC)
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            await session.execute(
                update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now)
            )
            await session.commit()
            return now
        return row.last_used_at

    def forget(self) -> None:
        self._cache.clear()
