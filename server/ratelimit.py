"""Rate limits keyed on who is calling — device key, API key, answer link, poster, user name,
SMS gateway callback.

Never on IP where it would hurt: a waiting room's tablets share one address. The one
exception is kiosk pairing, where the caller has no key yet: there only *failed* codes
count, per client address (a keyed hash, never the address) and overall, so enrolling a
room full of tablets from one address is never slowed down, while guessing codes is.

The counters live in the database (``rate_limits``: fixed one-minute windows), so every
worker and replica sees the same count without another service to run; one atomic upsert
(``INSERT … ON CONFLICT DO UPDATE SET hits = hits + n RETURNING hits``) counts and
reads in a single statement.

A busy key would otherwise cost a database transaction per request, so a process takes
hits in leases of ``limit // LEASE_DIVISOR`` (at least 1) and spends them locally. The
shared counter counts leased hits, so all processes together never admit more than the
limit; the price is that hits leased but unused by one process are not available to
another in the same minute (at most ``workers × limit / LEASE_DIVISOR``, 5 % per worker).
Small limits (answer links, posters) lease one hit at a time, which is exact.

Sign-in failures are already in the audit log, so that limit counts them there
(failures only; a correct password is never slowed down). Pairing counts every attempt
before it runs (so concurrent guesses in several processes cannot overshoot) and gives
the hit back when the code was right (:meth:`RateLimiter.failures`). A kiosk batch is
one request however many answers it carries, so it counts as one hit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import htpy as h
import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.auth.guards import resolve_principal
from server.auth.models import AuditEvent, RateLimitCounter
from server.auth.roles import Role
from server.background import OneAtATime
from server.database import autocommit, upsert_insert
from server.errors import PROBLEM_BASE, PROBLEM_MEDIA_TYPE, Problem, ProblemBody
from server.settings import Settings

WINDOW_SECONDS = 60
LEASE_DIVISOR = 20
CLEANUP_EVERY_SECONDS = 60.0
SIGN_IN_PATH = "/staff/sign-in"


class RateLimited(Exception):
    """Too many requests for one key; ``retry_after`` is whole seconds until it may retry."""

    def __init__(self, retry_after: int, what: str) -> None:
        super().__init__(what)
        self.retry_after = max(1, retry_after)
        self.what = what


def window_start(key: str, now: float) -> int:
    """Start of ``key``'s current one-minute window.

    Each key's windows are shifted by a phase taken from the key, the same in every
    process: with one boundary for all, a fleet of kiosks renewed their leases in the
    same instant every minute, a burst of transactions that stalled every request.
    """
    phase = zlib.crc32(key.encode()) % WINDOW_SECONDS
    return int((now - phase) // WINDOW_SECONDS) * WINDOW_SECONDS + phase


@dataclass
class _Lease:
    """Hits this process took from a key's shared counter for one window."""

    window: int
    left: int


@dataclass
class RateLimiter:
    """Fixed-window counters in the shared database, spent locally in leases."""

    engine: AsyncEngine
    clock: Callable[[], float] = time.time
    _last_cleanup: float = 0.0
    _leases: dict[str, _Lease] = field(default_factory=dict)
    cleanups: OneAtATime = field(init=False)

    def __post_init__(self) -> None:
        self.cleanups = OneAtATime("rate-limit clean-up", self._forget_old_windows)

    async def hit(self, key: str, limit: int) -> None:
        """Count one request for ``key``; raise :class:`RateLimited` beyond ``limit``/minute."""
        if limit <= 0:
            return
        now = self.clock()
        window = window_start(key, now)
        lease = self._leases.get(key)
        if lease is None or lease.window != window:
            lease = self._leases[key] = _Lease(window, 0)
        if lease.left == 0:
            lease.left = await self._take(key, window, limit, now)
        if lease.left < 0:  # the shared count reached the limit: refuse until the next window
            raise RateLimited(int(window + WINDOW_SECONDS - now) + 1, key.split(":", 1)[0])
        lease.left -= 1

    def refund(self, key: str) -> None:
        """Give back a hit this process took for ``key`` in the current window."""
        lease = self._leases.get(key)
        if lease is not None and lease.window == window_start(key, self.clock()):
            lease.left = max(lease.left, 0) + 1

    @asynccontextmanager
    async def failures(self, limits: Mapping[str, int]) -> AsyncIterator[None]:
        """Count an attempt under each key (in order; the first refusal stops) before the
        block runs, and give the hits back if it succeeds: only failures use up a limit."""
        for key, limit in limits.items():
            await self.hit(key, limit)
        yield
        for key in limits:
            self.refund(key)

    async def _take(self, key: str, window: int, limit: int, now: float) -> int:
        """Lease hits from the shared counter: how many were granted, or -1 for none."""
        size = max(1, limit // LEASE_DIVISOR)
        table = RateLimitCounter.__table__
        stmt = (
            upsert_insert(self.engine.dialect.name, table)
            .values(key=key, window_start=window, hits=size)
            .on_conflict_do_update(
                index_elements=["key", "window_start"], set_={"hits": table.c.hits + size}
            )
            .returning(table.c.hits)
        )
        async with autocommit(self.engine) as conn:
            hits = int((await conn.execute(stmt)).scalar_one())
        if now - self._last_cleanup > CLEANUP_EVERY_SECONDS:
            self._last_cleanup = now
            self.cleanups.start()
        granted = min(size, limit - (hits - size))
        return granted if granted > 0 else -1

    async def _forget_old_windows(self) -> None:
        """Drop counters and leases of windows long over (in the background: no request
        waits for it)."""
        before = self.clock() - 2 * WINDOW_SECONDS
        self._leases = {k: v for k, v in self._leases.items() if v.window >= before}
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(RateLimitCounter).where(RateLimitCounter.window_start < before)
            )

    async def check_sign_in(self, settings: Settings, username: str) -> None:
        """Refuse a sign-in after too many recent failures for this name, or overall."""
        window = dt.timedelta(minutes=settings.rate_limit_sign_in_window_minutes)
        now = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
        subject = f"username:{username}"
        stmt = select(
            func.count(),
            func.coalesce(func.sum(case((AuditEvent.subject == subject, 1), else_=0)), 0),
            func.min(AuditEvent.at),
        ).where(AuditEvent.action == "sign-in.failed", AuditEvent.at > now - window)
        async with self.engine.connect() as conn:
            total, mine, oldest = (await conn.execute(stmt)).one()
        per_user = settings.rate_limit_sign_in_failures
        overall = settings.rate_limit_sign_in_failures_total
        if (per_user and mine >= per_user) or (overall and total >= overall):
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)
            raise RateLimited(int((oldest + window - now).total_seconds()) + 1, "sign-in")


