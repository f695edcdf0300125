#!/usr/bin/env python3
"""Kaiku's two commands, needing only Python 3.11+ on a fresh clone.

    python3 dev.py demo   # set up .venv, start Kaiku on SQLite with demo data, print URLs
    python3 dev.py test   # set up .venv, run the whole test suite on SQLite and PostgreSQL

Standard library only: this runs before any dependency is installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PYTHON = BIN / "python"
STAMP = VENV / ".kaiku-installed"
SYSTEM_TOOLS = {"chromium": "/usr/bin/chromium", "prometheus": "/usr/bin/prometheus"}
POSTGRES = ("127.0.0.1", 5432)


def say(message: str) -> None:
    print(f"[kaiku] {message}", flush=True)


def ensure_venv(extras: str) -> None:
    """Create .venv and install Kaiku (editable) when pyproject.toml changed since last time."""
    if sys.version_info < (3, 11):
        sys.exit("Kaiku needs Python 3.11 or newer")
    if not PYTHON.exists():
        say("creating .venv")
        venv.create(VENV, with_pip=True)
    wanted = f"{extras}:{(ROOT / 'pyproject.toml').stat().st_mtime_ns}"
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say(f"installing kaiku[{extras}] into .venv (first run takes a minute)")
    target = f".[{extras}]" if extras else "."
    subprocess.run([PYTHON, "-m", "pip", "install", "-q", "-e", target], cwd=ROOT, check=True)
    STAMP.write_text(wanted)


def ensure_system_tools() -> None:
    """Browser and Prometheus tests use Debian's chromium and prometheus packages."""
    missing = [pkg for pkg, path in SYSTEM_TOOLS.items() if not Path(path).exists()]
    if not missing:
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        say(f"installing Debian packages: {' '.join(missing)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
        return
    sys.exit(
        f"The tests need {', '.join(missing)} (Debian packages). Install them with\n"
        f"  sudo apt-get install -y {' '.join(missing)}\nand run this again."
    )


def postgres_reachable() -> bool:
    try:
        with socket.create_connection(POSTGRES, timeout=2):
            return True
    except OSError:
        return False


def pytest(backend: str, *args: str) -> int:
    env = {**os.environ, "KAIKU_TEST_DB": backend}
    say(f"pytest on {backend}")
    return subprocess.run([BIN / "pytest", *args], cwd=ROOT, env=env).returncode


def test(extra: list[str]) -> int:
    ensure_venv("test")
    ensure_system_tools()
    status = pytest("sqlite", *extra)
    if not postgres_reachable():
        if os.environ.get("CI"):
            say("PostgreSQL on 127.0.0.1:5432 is not reachable: failing (CI runs both backends)")
            return 1
        say("PostgreSQL on 127.0.0.1:5432 is not reachable: the PostgreSQL pass did NOT run")
        return status or 1
    # Browser tests check pages, not the database: they run in the SQLite pass only.
    pg_status = pytest("postgresql", "-m", "db and not browser", *extra)
    return status or pg_status


def demo(extra: list[str]) -> int:
    ensure_venv("")
    os.environ.setdefault("KAIKU_DATABASE_URL", "sqlite+aiosqlite:///./kaiku.db")
    return subprocess.run([BIN / "kaiku", "serve", "--demo", *extra], cwd=ROOT).returncode


def main() -> int:
    commands = {"test": test, "demo": demo}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
