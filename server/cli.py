"""The ``kaiku`` command: serve, migrate, import the catalog, manage keys and kiosks."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import audit
from server.auth.keys import CreatedKey, create_key, revoke_key
from server.auth.models import ApiKey
from server.auth.roles import Role
from server.auth.users import UserError, create_user
from server.catalog.importer import CatalogError, ImportReport, import_catalog, parse_catalog
from server.catalog.models import Kiosk
from server.commands import run_in_session, settings_from_env
from server.database import create_engine
from server.demo import DEMO_USER, ensure_demo_user, seed_demo_answers
from server.feedback.invitations import demo_link
from server.feedback.kiosks import create_pairing_code, kiosk_by_code
from server.feedback.retention import PhoneHashesPurged, purge_phone_hashes
from server.migrations_runner import upgrade
from server.panels.cli import panels
from server.panels.cli import purge as purge_volunteers
from server.settings import Settings

APP_FACTORY = "server.app:create_app_from_env"

T = TypeVar("T")
EXAMPLE_CATALOG = Path(__file__).resolve().parent.parent / "ops" / "catalog.example.toml"


def _settings() -> Settings:
    return settings_from_env()


def _run(work: Callable[[AsyncSession], Awaitable[T]], *, migrate: bool = True) -> T:
    """Run ``work`` in one committed session against the configured database."""
    return run_in_session(_settings(), work, migrate=migrate)


@click.group()
def main() -> None:
    """Kaiku: client feedback for social services."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations."""

    async def run() -> None:
        engine = create_engine(_settings())
        try:
            await upgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(run())
    click.echo(f"database at {revision}")


@main.group()
def catalog() -> None:
    """Units, service paths, steps and kiosks."""


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def catalog_import(file: Path) -> None:
    """Import a TOML catalog (idempotent)."""
    try:
        parsed = parse_catalog(file)
    except CatalogError as exc:
        raise click.ClickException(f"{file}: {exc}") from None

    async def run(session: AsyncSession) -> ImportReport:
        report = await import_catalog(session, parsed)
        detail = {"created": report.created, "updated": report.updated}
        await audit.record(session, "cli", "catalog.import", f"catalog:{file.name}", detail)
        return report

    click.echo(_run(run).summary())


@main.group()
def keys() -> None:
    """API keys for integrations, metrics scrapers and dashboards (manager: statistics API)."""


@keys.command("create")
@click.option("--name", required=True)
@click.option(
    "--role",
    type=click.Choice([Role.INTEGRATION.value, Role.METRICS.value, Role.MANAGER.value]),
    required=True,
)
def keys_create(name: str, role: str) -> None:
    """Create a key and print it once (the audit log records who, never the secret)."""

    async def create(session: AsyncSession) -> CreatedKey:
        created = await create_key(session, name, Role(role))
        detail = {"role": role, "name": name}
        await audit.record(session, "cli", "key.create", f"key:{created.id}", detail)
        return created

    created = _run(create)
    click.echo(f"key {created.id} ({created.role}) {created.name}: {created.secret}")
    click.echo("Store it now: it is not shown again.", err=True)


@keys.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""

    async def rows(session: AsyncSession) -> list[ApiKey]:
        return list(await session.scalars(select(ApiKey).order_by(ApiKey.id)))

    for key in _run(rows):
        state = "revoked" if key.revoked_at else "active"
        used = key.last_used_at.isoformat() if key.last_used_at else "never"
        click.echo(f"{key.id}\t{key.role}\t{state}\t{key.prefix}…\tlast used {used}\t{key.name}")


@keys.command("revoke")
@click.argument("key_id", type=int)
def keys_revoke(key_id: int) -> None:
    """Revoke a key by id."""

    async def revoke(session: AsyncSession) -> bool:
        revoked = await revoke_key(session, key_id)
        if revoked:
            await audit.record(session, "cli", "key.revoke", f"key:{key_id}")
        return revoked

    if not _run(revoke):
        raise click.ClickException(f"no active key {key_id}")
    click.echo(f"key {key_id} revoked")


@main.group()
def kiosks() -> None:
    """Waiting-room tablets."""


@kiosks.command("pair")
@click.argument("kiosk_code")
@click.option("--minutes", type=int, default=None, help="validity (default from settings)")
def kiosks_pair(kiosk_code: str, minutes: int | None) -> None:
    """Print a one-time pairing code and the enrolment URL for a kiosk."""
    settings = _settings()
    code = _run(
        lambda session: _pairing_code(session, kiosk_code, minutes or settings.pairing_code_minutes)
    )
    click.echo(f"pairing code {code}")
    click.echo(f"{settings.public_url}/k/{kiosk_code}?pair={code}")


async def _pairing_code(session: AsyncSession, kiosk_code: str, minutes: int) -> str:
    kiosk = await kiosk_by_code(session, kiosk_code)
    if kiosk is None:
        raise click.ClickException(f"no kiosk {kiosk_code!r}; import a catalog first")
    code = await create_pairing_code(session, kiosk, minutes)
    detail = {"minutes": minutes}
    await audit.record(session, "cli", "kiosk.pairing-code", f"kiosk:{kiosk.code}", detail)
    return code


@main.group()
def users() -> None:
    """Staff accounts for the web pages."""


