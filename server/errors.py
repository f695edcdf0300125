"""One error shape for every failure: RFC 9457 problem details (``application/problem+json``).

Handlers raise :class:`Problem` (or Litestar's HTTP exceptions); this module turns all
of them — and anything unexpected — into the same JSON shape, without stack traces or
SQL in the body.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

log = logging.getLogger("kaiku.errors")
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "urn:kaiku:problem:"


class ProblemBody(msgspec.Struct, omit_defaults=True):
    """The error shape documented in the OpenAPI schema."""

    type: str
    title: str
    status: int
    detail: str = ""
    errors: list[dict[str, Any]] = []


class Problem(HTTPException):
    """An HTTP error with a stable machine-readable ``type`` (``urn:kaiku:problem:<code>``)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, status_code=status, headers=dict(headers or {}))
        self.code = code
        self.title = title or code.replace("-", " ").capitalize()
        self.errors = [dict(e) for e in errors]


_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    errors: Sequence[Mapping[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    body = ProblemBody(
        type=PROBLEM_BASE + code,
        title=title or _TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=[dict(e) for e in errors],
    )
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    headers = dict(exc.headers or {})
    if isinstance(exc, Problem):
        return problem_response(
            status, exc.code, exc.detail, title=exc.title, errors=exc.errors, headers=headers
        )
    if isinstance(exc, ValidationException):
        errors = exc.extra if isinstance(exc.extra, list) else []
        detail = exc.detail
        if errors and isinstance(errors[0], dict) and "message" in errors[0]:
            detail = f"{exc.detail}: {errors[0]['message']}"
        return problem_response(status, "invalid-request", detail, errors=errors)
    code = (
        "invalid-request"
        if status == 400
        else _TITLES.get(status, "error").lower().replace(" ", "-")
    )
    detail = exc.detail if status < 500 else _TITLES.get(status, "Error")
    return problem_response(status, code, detail, headers=headers)


def _database_unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.warning("database unavailable: %s", type(exc).__name__)
    return problem_response(
        HTTP_503_SERVICE_UNAVAILABLE,
        "database-unavailable",
        "The database is not reachable right now; retry shortly. Nothing was stored.",
        headers={"Retry-After": "5"},
    )


def _database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[bytes]:
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        return _database_unavailable(request, exc)
    return _unexpected(request, exc)


def _too_deep(_: Request[Any, Any, Any], exc: RecursionError) -> Response[bytes]:
    return problem_response(400, "invalid-request", "The JSON body is nested too deeply.")


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error on %s %s", request.method, request.scope.get("path_template"))
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR, "internal-error", "An unexpected error occurred."
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    HTTPException: _http_exception,
    DBAPIError: _database_error,
    PoolTimeoutError: _database_unavailable,
    ConnectionError: _database_unavailable,
    TimeoutError: _database_unavailable,
    RecursionError: _too_deep,
    Exception: _unexpected,
}

PROBLEM_RESPONSE_DOC = {"content": PROBLEM_MEDIA_TYPE}


def problem_responses(*statuses: int) -> dict[int, Any]:
    """OpenAPI ``responses`` entries for problem answers with these statuses."""
    from litestar.openapi.datastructures import ResponseSpec

    return {
        status: ResponseSpec(
            data_container=ProblemBody,
            description=_TITLES.get(status, "Error"),
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in statuses
    }


ANY_API_ERRORS = (400, 404, 409, 413, 415, 422, 429, 503)
GUARDED_API_ERRORS = (401, 403)


def document_problems(routes: Iterable[Any]) -> None:
    """Add the problem answers every JSON operation can give to its OpenAPI responses.

    Done once for the whole app (operations with a guard also get 401/403), so a
    handler cannot forget them; its own ``responses`` entries win.
    """
    for handler in (h for route in routes for h in getattr(route, "route_handlers", ())):
        if not getattr(handler, "include_in_schema", False):
            continue
        guarded = bool(handler.resolve_guards())
        statuses = ANY_API_ERRORS + (GUARDED_API_ERRORS if guarded else ())
        handler.responses = {**problem_responses(*statuses), **(handler.responses or {})}
