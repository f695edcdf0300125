"""Security headers on every kind of response: API, pages, static files, metrics, errors."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from server.auth.roles import Role
from server.feedback.answer_pages import HEADERS as ANSWER_PAGE_HEADERS
from server.security import CSP, DOCS_CSP
from server.settings import Settings
from tests.auth.helpers import add_user, sign_in
from tests.security.helpers import app_routes, client_with, concrete
from tests.support.fixtures import Seeded

FAMILIES = {
    "health JSON": ("GET", "/healthz"),
    "API 401": ("POST", "/api/v1/responses"),
    "kiosk page": ("GET", "/k/vaasa-aula-1"),
    "service worker": ("GET", "/k/sw.js"),
    "staff page": ("GET", "/staff/sign-in"),
    "staff redirect": ("GET", "/staff/"),
    "static file": ("GET", "/static/kiosk.css"),
    "metrics": ("GET", "/metrics"),
    "unknown route 404": ("GET", "/no/such/page"),
    "wrong method 405": ("DELETE", "/healthz"),
    "OpenAPI JSON": ("GET", "/schema/openapi.json"),
}


def test_every_route_family_carries_the_headers(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    for family, (method, url) in FAMILIES.items():
        _check_headers(client.request(method, url, follow_redirects=False), family)


def _check_headers(reply: Any, family: str) -> None:
    assert reply.headers["content-security-policy"] == CSP, family
    assert "script-src 'self';" in CSP
    assert "'unsafe-inline'" not in CSP
    assert "frame-ancestors 'none'" in CSP
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "no-referrer"
    assert reply.headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in reply.headers["permissions-policy"]
    assert "strict-transport-security" not in reply.headers  # served over plain http


def test_answer_pages_keep_their_own_stricter_policy(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    reply = client.get("/a/not-a-real-token")

    assert reply.status_code == 404
    assert (
        reply.headers["content-security-policy"] == ANSWER_PAGE_HEADERS["Content-Security-Policy"]
    )
    assert reply.headers.get_list("content-security-policy") == [
        ANSWER_PAGE_HEADERS["Content-Security-Policy"]
    ]
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_only_the_swagger_page_may_load_its_cdn_script(client: TestClient[Litestar]) -> None:
    docs = client.get("/schema/swagger")

    assert docs.status_code == 200
    assert docs.headers["content-security-policy"] == DOCS_CSP
    assert "cdn.jsdelivr.net" in docs.text
    assert "cdn.jsdelivr.net" not in client.get("/k/sw.js").headers["content-security-policy"]


def test_kiosk_page_has_no_inline_script_the_policy_would_block(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    html = client.get("/k/vaasa-aula-1").text

    for script in html.split("<script")[1:]:
        head = script.split(">", 1)[0]
        assert 'src="' in head or 'type="application/json"' in head, head


def test_hsts_only_when_the_public_url_is_https(settings: Settings) -> None:
    with client_with(settings, public_url="https://kaiku.example.fi") as client:
        for url in ("/healthz", "/no/such/page"):
            assert "max-age=" in client.get(url).headers["strict-transport-security"]


INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def test_every_route_carries_the_headers_and_no_page_needs_inline_script(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    """Each route the app serves, as a signed-in user who may open every staff page."""
    add_user(run, "headers-everyone", Role.ADMIN, Role.MANAGER, Role.ORGANISER)
    assert sign_in(client, "headers-everyone").status_code == 303
    for method, path in sorted(app_routes(client.app)):
        body: dict[str, Any] = {"json": {}} if path.startswith("/api/") else {"data": {}}
        reply = client.request(method, concrete(path), follow_redirects=False, **body)
        where = f"{method} {path} -> {reply.status_code}"
        csp = reply.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp, where
        assert path.startswith("/schema") or "'unsafe-inline'" not in csp, where
        assert reply.headers["x-content-type-options"] == "nosniff", where
        assert reply.headers["referrer-policy"] == "no-referrer", where
        if reply.headers.get("content-type", "").startswith("text/html"):
            assert path.startswith("/schema") or not _inline_scripts(reply.text), where


def _inline_scripts(html: str) -> list[str]:
    """Script the policy would block: <script> without src (JSON data blocks are not
    script) and on…= event handler attributes."""
    heads = [s.split(">", 1)[0] for s in html.split("<script")[1:]]
    inline = [h for h in heads if 'src="' not in h and 'type="application/json"' not in h]
    return inline + INLINE_HANDLER.findall(html)
