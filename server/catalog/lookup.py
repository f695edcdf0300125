"""An in-process, read-only view of the catalog for the hot paths (ingest, pages, metrics).

The catalog is small and changes rarely, so each process keeps a copy and re-reads it
after ``ttl`` seconds; a change made by another process shows up within that time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.background import OneAtATime
from server.catalog.models import Kiosk, Organisation, PathStep, ServicePath, Unit


@dataclass(frozen=True)
class StepInfo:
    id: int
    code: str
    names: Mapping[str, str]
    icon: str
    active: bool


@dataclass(frozen=True)
class PathInfo:
    id: int
    unit_id: int
    unit_code: str
    code: str
    names: Mapping[str, str]
    scale: str
    reasons: tuple[str, ...]
    comments: bool
    steps: Mapping[str, StepInfo]


@dataclass(frozen=True)
class KioskInfo:
    id: int
    unit_id: int
    unit_code: str
    code: str
    name: str
    services: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class CatalogSnapshot:
    organisation_names: Mapping[str, str] = field(default_factory=dict)
    sms_sender: str = "Kaiku"
    units: Mapping[int, str] = field(default_factory=dict)
    paths: Mapping[tuple[int, str], PathInfo] = field(default_factory=dict)
    paths_by_id: Mapping[int, PathInfo] = field(default_factory=dict)
    step_codes: Mapping[int, str] = field(default_factory=dict)
    kiosks: Mapping[int, KioskInfo] = field(default_factory=dict)
    kiosks_by_code: Mapping[str, KioskInfo] = field(default_factory=dict)

    def path(self, unit_id: int, code: str) -> PathInfo | None:
        return self.paths.get((unit_id, code))

    def unit_id(self, code: str) -> int | None:
        return next((uid for uid, ucode in self.units.items() if ucode == code), None)


async def load_snapshot(session: AsyncSession) -> CatalogSnapshot:
    org = await session.get(Organisation, 1)
    units = {u.id: u.code for u in await session.scalars(select(Unit))}
    steps_by_path: dict[int, dict[str, StepInfo]] = {}
    step_codes: dict[int, str] = {}
    for s in await session.scalars(select(PathStep).order_by(PathStep.position)):
        steps_by_path.setdefault(s.path_id, {})[s.code] = StepInfo(
            s.id, s.code, dict(s.names), s.icon, s.active
        )
        step_codes[s.id] = s.code
    paths: dict[tuple[int, str], PathInfo] = {}
    for p in await session.scalars(select(ServicePath).order_by(ServicePath.position)):
        paths[(p.unit_id, p.code)] = PathInfo(
            id=p.id,
            unit_id=p.unit_id,
            unit_code=units[p.unit_id],
            code=p.code,
            names=dict(p.names),
            scale=p.scale,
            reasons=tuple(p.reasons),
            comments=p.comments,
            steps=steps_by_path.get(p.id, {}),
        )
    # Columns, not ORM objects: a county has hundreds of kiosks and every process
    # reloads them each time the cache expires.
    kiosk_rows = await session.execute(
        select(Kiosk.id, Kiosk.unit_id, Kiosk.code, Kiosk.name, Kiosk.services)
    )
    kiosks = {
        kiosk_id: KioskInfo(kiosk_id, unit_id, units[unit_id], code, name, tuple(services))
        for kiosk_id, unit_id, code, name, services in kiosk_rows
    }
    return CatalogSnapshot(
        organisation_names=dict(org.names) if org else {},
        sms_sender=org.sms_sender if org else "Kaiku",
        units=units,
        paths=paths,
        paths_by_id={p.id: p for p in paths.values()},
        step_codes=step_codes,
        kiosks=kiosks,
        kiosks_by_code={k.code: k for k in kiosks.values()},
    )


class CatalogCache:
    """Per-process catalog copy, reloaded ``ttl`` seconds after the last load or on
    :meth:`invalidate`.

    A copy past its ``ttl`` is still served while one background task reloads it: making
    every request wait for the reload stalled all answers in flight every ``ttl`` seconds
    (with a thousand kiosks, the p99 of single answers). Only with no copy (first use,
    after :meth:`invalidate`, or ``ttl`` 0 as in tests) does a request wait for the load.
    If the reload fails (say, the database is down), the copy is served on.
    """

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._snapshot: CatalogSnapshot | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()
        self._engine: AsyncEngine | None = None
        self.reloads = OneAtATime("catalog reload", self._reload)

    def invalidate(self) -> None:
        self._snapshot = None

    async def get(self, engine: AsyncEngine) -> CatalogSnapshot:
        snapshot = self._snapshot
        if snapshot is not None and self._ttl > 0:
            if time.monotonic() - self._loaded_at >= self._ttl:
                self._engine = engine
                self.reloads.start()
            return snapshot
        async with self._lock:
            if self._snapshot is None or self._ttl <= 0:
                await self._load(engine)
            assert self._snapshot is not None
            return self._snapshot

    async def _load(self, engine: AsyncEngine) -> None:
        async with AsyncSession(engine) as session:
            self._snapshot = await load_snapshot(session)
        self._loaded_at = time.monotonic()

    async def _reload(self) -> None:
        assert self._engine is not None
        self._loaded_at = time.monotonic()  # after a failure too: retried after the ttl
        async with self._lock:
            await self._load(self._engine)
