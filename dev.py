#!/usr/bin/env python3
"""Kaiku's two commands, needing only Python 3.11+ on a fresh clone.

    python3 dev.py demo   # set up .venv, start Kaiku on SQLite with demo data, print URLs
    python3 dev.py test   # set up .venv, run the whole test suite on SQLite and PostgreSQL

The two database passes run at the same time, each spread over the CPUs by pytest-xdist,
with their output in .venv/test-logs/ and printed when both are done.
``python3 dev.py test --serial …`` runs them one after the other in one process each, with
live output (for ``--pdb``, ``-s`` and the like).

Standard library only: this runs before any dependency is installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
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


LOGS = VENV / "test-logs"


def pytest(backend: str, *args: str) -> int:
    env = {**os.environ, "KAIKU_TEST_DB": backend}
    say(f"pytest on {backend}")
    return subprocess.run([BIN / "pytest", *args], cwd=ROOT, env=env).returncode


def pytest_together(passes: dict[str, list[str]]) -> int:
    """Run the passes at once, each spread over the CPUs by xdist, each into its own log.

    Their output would interleave on a terminal, so each log is printed whole at the end,
    failed passes last, so that what went wrong is what the screen ends with.
    """
    # One worker a CPU for each pass, so two a CPU in all: while tests of one pass wait on
    # servers and browsers, the other pass works. Past four, workers mostly cost start-up.
    workers = str(min(os.cpu_count() or 1, 4))
    LOGS.mkdir(exist_ok=True)
    logs = {backend: LOGS / f"{backend}.log" for backend in passes}
    say(
        f"pytest on {' and '.join(passes)}{' at once' if len(passes) > 1 else ''}, "
        f"{workers} workers each; follow with: "
        f"tail -f {' '.join(str(log.relative_to(ROOT)) for log in logs.values())}"
    )
    started = time.monotonic()
    running: dict[str, subprocess.Popen[bytes]] = {}
    for backend, args in passes.items():
        with logs[backend].open("wb") as log:  # the child keeps its own copy of the file
            running[backend] = subprocess.Popen(
                [BIN / "pytest", "-n", workers, *args],
                cwd=ROOT,
                env={**os.environ, "KAIKU_TEST_DB": backend},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    status: dict[str, int] = {}
    try:
        while len(status) < len(running):
            for backend, process in running.items():
                if backend not in status and process.poll() is not None:
                    status[backend] = process.returncode
                    verdict = "passed" if process.returncode == 0 else "FAILED"
                    took = _minutes(time.monotonic() - started)
                    say(f"{backend}: {verdict} (exit {process.returncode}) after {took}")
            time.sleep(0.5)
    except KeyboardInterrupt:  # Ctrl-C reached the children too: let them finish
        for backend, process in running.items():
            status[backend] = process.wait() or 130
    for backend in sorted(passes, key=lambda b: (status[b] != 0, list(passes).index(b))):
        say(f"===== pytest on {backend} ({logs[backend].relative_to(ROOT)}) =====")
        sys.stdout.write(logs[backend].read_text(errors="replace"))
        sys.stdout.flush()
    failed = [backend for backend in passes if status[backend] != 0]
    if failed:
        took = _minutes(time.monotonic() - started)
        say(f"FAILED on {' and '.join(failed)} (after {took})")
        return 1
    return 0


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def run_passes(passes: dict[str, list[str]], serial: bool) -> int:
    if not serial:
        return pytest_together(passes)
    statuses = [pytest(backend, *args) for backend, args in passes.items()]
    return next((status for status in statuses if status), 0)


def test(extra: list[str]) -> int:
    ensure_venv("test")
    ensure_system_tools()
    serial = "--serial" in extra
    extra = [arg for arg in extra if arg != "--serial"]
    # Browser tests check pages, not the database: they run in the SQLite pass only.
    passes = {"sqlite": extra, "postgresql": ["-m", "db and not browser", *extra]}
    if not postgres_reachable():
        if os.environ.get("CI"):
            say("PostgreSQL on 127.0.0.1:5432 is not reachable: failing (CI runs both backends)")
            return 1
        status = run_passes({"sqlite": passes["sqlite"]}, serial)
        say("PostgreSQL on 127.0.0.1:5432 is not reachable: the PostgreSQL pass did NOT run")
        return status or 1
    return run_passes(passes, serial)


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
