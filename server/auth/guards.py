"""Role guards. A route declares the roles it accepts; how the caller proved who they
are (API key now, staff session or OpenID Connect later) is resolved in one place."""

from __future__ import annotations

from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.types import Guard

from server.auth.roles import Principal, Role
from server.auth.sessions import SESSION_COOKIE, principal_for_token
from server.errors import Problem

PRINCIPAL_KEY = "kaiku_principal"


async def resolve_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """Authenticate the request once; the result is kept in the ASGI scope."""
    scope = cast("dict[str, Any]", connection.scope)
    if PRINCIPAL_KEY in scope:
        return cast("Principal | None", scope[PRINCIPAL_KEY])
    principal: Principal | None = None
    header = connection.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(
                401,
                "invalid-credentials",
                "Authorization must be 'Bearer <key>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        check = await connection.app.state.services.keys.verify(token.strip())
        if check.revoked:
            raise Problem(
                401,
                "device-key-revoked",
                "This key has been revoked. Ask staff to enrol the device again.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if check.principal is None:
            raise Problem(
                401,
                "invalid-credentials",
                "The key is not valid.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = check.principal
    elif cookie := connection.cookies.get(SESSION_COOKIE):
        services = connection.app.state.services
        principal = await principal_for_token(services.engine, services.settings, cookie)
    scope[PRINCIPAL_KEY] = principal
    return principal


def requires(*roles: Role) -> Guard:
    """Guard admitting callers holding any of ``roles``: 401 if anonymous, 403 if not allowed."""
    allowed = frozenset(roles)

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
    ) -> None:
        principal = await resolve_principal(connection)
        if principal is None:
            raise Problem(
                401,
                "authentication-required",
                "This endpoint needs a key: send 'Authorization: Bearer <key>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not principal.roles & allowed:
            raise Problem(403, "forbidden", "Your credentials do not allow this operation.")

    guard.__name__ = f"requires_{'_'.join(sorted(r.value for r in allowed))}"
    return guard


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The principal a guard already established (handlers behind a guard only)."""
    principal = connection.scope.get(PRINCIPAL_KEY)
    assert isinstance(principal, Principal), "route is missing its guard"
    return principal
