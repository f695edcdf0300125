"""Consistent backups while Kaiku runs.

SQLite: the online backup API copies a consistent snapshot even with WAL and writers.
PostgreSQL: ``pg_dump --format=custom`` (restore with ``pg_restore``); Kaiku only
builds the command so operators get the same dump they would make by hand.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


def backup_sqlite(source: Path, destination: Path) -> None:
    """Copy the live database at ``source`` into a new file at ``destination``."""
    if destination.exists():
        raise FileExistsError(f"{destination} exists; choose a new file")
    with sqlite3.connect(source) as src, sqlite3.connect(destination) as dst:
        src.backup(dst)
    dst.close()
    src.close()


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} not found; install the PostgreSQL client tools")
    return path


def libpq_dsn(database_url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string for pg_dump/pg_restore."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def backup_postgresql(database_url: str, destination: Path) -> None:
    if destination.exists():
        raise FileExistsError(f"{destination} exists; choose a new file")
    subprocess.run(  # noqa: S603 - fixed program, arguments from settings
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            f"--file={destination}",
            f"--dbname={libpq_dsn(database_url)}",
        ],
        check=True,
        capture_output=True,
    )


def restore_postgresql(dump: Path, database_url: str) -> None:
    """Restore a dump into an existing, empty database."""
    subprocess.run(  # noqa: S603 - fixed program, arguments from settings
        [
            _tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            f"--dbname={libpq_dsn(database_url)}",
            str(dump),
        ],
        check=True,
        capture_output=True,
    )