def token_key(kind: str, secret: str) -> str:
    """A counter key for a secret (a link token): its hash, never the secret itself."""
    return f"{kind}:{hashlib.sha256(secret.encode()).hexdigest()[:40]}"


def pairing_limits(
    connection: ASGIConnection[Any, Any, Any, Any], settings: Settings
) -> dict[str, int]:
    """Failed pairing codes per client address, then overall (in that order, so a guesser
    stopped at their own address does not use up everyone's budget). The address is
    stored only as a keyed hash (an IPv4 address hashed without a key is easily reversed)."""
    address = connection.client.host if connection.client else ""
    key = settings.effective_secret_key.encode()
    digest = hmac.new(key, f"address:{address}".encode(), hashlib.sha256).hexdigest()[:40]
    return {
        f"pairing:{digest}": settings.rate_limit_pairing_failures,
        "pairing:all": settings.rate_limit_pairing_failures_total,
    }


async def _key_limit(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> None:
    try:
        principal = await resolve_principal(connection)
    except Problem:
        return  # the route's own guard answers 401
    if principal is None or principal.key_id is None:
        return
    limiter: RateLimiter = connection.app.state.rate_limiter
    if Role.KIOSK in principal.roles:
        await limiter.hit(f"key:{principal.key_id}", settings.rate_limit_kiosk_per_minute)
    else:
        await limiter.hit(f"key:{principal.key_id}", settings.rate_limit_integration_per_minute)


def rate_limit_middleware(app: ASGIApp) -> ASGIApp:
    """App-wide: picks the key for this request, if any, and counts it.

    A middleware rather than a guard: Litestar copies the route handler for every guard
    call, a visible cost per request on the ingest path. It runs after routing (path
    parameters are known) and inside the exception handlers (429 comes out as usual).
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            await apply_rate_limits(ASGIConnection(scope, receive=receive))
        await app(scope, receive, send)

    return middleware


async def apply_rate_limits(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    # The raw scope path, not connection.url: building a URL per request is a visible cost.
    path = str(connection.scope["path"])
    if connection.scope.get("method") != "POST" and not path.startswith("/api/"):
        return
    settings: Settings = connection.app.state.services.settings
    limiter: RateLimiter = connection.app.state.rate_limiter
    if path.startswith("/api/"):
        if connection.headers.get("authorization"):
            await _key_limit(connection, settings)
    elif path.startswith("/a/"):
        token = str(connection.path_params.get("token", ""))
        await limiter.hit(token_key("answer", token), settings.rate_limit_answer_per_minute)
    elif path.startswith("/q/"):
        params = connection.path_params
        key = f"qr:{str(params.get('unit', ''))[:40]}/{str(params.get('path', ''))[:40]}"
        await limiter.hit(key, settings.rate_limit_qr_per_minute)
    elif path.rstrip("/") == SIGN_IN_PATH:
        form = await Request[Any, Any, Any](connection.scope, connection.receive).form()
        await limiter.check_sign_in(settings, str(form.get("username", "")).strip()[:64])


def _html(retry_after: int) -> str:
    minutes = max(1, -(-retry_after // 60))
    return str(
        h.html(lang="fi")[
            h.head[
                h.meta(charset="utf-8"),
                h.meta(name="viewport", content="width=device-width, initial-scale=1"),
                h.title["Hetki, kiitos – One moment, please"],
            ],
            h.body[
                h.main[
                    h.h1["Hetki, kiitos – One moment, please"],
                    h.p[f"Liian monta yritystä. Yritä uudelleen {minutes} minuutin päästä."],
                    h.p(lang="en")[f"Too many attempts. Please try again in {minutes} min."],
                ]
            ],
        ]
    )


def rate_limited_response(request: Request[Any, Any, Any], exc: RateLimited) -> Response[Any]:
    """429 with Retry-After: problem JSON for programs, a short page for people."""
    headers = {"Retry-After": str(exc.retry_after), "Cache-Control": "no-store"}
    if not request.url.path.startswith("/api/"):
        return Response(
            _html(exc.retry_after), status_code=429, media_type="text/html", headers=headers
        )
    body = ProblemBody(
        type=PROBLEM_BASE + "rate-limited",
        title="Too many requests",
        status=429,
        detail=f"Too many requests ({exc.what}); retry after {exc.retry_after} s.",
    )
    return Response(
        msgspec.json.encode(body), status_code=429, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )
