"""The compose file and Containerfile, checked without a container engine: they parse, and
everything they mount, build from or copy exists in the repository."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[2]
OPS = ROOT / "ops"
# Secrets stay out of git; README.md explains how to create this file.
UNCOMMITTED_ENV_FILE = "kaiku.env"


def compose() -> dict[str, Any]:
    document = yaml.safe_load((OPS / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def bind_mounts(service: dict[str, Any]) -> list[tuple[Path, str]]:
    """(host path, container path) of every bind mount; named volumes are skipped."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith((".", "/")):
            mounts.append(((OPS / source).resolve(), target))
    return mounts


def test_services_and_their_wiring() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "kaiku", "prometheus", "grafana"}
    assert services["db"]["image"].rsplit(":", 1)[1].startswith("16")
    env = services["kaiku"]["environment"]
    assert env["KAIKU_DATABASE_URL"] == "postgresql+asyncpg://kaiku:kaiku@db:5432/kaiku"
    assert env["KAIKU_ENV"] == "production"
    assert "KAIKU_SECRET_KEY" not in env, "the secret comes from the env file"
    assert services["kaiku"]["env_file"] == [UNCOMMITTED_ENV_FILE]
    assert services["kaiku"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "8000:8000" in services["kaiku"]["ports"]
    assert set(compose()["volumes"]) == {"db-data", "prometheus-data", "grafana-data"}


def test_every_bind_mount_and_build_input_exists() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for host, _ in bind_mounts(service):
            assert host.exists(), f"{name} mounts missing {host}"
        for env_file in service.get("env_file", []):
            assert env_file == UNCOMMITTED_ENV_FILE, f"{name}: unexpected env file {env_file}"
    build = services["kaiku"]["build"]
    context = (OPS / build["context"]).resolve()
    assert context == ROOT
    assert (context / build["dockerfile"]).is_file()


def test_mounts_match_where_the_configs_expect_their_files() -> None:
    services = compose()["services"]
    prometheus = dict((target, host) for host, target in bind_mounts(services["prometheus"]))
    assert prometheus["/etc/prometheus/prometheus.yml"] == OPS / "prometheus" / "prometheus.yml"
    rules = prometheus["/etc/prometheus/rules"]
    assert sorted(rules.glob("*.yml")), "the config loads /etc/prometheus/rules/*.yml"
    grafana = dict((target, host) for host, target in bind_mounts(services["grafana"]))
    provider = yaml.safe_load(
        (OPS / "grafana" / "provisioning" / "dashboards" / "kaiku.yml").read_text(encoding="utf-8")
    )
    dashboards = grafana[provider["providers"][0]["options"]["path"]]
    assert sorted(dashboards.glob("*.json"))
    assert (grafana["/etc/grafana/provisioning/datasources"] / "prometheus.yml").is_file()
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (dashboards / Path(home).name).is_file()


def containerfile_instructions() -> list[tuple[str, str]]:
    text = (OPS / "Containerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_containerfile_copies_only_existing_sources_and_runs_migrations_then_serves() -> None:
    instructions = containerfile_instructions()
    assert instructions[0] == ("FROM", "docker.io/library/python:3.11-slim")
    copies = [shlex.split(args) for op, args in instructions if op == "COPY"]
    assert copies
    for *sources, _destination in copies:
        for source in sources:
            assert (ROOT / source).exists(), f"COPY source {source} missing"
    copied = {Path(source).name for *sources, _ in copies for source in sources}
    # pip install . needs the project metadata and both packages it declares.
    assert {"pyproject.toml", "README.md", "server", "kiosk"} <= copied
    assert any(op == "RUN" and "pip install ." in args for op, args in instructions)
    [cmd] = [args for op, args in instructions if op == "CMD"]
    command = yaml.safe_load(cmd)[-1]
    assert re.fullmatch(
        r"kaiku db upgrade && exec kaiku serve --host 0\.0\.0\.0 --port 8000 --workers 2", command
    )
    assert ("USER", "kaiku") in instructions
