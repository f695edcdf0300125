"""Security headers on every kind of response: API, pages, static files, metrics, errors."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from server.feedback.answer_pages import HEADERS as ANSWER_PAGE_HEADERS
from server.security import CSP, DOCS_CSP
from server.settings import Settings
from tests.security.helpers import client_with
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
