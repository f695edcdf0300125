"""Import a TOML catalog idempotently.

Importing the same file twice changes nothing; a changed file updates names and
settings and adds steps. Nothing is deleted: a step missing from the file is marked
inactive so old answers keep pointing at it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.models import Kiosk, Organisation, PathStep, ServicePath, Unit
from server.catalog.schemas import CatalogFile, UnitFile


class CatalogError(ValueError):
    """The catalog file is malformed or inconsistent; the message says where."""


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def summary(self) -> str:
        if not self.changed:
            return "catalog unchanged"
        return f"created {len(self.created)}, updated {len(self.updated)}"


def parse_catalog(data: bytes | str | Path) -> CatalogFile:
    """Parse and validate a catalog, including cross-references between sections."""
    if isinstance(data, Path):
        data = data.read_bytes()
    text = data.decode() if isinstance(data, bytes) else data
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"not valid TOML: {exc}") from None
    try:
        catalog = msgspec.convert(raw, CatalogFile)
    except msgspec.ValidationError as exc:
        raise CatalogError(str(exc)) from None
    _check_references(catalog)
    return catalog


def _check_references(catalog: CatalogFile) -> None:
    _require_unique("unit", (u.code for u in catalog.units))
    _require_unique("kiosk", (k.code for u in catalog.units for k in u.kiosks))
    for unit in catalog.units:
        _require_unique(f"path in unit {unit.code}", (p.code for p in unit.paths))
        steps = {p.code: {s.code for s in p.steps} for p in unit.paths}
        for path in unit.paths:
            _require_unique(f"step in {unit.code}/{path.code}", (s.code for s in path.steps))
        for kiosk in unit.kiosks:
            if not kiosk.services:
                raise CatalogError(f"kiosk {kiosk.code} serves no path")
            for service in kiosk.services:
                if service.path not in steps:
                    raise CatalogError(
                        f"kiosk {kiosk.code} names path {service.path!r}, "
                        f"which unit {unit.code} does not have"
                    )
                if service.step is not None and service.step not in steps[service.path]:
                    raise CatalogError(
                        f"kiosk {kiosk.code} names step {service.step!r}, "
                        f"which path {unit.code}/{service.path} does not have"
                    )


def _require_unique(what: str, codes: Iterable[str]) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise CatalogError(f"duplicate {what} code {code!r}")
        seen.add(code)


def _assign(row: Any, values: dict[str, Any], label: str, report: ImportReport) -> None:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        report.updated.append(label)


async def import_catalog(session: AsyncSession, catalog: CatalogFile) -> ImportReport:
    """Bring the database in line with ``catalog``; the caller commits."""
    report = ImportReport()
    org = await session.get(Organisation, 1)
    org_values = {
        "names": catalog.organisation.name.as_dict(),
        "sms_sender": catalog.organisation.sms_sender,
    }
    if org is None:
        session.add(Organisation(id=1, **org_values))
        report.created.append("organisation")
    else:
        _assign(org, org_values, "organisation", report)
    for unit_file in catalog.units:
        await _import_unit(session, unit_file, report)
    await session.flush()
    return report


async def _import_unit(session: AsyncSession, unit_file: UnitFile, report: ImportReport) -> None:
    unit = await session.scalar(select(Unit).where(Unit.code == unit_file.code))
    if unit is None:
        unit = Unit(code=unit_file.code, names=unit_file.name.as_dict())
        session.add(unit)
        await session.flush()
        report.created.append(f"unit {unit.code}")
    else:
        _assign(unit, {"names": unit_file.name.as_dict()}, f"unit {unit.code}", report)

    existing_paths = {
        p.code: p
        for p in await session.scalars(select(ServicePath).where(ServicePath.unit_id == unit.id))
    }
    for position, path_file in enumerate(unit_file.paths):
        values: dict[str, Any] = {
            "names": path_file.name.as_dict(),
            "scale": path_file.scale,
            "reasons": list(path_file.reasons),
            "comments": path_file.comments,
            "position": position,
        }
        label = f"path {unit.code}/{path_file.code}"
        path = existing_paths.get(path_file.code)
        if path is None:
            path = ServicePath(unit_id=unit.id, code=path_file.code, **values)
            session.add(path)
            await session.flush()
            report.created.append(label)
        else:
            _assign(path, values, label, report)
        await _import_steps(session, path, path_file.steps, label, report)

    existing_kiosks = {
        k.code: k for k in await session.scalars(select(Kiosk).where(Kiosk.unit_id == unit.id))
    }
    for kiosk_file in unit_file.kiosks:
        values = {
            "name": kiosk_file.name,
            "services": [msgspec.to_builtins(s) for s in kiosk_file.services],
        }
        kiosk = existing_kiosks.get(kiosk_file.code)
        if kiosk is None:
            kiosk = await session.scalar(select(Kiosk).where(Kiosk.code == kiosk_file.code))
            if kiosk is not None:
                raise CatalogError(f"kiosk {kiosk_file.code} belongs to another unit")
            session.add(Kiosk(unit_id=unit.id, code=kiosk_file.code, **values))
            report.created.append(f"kiosk {kiosk_file.code}")
        else:
            _assign(kiosk, values, f"kiosk {kiosk_file.code}", report)


async def _import_steps(
    session: AsyncSession,
    path: ServicePath,
    steps: list[Any],
    label: str,
    report: ImportReport,
) -> None:
    existing = {
        s.code: s
        for s in await session.scalars(select(PathStep).where(PathStep.path_id == path.id))
    }
    listed = set()
    for position, step_file in enumerate(steps):
        listed.add(step_file.code)
        values = {
            "names": step_file.name.as_dict(),
            "icon": step_file.icon,
            "position": position,
            "active": True,
        }
        step = existing.get(step_file.code)
        if step is None:
            session.add(PathStep(path_id=path.id, code=step_file.code, **values))
            report.created.append(f"step {label}/{step_file.code}")
        else:
            _assign(step, values, f"step {label}/{step_file.code}", report)
    for code, step in existing.items():
        if code not in listed and step.active:
            step.active = False
            report.updated.append(f"step {label}/{code} (retired)")
