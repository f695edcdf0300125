"""Security headers on every response, including 404s and errors.

A ``before_send`` hook (not a route middleware) so that responses Litestar produces
before routing — 404, 405 — carry the headers too. Headers a page already set are
kept: the SMS and QR answer pages send their own, stricter policy.
"""

from __future__ import annotations

from functools import cache

from litestar.types import BeforeMessageSendHookHandler, Message, Scope

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; manifest-src 'self'; worker-src 'self'"
)
# Swagger UI comes from a CDN and starts with an inline script; only its HTML page
# (never the API or any client page) gets this policy.
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (
    f"default-src 'none'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; "
    f"style-src 'self' 'unsafe-inline' {DOCS_CDN}; img-src 'self' data: {DOCS_CDN}; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "interest-cohort=(), browsing-topics=()"
)
HSTS = "max-age=63072000; includeSubDomains"
DOCS_PREFIX = "/schema"


def _is_docs_page(path: str) -> bool:
    return path.startswith(DOCS_PREFIX) and not path.endswith((".json", ".yaml", ".yml"))


def headers_for(path: str, https: bool) -> dict[str, str]:
    """The headers every response to ``path`` should carry (unless it set its own)."""
    headers = {
        "Content-Security-Policy": DOCS_CSP if _is_docs_page(path) else CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


@cache
def _encoded(docs_page: bool, https: bool) -> tuple[tuple[bytes, bytes], ...]:
    """:func:`headers_for` as raw ASGI header pairs, built once per kind of page."""
    path = DOCS_PREFIX if docs_page else "/"
    return tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in headers_for(path, https).items()
    )


def security_headers(public_url: str) -> BeforeMessageSendHookHandler:
    """A hook adding :func:`headers_for` to each response start; HSTS only over https.

    It runs for every response, so it appends pre-encoded pairs to the raw header list
    rather than going through a header mapping per name.
    """
    https = public_url.lower().startswith("https://")

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        raw = list(message.get("headers") or ())
        present = {bytes(name).lower() for name, _ in raw}
        docs_page = _is_docs_page(str(scope.get("path", "")))
        raw.extend(pair for pair in _encoded(docs_page, https) if pair[0] not in present)
        message["headers"] = raw

    return add_headers
