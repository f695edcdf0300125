"""One database code path for SQLite (embedded default) and PostgreSQL (production).

Engines are built from settings; nothing connects at import time. SQLite gets WAL and
a busy timeout so the kiosk API and a statistics read do not block each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from server.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every domain's tables (one metadata for Alembic)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both backends.

    SQLite has no time zone type: values are stored as naive UTC and made aware again
    on the way out, so comparisons and ordering behave the same as on PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


JSONValue = JSON().with_variant(postgresql.JSONB(), "postgresql")


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the async engine with backend-appropriate pooling and pragmas."""
    if settings.is_sqlite:
        engine = create_async_engine(
            settings.database_url,
            connect_args={"timeout": settings.db_statement_timeout_seconds},
        )
        busy_ms = int(settings.db_statement_timeout_seconds * 1000)
        event.listen(
            engine.sync_engine,
            "connect",
            lambda conn, record: _sqlite_pragmas(conn, record, busy_ms),
        )
        return engine
    timeout_ms = int(settings.db_statement_timeout_seconds * 1000)
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_timeout=settings.db_statement_timeout_seconds,
        pool_pre_ping=False,
        connect_args={
            "timeout": settings.db_statement_timeout_seconds,
            "command_timeout": settings.db_statement_timeout_seconds,
            "server_settings": {
                "statement_timeout": str(timeout_ms),
                "application_name": "kaiku",
            },
        },
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry, busy_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@asynccontextmanager
async def autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection on which each statement commits by itself.

    For work done in single statements: a BEGIN and a COMMIT around one statement are
    two more round trips, with the statement's row locks held across them.
    """
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")
"""Connection exception, insufficient resources, operator intervention (shutdown, a
statement timeout): the database cannot serve now, the statement itself is fine."""


@asynccontextmanager
async def driver_connection(conn: AsyncConnection) -> AsyncIterator[asyncpg.Connection]:
    """The asyncpg connection under ``conn``, for the ingest path's hand-written statements.

    SQLAlchemy's execution layer costs about 90 µs of CPU per statement on top of the
    driver's 60, and a connection in AUTOCOMMIT mode another 50 per checkout; for single
    answers that was a tenth of the request. asyncpg commits each statement by itself
    outside a transaction. Its errors come out as SQLAlchemy's, as from ``conn.execute``:
    an ``OperationalError`` (so a 503) when the database cannot serve, with a connection
    that broke invalidated so the pool does not hand it out again.
    """
    # Checked out already: reading it does no I/O (unlike get_raw_connection()).
    driver = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    assert driver is not None, "an open connection has a driver connection"
    try:
        yield driver
    except asyncpg.PostgresError as exc:  # the server's answer
        closed = driver.is_closed()
        if closed:
            await conn.invalidate(exc)
        if closed or str(exc.sqlstate or "").startswith(UNAVAILABLE_SQLSTATE_CLASSES):
            raise OperationalError(None, None, exc, connection_invalidated=closed) from exc
        raise DBAPIError(None, None, exc) from exc
    except (asyncpg.InterfaceError, asyncpg.InternalClientError, OSError) as exc:
        # Lost, timed out or out of step with the server (e.g. terminated mid-statement):
        # the connection cannot be trusted again.
        await conn.invalidate(exc)
        raise OperationalError(None, None, exc, connection_invalidated=True) from exc


def upsert_insert(dialect_name: str, table: Any) -> Any:
    """Dialect-specific INSERT that supports ``on_conflict_do_*`` on both backends."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