@users.command("add")
@click.argument("username")
@click.option(
    "--role",
    "roles",
    type=click.Choice([Role.ADMIN.value, Role.MANAGER.value, Role.ORGANISER.value]),
    multiple=True,
    required=True,
    help="repeat for several roles",
)
@click.option("--display-name", default="", help="shown on pages (default: the username)")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def users_add(
    username: str, roles: tuple[str, ...], display_name: str, password_stdin: bool
) -> None:
    """Create a staff user; the password is asked twice (or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def add(session: AsyncSession) -> int:
        try:
            user = await create_user(session, username, password, map(Role, roles), display_name)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        await audit.record(session, "cli", "user.add", f"user:{user.id}", {"roles": sorted(roles)})
        return user.id

    user_id = _run(add)
    click.echo(f"user {user_id} {username} ({', '.join(sorted(roles))}) added")


@main.command()
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup(destination: Path) -> None:
    """Write a consistent backup of the configured database to DESTINATION."""
    from server.backup import backup_postgresql, backup_sqlite

    settings = _settings()
    try:
        sqlite_path = settings.sqlite_path()
        if sqlite_path is not None:
            backup_sqlite(sqlite_path, destination)
        else:
            backup_postgresql(settings.database_url, destination)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    except subprocess.CalledProcessError as exc:
        raise click.ClickException(f"pg_dump failed: {exc.stderr.decode()[-500:]}") from None
    click.echo(f"backup written to {destination}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="import the example catalog and print demo URLs")
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Run Kaiku under uvicorn."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from server.listeners import HAS_REUSE_PORT, reuse_port_listener

    os.environ.setdefault("KAIKU_PUBLIC_URL", f"http://{host}:{port}")
    settings = _settings()
    if demo:
        _prepare_demo(settings)
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="kaiku-metrics-")
    options: dict[str, Any] = {"factory": True, "log_level": "info", "access_log": False}
    if workers > 1 and HAS_REUSE_PORT:
        # A listener per worker (see server.listeners): the kernel shares connections out.
        config = uvicorn.Config(APP_FACTORY, host=host, port=port, workers=workers, **options)
        listener = reuse_port_listener(host, port)
        click.echo(f"Kaiku: {workers} workers, each listening on {host}:{port}")
        Multiprocess(config, sockets=[listener]).run()
    else:
        uvicorn.run(APP_FACTORY, host=host, port=port, workers=workers, **options)


async def _seed_answers(settings: Settings) -> int:
    engine = create_engine(settings)
    try:
        return await seed_demo_answers(engine, settings)
    finally:
        await engine.dispose()


def _prepare_demo(settings: Settings) -> None:
    parsed = parse_catalog(EXAMPLE_CATALOG)

    async def setup(session: AsyncSession) -> tuple[str, str, str, str]:
        await import_catalog(session, parsed)
        kiosk = await session.scalar(select(Kiosk).order_by(Kiosk.id))
        assert kiosk is not None
        code = await create_pairing_code(session, kiosk, minutes=24 * 60)
        integration = await create_key(session, "demo integration", Role.INTEGRATION)
        password = await ensure_demo_user(session)
        return kiosk.code, code, integration.secret, password

    kiosk_code, pair_code, integration_key, password = _run(setup)
    answers = asyncio.run(_seed_answers(settings))
    sms_link = asyncio.run(demo_link(settings))
    base = settings.public_url
    click.echo(
        "\n".join(
            [
                "",
                "Kaiku demo is starting. Open:",
                f"  Kiosk (tablet):   {base}/k/{kiosk_code}?pair={pair_code}",
                f"  SMS answer page:  {sms_link or '(only with KAIKU_SMS_GATEWAY=console)'}",
                f"  Staff sign-in:    {base}/staff/sign-in  (user {DEMO_USER}, "
                f"password {password})",
                f"  Organiser UI:     {base}/staff/panels",
                f"  Statistics:       {base}/overview",
                f"  Metrics:          {base}/metrics",
                f"  API docs:         {base}/schema/swagger",
                f"  Health:           {base}/readyz",
                f"  Integration key:  {integration_key}",
                f"  Database:         {settings.database_url}"
                + (f" ({answers} demo answers added)" if answers else ""),
                "",
            ]
        )
    )
    sys.stdout.flush()


@main.command()
@click.option("--dry-run", is_flag=True, help="only count what would be erased")
@click.pass_context
def purge(ctx: click.Context, dry_run: bool) -> None:
    """Erase personal data past its retention: inactive volunteers, spent phone hashes.

    The scheduled jobs do the same daily; this is for operators who want it now.
    """
    ctx.invoke(purge_volunteers, dry_run=dry_run)
    purged = asyncio.run(_purge_phone_hashes(_settings(), dry_run))
    verb = "would erase" if dry_run else "erased"
    click.echo(
        f"{verb} {purged.quarantine} phone hash(es) past their quarantine and those of "
        f"{purged.invitations} invitation(s) past their link"
    )


async def _purge_phone_hashes(settings: Settings, dry_run: bool) -> PhoneHashesPurged:
    engine = create_engine(settings)
    try:
        now = dt.datetime.now(dt.UTC)
        return await purge_phone_hashes(engine, settings, now, dry_run=dry_run)
    finally:
        await engine.dispose()


main.add_command(panels)


if __name__ == "__main__":
    main()
