"""A real Prometheus on loopback, scraping one target, for tests that need real PromQL answers.

Also holds the helpers that turn Grafana dashboard targets into plain PromQL, so the live test
can evaluate every panel's query against this server.
"""

from __future__ import annotations

import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self
from urllib.parse import urlsplit

import httpx
import yaml

from tests.support.promtool import find_binary

#: Values the dashboards' template variables take when a query runs outside Grafana.
TEMPLATE_DEFAULTS = {"unit": ".*", "path": ".*"}
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def free_port() -> int:
    """A loopback port that was free a moment ago (Prometheus binds it right after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dashboard_targets(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield (panel, target) for every query target, including panels nested in rows."""
    for panel in dashboard.get("panels", []):
        yield from dashboard_targets(panel)
        for target in panel.get("targets", []):
            yield panel, target


def concrete_expr(expr: str, values: dict[str, str] | None = None) -> str:
    """Replace Grafana template variables with regexes so Prometheus can run the query."""
    chosen = TEMPLATE_DEFAULTS | (values or {})

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in chosen:
            raise KeyError(f"template variable ${name} has no value outside Grafana")
        return chosen[name]

    return _VARIABLE.sub(substitute, expr)


class PrometheusError(RuntimeError):
    """Prometheus answered a query with an error."""


class PrometheusServer:
    """Run ``prometheus`` scraping ``target_url`` every second until the ``with`` block ends.

    Rule files (e.g. ops/prometheus/rules/*.yml) are evaluated every second too, so recorded
    series appear a few seconds after the first scrapes.
    """

    def __init__(
        self,
        target_url: str,
        *,
        rule_files: Sequence[Path] = (),
        bearer_token: str | None = None,
        job: str = "kaiku",
        ready_timeout: float = 30.0,
    ) -> None:
        self.target_url = target_url
        self.rule_files = [Path(p).resolve() for p in rule_files]
        self.bearer_token = bearer_token
        self.job = job
        self.ready_timeout = ready_timeout
        self.port = 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._client: httpx.Client | None = None
        self._log: BinaryIO | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self, directory: Path) -> dict[str, Any]:
        """The Prometheus configuration this server runs with."""
        target = urlsplit(self.target_url)
        scrape: dict[str, Any] = {
            "job_name": self.job,
            "scheme": target.scheme or "http",
            "metrics_path": target.path or "/metrics",
            "static_configs": [{"targets": [target.netloc]}],
        }
        if self.bearer_token is not None:
            token_file = directory / "token"
            token_file.write_text(self.bearer_token, encoding="utf-8")
            scrape["authorization"] = {"type": "Bearer", "credentials_file": str(token_file)}
        return {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in self.rule_files],
            "scrape_configs": [scrape],
        }

    def __enter__(self) -> Self:
        self._tmp = tempfile.TemporaryDirectory(prefix="kaiku-prometheus-")
        directory = Path(self._tmp.name)
        config_file = directory / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(self.config(directory)), encoding="utf-8")
        self.port = free_port()
        self._log = (directory / "prometheus.log").open("wb")
        self._process = subprocess.Popen(
            [
                find_binary("prometheus"),
                f"--config.file={config_file}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        self._client = httpx.Client(base_url=self.url, timeout=10.0)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._process is not None
        assert self._client is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"prometheus exited early:\n{self.log()}")
            try:
                if self._client.get("/-/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"prometheus not ready after {self.ready_timeout} s:\n{self.log()}")

    @property
    def log_path(self) -> Path:
        """Prometheus' stderr, inside the temporary directory that also holds config and data."""
        assert self._tmp is not None, "use PrometheusServer in a with block"
        return Path(self._tmp.name) / "prometheus.log"

    def log(self) -> str:
        """What Prometheus wrote to stderr (warnings and errors only)."""
        if self._tmp is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Evaluate an instant query; scalars and strings come back as one label-less sample."""
        assert self._client is not None, "use PrometheusServer in a with block"
        params = {"query": expr} | ({"time": str(at)} if at is not None else {})
        body = self._client.get("/api/v1/query", params=params).json()
        if body.get("status") != "success":
            raise PrometheusError(f"{expr!r}: {body.get('errorType')}: {body.get('error')}")
        data = body["data"]
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def wait_for(self, expr: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Poll ``expr`` until it returns something (scrapes and rules need a few seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result or time.monotonic() > deadline:
                if not result:
                    raise TimeoutError(f"{expr!r} still empty after {timeout} s:\n{self.log()}")
                return result
            time.sleep(0.25)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
