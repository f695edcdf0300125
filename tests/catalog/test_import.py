"""Catalog import: idempotent, updates in place, never loses history, explains bad files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.importer import CatalogError, ImportReport, import_catalog, parse_catalog
from server.catalog.models import Kiosk, Organisation, PathStep, ServicePath, Unit
from tests.support.fixtures import EXAMPLE_CATALOG

CATALOG_TABLES = (Organisation, Unit, ServicePath, PathStep, Kiosk)
Step = tuple[str, str]  # (code, Finnish name)
BASE_STEPS: list[Step] = [
    ("hakemus", "Hakemus"),
    ("tapaaminen", "Tapaaminen"),
    ("paatos", "Päätös"),
]


def catalog_toml(
    steps: Sequence[Step] = BASE_STEPS,
    *,
    path_name: str = "Toimeentulotuki",
    kiosk_services: str = '{ path = "tukipolku" }',
    extra_unit: str = "",
) -> str:
    """A one-unit, one-path, one-kiosk catalog; tests vary one part at a time."""
    step_tables = "".join(
        f"""
    [[units.paths.steps]]
    code = "{code}"
    name = {{ fi = "{name}", sv = "{name} sv", en = "{name} en" }}
"""
        for code, name in steps
    )
    return f"""
schema = 1

[organisation]
name = {{ fi = "Testialue", sv = "Testområde", en = "Test county" }}

[[units]]
code = "testi"
name = {{ fi = "Testiyksikkö", sv = "Testenhet", en = "Test unit" }}
{extra_unit}
  [[units.paths]]
  code = "tukipolku"
  name = {{ fi = "{path_name}", sv = "Utkomststöd", en = "Social assistance" }}
{step_tables}
  [[units.kiosks]]
  code = "testi-aula"
  name = "Aula"
  services = [{kiosk_services}]
"""


async def _snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    """Every catalog row as plain tuples, so two imports can be compared exactly."""
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    for model in CATALOG_TABLES:
        columns = list(model.__table__.columns)
        rows = await session.execute(select(*columns).order_by(*model.__table__.primary_key))
        snapshot[model.__tablename__] = [tuple(row) for row in rows]
    return snapshot


def _import(run: Any, text_or_catalog: Any) -> ImportReport:
    catalog = parse_catalog(text_or_catalog)
    report: ImportReport = run(lambda session: import_catalog(session, catalog))
    return report


async def _steps(session: AsyncSession) -> dict[str, PathStep]:
    return {s.code: s for s in await session.scalars(select(PathStep))}


def test_importing_the_example_twice_changes_nothing(run: Any) -> None:
    first = _import(run, EXAMPLE_CATALOG)
    before = run(_snapshot)
    second = _import(run, EXAMPLE_CATALOG)

    assert "unit vaasa-aikuissosiaalityo" in first.created
    assert not second.changed, second
    assert second.summary() == "catalog unchanged"
    assert run(_snapshot) == before
    assert all(before[table] for table in before), "every catalog table got rows"


def test_changed_file_updates_in_place_and_retires_instead_of_deleting(run: Any) -> None:
    _import(run, catalog_toml())
    original = run(_steps)
    original_ids = {code: step.id for code, step in original.items()}

    # rename a step and the path, drop "tapaaminen", add "seuranta", put "paatos" first
    changed = [("paatos", "Päätös ja perustelut"), ("hakemus", "Hakemus"), ("seuranta", "Seuranta")]
    report = _import(run, catalog_toml(changed, path_name="Täydentävä toimeentulotuki"))
    steps = run(_steps)

    assert "step path testi/tukipolku/seuranta" in report.created
    assert "path testi/tukipolku" in report.updated
    assert "step path testi/tukipolku/tapaaminen (retired)" in report.updated
    assert {code: steps[code].id for code in original_ids} == original_ids, "ids are history"
    assert steps["tapaaminen"].active is False
    assert all(steps[code].active for code in ("paatos", "hakemus", "seuranta"))
    assert steps["paatos"].names["fi"] == "Päätös ja perustelut"
    active = sorted((s for s in steps.values() if s.active), key=lambda s: s.position)
    assert [s.code for s in active] == ["paatos", "hakemus", "seuranta"]

    async def path_name(session: AsyncSession) -> str:
        path = await session.scalar(select(ServicePath))
        assert path is not None
        return str(path.names["fi"])

    assert run(path_name) == "Täydentävä toimeentulotuki"
    assert not _import(run, catalog_toml(changed, path_name="Täydentävä toimeentulotuki")).changed


def test_a_retired_step_listed_again_comes_back_with_its_old_id(run: Any) -> None:
    _import(run, catalog_toml())
    old_id = run(_steps)["tapaaminen"].id
    _import(run, catalog_toml([s for s in BASE_STEPS if s[0] != "tapaaminen"]))
    _import(run, catalog_toml())

    step = run(_steps)["tapaaminen"]
    assert (step.id, step.active) == (old_id, True)


def test_a_kiosk_cannot_move_to_another_unit(run: Any) -> None:
    _import(run, catalog_toml())
    moved = catalog_toml().replace('code = "testi"', 'code = "toinen"')
    with pytest.raises(CatalogError, match="kiosk testi-aula belongs to another unit"):
        _import(run, moved)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("schema = 1\n[organisation\n", "not valid TOML", id="bad-toml"),
        pytest.param(
            catalog_toml().replace('code = "tukipolku"', 'code = "tukipolku"\n  colour = "red"'),
            "unknown field `colour`",
            id="unknown-field",
        ),
        pytest.param(
            catalog_toml(kiosk_services='{ path = "ei-ole" }'),
            "kiosk testi-aula names path 'ei-ole', which unit testi does not have",
            id="kiosk-missing-path",
        ),
        pytest.param(
            catalog_toml(kiosk_services='{ path = "tukipolku", step = "ei-ole" }'),
            "kiosk testi-aula names step 'ei-ole', which path testi/tukipolku does not have",
            id="kiosk-missing-step",
        ),
        pytest.param(
            catalog_toml(kiosk_services=""),
            "kiosk testi-aula serves no path",
            id="kiosk-without-paths",
        ),
        pytest.param(
            catalog_toml([*BASE_STEPS, ("hakemus", "Toinen hakemus")]),
            "duplicate step in testi/tukipolku code 'hakemus'",
            id="duplicate-step",
        ),
        pytest.param(
            catalog_toml() + "[[units]]" + catalog_toml().split("[[units]]", 1)[1],
            "duplicate unit code 'testi'",
            id="duplicate-unit",
        ),
        pytest.param(
            catalog_toml([("Hakemus", "Hakemus")]),
            "matching regex '^[a-z0-9][a-z0-9-]{0,63}$' - at `$.units[0].paths[0].steps[0].code`",
            id="bad-code-pattern",
        ),
        pytest.param(
            catalog_toml().replace("schema = 1", "schema = 2"),
            "`$.schema`",
            id="unknown-schema-version",
        ),
    ],
)
def test_bad_catalogs_are_refused_with_a_message_naming_the_problem(
    text: str, message: str
) -> None:
    with pytest.raises(CatalogError) as raised:
        parse_catalog(text)
    assert message in str(raised.value)
