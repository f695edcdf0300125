"""Staff sign-in, sign-out and the page guard that sends anonymous visitors to sign in.

APIs keep answering 401 problem JSON (their callers are programs); pages answer an
anonymous visitor with a redirect to the sign-in form, which is what a person needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers import BaseRouteHandler
from litestar.response import Redirect
from litestar.types import ExceptionHandlersMap, Guard

from server.auth import audit
from server.auth.csrf import checked_form, issue
from server.auth.guards import current_principal, requires, resolve_principal
from server.auth.pages import HOME_URL, SIGN_IN_FAILED, SIGN_IN_URL, home_page, sign_in_page
from server.auth.roles import STAFF_ROLES, Role
from server.auth.sessions import (
    SESSION_COOKIE,
    clear_session_cookie,
    end_all_sessions,
    end_session,
    session_cookie,
    start_session,
)
from server.auth.users import authenticate
from server.errors import Problem
from server.services import ServicesDep


class SignInRequired(Exception):
    """An anonymous visitor asked for a staff page."""


def requires_page(*roles: Role) -> Guard:
    """Like :func:`requires`, for pages people use: an anonymous visitor is redirected to
    the sign-in form, and an API key is refused whatever its role, so a dashboard's
    read-only manager key cannot issue pairing codes or revoke kiosks."""
    api_guard = requires(*roles)

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        principal = await resolve_principal(connection)
        if principal is None:
            raise SignInRequired
        if principal.user_id is None:
            raise Problem(
                403, "staff-sign-in-required", "Staff pages need a staff sign-in, not an API key."
            )
        checked = api_guard(connection, handler)
        if checked is not None:
            await checked

    return guard


def local_path(target: str | None) -> str:
    """Only same-site paths may be a post-sign-in destination (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return HOME_URL


def _next(request: Request[Any, Any, Any]) -> str:
    """The local page to return to after signing in; empty for the staff home."""
    target = local_path(request.query_params.get("next"))
    return "" if target == HOME_URL else target


def sign_in_redirect(request: Request[Any, Any, Any], _exc: Exception) -> Response[Any]:
    return Redirect(f"{SIGN_IN_URL}?next={request.url.path}", status_code=303)


PAGE_EXCEPTION_HANDLERS: ExceptionHandlersMap = {SignInRequired: sign_in_redirect}


def page(html: str, cookies: Sequence[Cookie] = (), status_code: int = 200) -> Response[str]:
    """An HTML staff page; never cached, since it shows one person's view."""
    return Response(
        html,
        media_type=MediaType.HTML,
        status_code=status_code,
        cookies=list(cookies),
        headers={"Cache-Control": "no-store"},
    )


class StaffAuthController(Controller):
    path = "/staff"
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("/", guards=[requires_page(*STAFF_ROLES)])
    async def home(self, request: Request[Any, Any, Any], services: ServicesDep) -> Response[str]:
        csrf, cookies = issue(request, services.settings)
        return page(home_page(current_principal(request), csrf), cookies)

    @get("/sign-in")
    async def sign_in_form(
        self, request: Request[Any, Any, Any], services: ServicesDep
    ) -> Response[str]:
        csrf, cookies = issue(request, services.settings)
        return page(sign_in_page(csrf, next_path=_next(request)), cookies)

    @post("/sign-in")
    async def sign_in(
        self, request: Request[Any, Any, Any], services: ServicesDep
    ) -> Response[Any]:
        """Verify the form; failures look identical whether or not the user exists."""
        form = await checked_form(request, services.settings)
        username = str(form.get("username", "")).strip()[:64]
        password = str(form.get("password", ""))
        async with services.session() as session:
            user = await authenticate(session, username, password)
            if user is None:
                await audit.record(session, "anonymous", "sign-in.failed", f"username:{username}")
                await session.commit()
                csrf, cookies = issue(request, services.settings)
                failed = sign_in_page(csrf, SIGN_IN_FAILED, username, _next(request))
                return page(failed, cookies)
            token = await start_session(session, user.id)
            await audit.record(session, f"user:{user.id}", "sign-in", f"user:{user.id}")
            await session.commit()
        return Redirect(
            local_path(request.query_params.get("next")),
            status_code=303,
            cookies=[session_cookie(token, services.settings)],
        )

    @post("/sign-out")
    async def sign_out(self, request: Request[Any, Any, Any], services: ServicesDep) -> Redirect:
        await checked_form(request, services.settings)
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            async with services.session() as session:
                user_id = await end_session(session, token)
                if user_id is not None:
                    await audit.record(session, f"user:{user_id}", "sign-out", f"user:{user_id}")
                await session.commit()
        return Redirect(
            SIGN_IN_URL, status_code=303, cookies=[clear_session_cookie(services.settings)]
        )

    @post("/sign-out-everywhere", guards=[requires_page(*STAFF_ROLES)])
    async def sign_out_everywhere(
        self, request: Request[Any, Any, Any], services: ServicesDep
    ) -> Redirect:
        """End every session of the signed-in user, e.g. after losing a laptop."""
        await checked_form(request, services.settings)
        principal = current_principal(request)
        assert principal.user_id is not None
        async with services.session() as session:
            ended = await end_all_sessions(session, principal.user_id)
            await audit.record(
                session,
                audit.actor_of(principal),
                "sign-out-everywhere",
                f"user:{principal.user_id}",
                {"sessions": ended},
            )
            await session.commit()
        return Redirect(
            SIGN_IN_URL, status_code=303, cookies=[clear_session_cookie(services.settings)]
        )
