"""Dashboards as code: the generated JSON is committed, valid, and every query is real PromQL."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.support.prometheus import concrete_expr, dashboard_targets
from tests.support.promtool import check_exprs

GRAFANA = Path(__file__).parents[2] / "ops" / "grafana"
RULES = Path(__file__).parents[2] / "ops" / "prometheus" / "rules"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
EXPECTED = {"overview", "service-path", "kiosks-delivery", "panel-recruitment"}
KAIKU_METRICS = {
    "kaiku_responses_total",
    "kaiku_invitations_total",
    "kaiku_kiosk_last_seen_timestamp_seconds",
    "kaiku_kiosk_outbox_pending",
    "kaiku_sms_outbox_pending",
    "kaiku_rollup_snapshot_age_seconds",
    "kaiku_rollup_snapshot_timestamp_seconds",
    "kaiku_panel_seats",
    "kaiku_panel_members",
    "kaiku_panel_pool_volunteers",
    "kaiku_panel_first_meeting_timestamp_seconds",
    "kaiku_panel_path_volunteers",
    "kaiku_http_requests_total",
    "kaiku_http_request_duration_seconds_bucket",
}
VARIABLE = re.compile(r"\$\{?(\w+)\}?")
MATCHER_WITH_VARIABLE = re.compile(r'\w+=~"\$\{?\w+\}?"')


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_dashboards", GRAFANA / "build_dashboards.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in DASHBOARD_FILES}


def all_panels(container: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in container.get("panels", []):
        found += [panel, *all_panels(panel)]
    return found


def datasource_uid() -> str:
    provisioned = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )
    [source] = provisioned["datasources"]
    assert source["type"] == "prometheus"
    return str(source["uid"])


def recorded_names() -> set[str]:
    return {
        rule["record"]
        for path in RULES.glob("*.yml")
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def test_committed_json_is_exactly_what_the_generator_writes() -> None:
    rendered = dict(load_generator().render())
    assert {path.stem for path in rendered} == EXPECTED
    assert set(rendered) == set(DASHBOARD_FILES), "a dashboard file is not generated"
    for path, text in rendered.items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is stale: run python ops/grafana/build_dashboards.py"
        )


def test_generator_check_mode_reports_stale_files(tmp_path: Path) -> None:
    generator = load_generator()
    out = ["--out", str(tmp_path)]
    assert generator.main(["--check", *out]) == 1
    assert generator.main(out) == 0
    assert generator.main(["--check", *out]) == 0
    assert sorted(p.stem for p in tmp_path.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dashboard_structure(name: str) -> None:
    board = dashboards()[name]
    uid = datasource_uid()
    panels = all_panels(board)
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {name}"
    assert all(isinstance(i, int) and i > 0 for i in ids)
    assert board["uid"] == f"kaiku-{name}"
    assert board["timezone"] == "Europe/Helsinki"
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel.get("targets"), f"panel {panel['title']!r} has no query"
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert all(ref_ids)
        assert len(ref_ids) == len(set(ref_ids))
        for target in panel["targets"]:
            source = target.get("datasource") or panel.get("datasource")
            assert source == {"type": "prometheus", "uid": uid}, panel["title"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_variables_are_defined_and_only_used_in_label_matchers(name: str) -> None:
    board = dashboards()[name]
    variables = board["templating"]["list"]
    defined = {variable["name"] for variable in variables}
    earlier: set[str] = set()
    for variable in variables:
        assert variable["datasource"]["uid"] == datasource_uid()
        # Grafana resolves variables in order: a query may use only those above it.
        assert set(VARIABLE.findall(variable["query"])) <= earlier, variable["name"]
        earlier.add(variable["name"])
    for panel, target in dashboard_targets(board):
        expr = target["expr"]
        assert set(VARIABLE.findall(expr)) <= defined, f"{panel['title']}: undefined variable"
        outside = MATCHER_WITH_VARIABLE.sub("", expr)
        assert "$" not in outside, f"{panel['title']}: variable outside a label matcher: {expr}"


def test_every_query_parses_as_promql() -> None:
    """promtool's parser is Prometheus' own; one call checks every target of every dashboard."""
    exprs = {
        f"dashboard:{name.replace('-', '_')}:panel{panel['id']}_{target['refId']}": concrete_expr(
            target["expr"]
        )
        for name, board in dashboards().items()
        for panel, target in dashboard_targets(board)
    }
    assert len(exprs) > 30
    check_exprs(exprs)


def test_queries_use_only_kaiku_metrics_and_recorded_series_that_exist() -> None:
    recorded = recorded_names()
    for name, board in dashboards().items():
        for panel, target in dashboard_targets(board):
            names = set(re.findall(r"\b(kaiku[_:][\w:]*)", target["expr"]))
            assert names, f"{name}/{panel['title']}: no Kaiku metric"
            unknown = {n for n in names if n not in KAIKU_METRICS and n not in recorded}
            assert not unknown, f"{name}/{panel['title']}: unknown series {unknown}"


def test_provisioning_loads_the_dashboards_folder() -> None:
    provider = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "kaiku.yml").read_text(encoding="utf-8")
    )
    [kaiku] = provider["providers"]
    assert kaiku["type"] == "file"
    assert kaiku["options"]["path"] == "/var/lib/grafana/dashboards/kaiku"
