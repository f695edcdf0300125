"""Locate and run Prometheus' promtool; the rule and dashboard tests need its real PromQL parser.

CI installs Debian's ``prometheus`` package, so a missing promtool is a broken environment and
fails the test instead of skipping it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

INSTALL_HINT = "install it with `apt-get install prometheus` (Debian) or put promtool on PATH"


def find_binary(name: str) -> str:
    """Return the path of a Prometheus binary on PATH or in /usr/bin, or fail the test."""
    fallback = Path("/usr/bin") / name
    found = shutil.which(name) or (str(fallback) if fallback.exists() else None)
    if found is None:
        pytest.fail(f"{name} not found: {INSTALL_HINT}", pytrace=False)
    return found


def run_promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run promtool and return its result; the caller decides what a failure means."""
    return subprocess.run(
        [find_binary("promtool"), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_promtool_ok(*args: str | Path, cwd: Path | None = None) -> str:
    """Run promtool and fail with its own output when it does not succeed."""
    result = run_promtool(*args, cwd=cwd)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(map(str, args))} failed:\n{output}"
    return output


def check_exprs(exprs: Mapping[str, str]) -> None:
    """Parse PromQL expressions with promtool by wrapping each in a recording rule.

    Keys become the rule names, so they must be valid metric names; promtool's error then
    names the offending expression.
    """
    rules = [{"record": name, "expr": expr} for name, expr in exprs.items()]
    document = {"groups": [{"name": "exprs_under_test", "rules": rules}]}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "exprs.yml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        assert_promtool_ok("check", "rules", path)
