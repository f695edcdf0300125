"""Shared plumbing for ``kaiku`` subcommands, whichever package defines them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from server.database import create_engine
from server.migrations_runner import upgrade
from server.settings import Settings, SettingsError

T = TypeVar("T")


def settings_from_env() -> Settings:
    """The environment's settings, or a clear command-line error naming the variable."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def run_in_session(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, migrate: bool = True
) -> T:
    """Run ``work(session)`` once against the configured database and commit."""

    async def main() -> T:
        engine = create_engine(settings)
        try:
            if migrate:
                await upgrade(engine)
            async with AsyncSession(engine, expire_on_commit=False) as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(main())
