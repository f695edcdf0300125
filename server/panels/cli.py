"""``kaiku panels rotate-keys`` and ``kaiku purge``: the operator's side of volunteer data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from server.commands import run_in_session, settings_from_env
from server.panels import volunteers
from server.panels.crypto import cipher_from_settings
from server.settings import Settings

T = TypeVar("T")


def _settings() -> Settings:
    return settings_from_env()


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    return run_in_session(settings, work)


@click.group()
def panels() -> None:
    """Client panel volunteers."""


@panels.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt contact details under the first key of KAIKU_PANEL_KEYS.

    Rotation: put a new key first in KAIKU_PANEL_KEYS (keep the old one after it), run
    this, then remove the old key.
    """
    settings = _settings()
    cipher = cipher_from_settings(settings)
    count = _run(settings, lambda session: volunteers.rotate_keys(session, cipher))
    click.echo(f"re-encrypted the contact details of {count} volunteer(s)")


@click.command()
@click.option("--dry-run", is_flag=True, help="only count who would be erased")
def purge(dry_run: bool) -> None:
    """Erase volunteers inactive for KAIKU_VOLUNTEER_RETENTION_MONTHS."""
    settings = _settings()
    months = settings.volunteer_retention_months
    now = dt.datetime.now(dt.UTC)
    count = _run(settings, lambda s: volunteers.purge(s, months, now, dry_run=dry_run))
    verb = "would erase" if dry_run else "erased"
    click.echo(f"{verb} {count} volunteer(s) inactive for {months} months")
