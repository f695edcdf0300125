"""Prometheus configuration, rules and their unit tests, checked with the real promtool."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.support.prometheus import PrometheusServer
from tests.support.promtool import assert_promtool_ok, find_binary

PROMETHEUS = Path(__file__).parents[2] / "ops" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
HELSINKI = ZoneInfo("Europe/Helsinki")


def load(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def rules_by_name() -> dict[str, dict[str, Any]]:
    return {
        rule.get("record") or rule["alert"]: rule
        for path in RULE_FILES
        for group in load(path)["groups"]
        for rule in group["rules"]
    }


def test_config_and_the_rules_it_loads_are_valid(tmp_path: Path) -> None:
    """Point rule_files at the repository so `check config` also checks every rule."""
    config = load(PROMETHEUS / "prometheus.yml")
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"], "compose mounts rules there"
    config["rule_files"] = [str(PROMETHEUS / "rules" / "*.yml")]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config), encoding="utf-8")
    output = assert_promtool_ok("check", "config", copy)
    for rule_file in RULE_FILES:
        assert rule_file.name in output
    kaiku = next(job for job in config["scrape_configs"] if job["job_name"] == "kaiku")
    assert kaiku["metrics_path"] == "/metrics"
    assert kaiku["static_configs"] == [{"targets": ["kaiku:8000"]}]


def test_missing_promtool_fails_instead_of_skipping() -> None:
    with pytest.raises(pytest.fail.Exception, match="not found: install it"):
        find_binary("promtool-not-installed")


def test_rule_files_pass_promtool_check_rules() -> None:
    assert RULE_FILES
    assert_promtool_ok("check", "rules", *RULE_FILES)


@pytest.fixture(scope="module")
def unit_test_runs() -> Iterator[dict[str, subprocess.Popen[str]]]:
    """Start every `promtool test rules` at once: together they take seconds of CPU each."""
    runs = {
        path.name: subprocess.Popen(
            [find_binary("promtool"), "test", "rules", path.name],
            cwd=path.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for path in RULE_TESTS
    }
    yield runs
    for run in runs.values():
        run.kill() if run.poll() is None else None
        run.communicate()


@pytest.mark.parametrize("name", [path.name for path in RULE_TESTS])
def test_promtool_rule_unit_tests_pass(
    unit_test_runs: dict[str, subprocess.Popen[str]], name: str
) -> None:
    output, _ = unit_test_runs[name].communicate(timeout=120)
    assert unit_test_runs[name].returncode == 0, output
    assert "SUCCESS" in output


def test_every_alert_has_firing_and_silent_unit_tests() -> None:
    alerts = {name for name, rule in rules_by_name().items() if "alert" in rule}
    cases: dict[str, set[bool]] = {name: set() for name in alerts}
    for path in RULE_TESTS:
        for test in load(path)["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.setdefault(case["alertname"], set()).add(bool(case.get("exp_alerts")))
    assert set(cases) == alerts, "unit tests name an alert that does not exist"
    missing = {name: sorted(seen) for name, seen in cases.items() if seen != {True, False}}
    assert not missing, f"alerts without both firing and silent cases: {missing}"


def test_share_windows_are_all_recorded() -> None:
    names = rules_by_name()
    for window in ("1h", "1d", "7d", "28d"):
        for kind in ("share_positive", "share_negative"):
            assert f"kaiku:{kind}:ratio_rate{window}" in names
        assert f"kaiku:responses:increase{window}" in names
        assert f"kaiku:sms_response_rate:ratio_rate{window}" in names


# --- The Helsinki calendar in PromQL, against the tz database -------------------------------


def inlined(name: str, rules: dict[str, dict[str, Any]]) -> str:
    """The rule's expression with earlier calendar records replaced by their own expressions."""
    expr = str(rules[name]["expr"])
    for other in ("kaiku:helsinki_local_time:seconds", "kaiku:helsinki_utc_offset:hours"):
        if other != name and other in expr:
            expr = expr.replace(other, f"({inlined(other, rules)})")
    return expr


def dst_transitions() -> list[int]:
    """Unix times where Helsinki's UTC offset changes, 2000-2099, from the tz database."""
    found = []
    for year in range(2000, 2100):
        for month in (3, 10):
            start = datetime(year, month, 24, tzinfo=UTC)
            hours = (start + timedelta(hours=h) for h in range(8 * 24))
            found += [
                int(t.timestamp())
                for t in hours
                if HELSINKI.utcoffset(t.replace(tzinfo=None)) is not None
                and t.astimezone(HELSINKI).utcoffset()
                != (t - timedelta(seconds=1)).astimezone(HELSINKI).utcoffset()
            ]
    return found


@pytest.fixture(scope="module")
def calendar_prometheus() -> Iterator[PrometheusServer]:
    """A Prometheus used only as a PromQL evaluator: calendar rules need no scraped data."""
    with PrometheusServer("http://127.0.0.1:9/metrics") as prometheus:
        yield prometheus


CALENDAR = rules_by_name()
OFFSET_EXPR = inlined("kaiku:helsinki_utc_offset:hours", CALENDAR)
ELAPSED_EXPR = inlined("kaiku:helsinki_opening_hours:elapsed_seconds", CALENDAR)
TIMESTAMPS = st.one_of(
    st.integers(int(datetime(2000, 1, 1, tzinfo=UTC).timestamp()), 4102444799),
    st.sampled_from(dst_transitions()).flatmap(lambda t: st.integers(t - 7200, t + 7200)),
)


@pytest.mark.prometheus
@settings(max_examples=100, deadline=None)
@given(at=TIMESTAMPS)
@example(at=int(datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC).timestamp()))
@example(at=int(datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC).timestamp()))
@example(at=int(datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC).timestamp()))
@example(at=int(datetime(2026, 10, 25, 1, 0, 0, tzinfo=UTC).timestamp()))
@example(at=int(datetime(2026, 6, 1, 5, 0, 0, tzinfo=UTC).timestamp()))  # Monday 08:00 EEST
@example(at=int(datetime(2026, 1, 2, 13, 59, 59, tzinfo=UTC).timestamp()))  # Friday 15:59:59 EET
def test_helsinki_calendar_rules_agree_with_tz_database(
    calendar_prometheus: PrometheusServer, at: int
) -> None:
    local = datetime.fromtimestamp(at, HELSINKI)
    offset = local.utcoffset()
    assert offset is not None

    [got_offset] = calendar_prometheus.query(OFFSET_EXPR, at)
    assert float(got_offset["value"][1]) == offset.total_seconds() / 3600

    elapsed = calendar_prometheus.query(ELAPSED_EXPR, at)
    opening = local.replace(hour=8, minute=0, second=0, microsecond=0)
    if local.weekday() < 5 and 8 <= local.hour < 16:
        assert [float(sample["value"][1]) for sample in elapsed] == [
            (local - opening).total_seconds()
        ]
    else:
        assert elapsed == []
