"""A private, throw-away PostgreSQL cluster that a test may stop and start at will.

Failure tests cannot stop the machine's shared server without breaking every other
test; they get their own cluster on a free port, run as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.live import free_port

BIN = (
    Path("/usr/lib/postgresql")
    / (
        sorted(os.listdir("/usr/lib/postgresql"))[-1]
        if Path("/usr/lib/postgresql").exists()
        else ""
    )
    / "bin"
)


def _as_postgres(*args: str) -> subprocess.CompletedProcess[bytes]:
    command = list(args)
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, capture_output=True, timeout=60)


@dataclass
class Cluster:
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        _as_postgres(
            str(BIN / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-w",
            "-t",
            "30",
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir}",
            "-l",
            str(self.data_dir / "log"),
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop")


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """initdb + start on a free port; stopped and deleted afterwards."""
    root = Path(tempfile.mkdtemp(prefix="kaiku-pg-"))
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
    _as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    cluster = Cluster(data, free_port())
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
