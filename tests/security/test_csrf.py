"""CSRF on every form: each POST route outside the JSON API refuses a form without its token.

The routes come from the app, so a new form cannot ship unprotected. Staff and public
forms carry the signed double-submit token (server/auth/csrf.py). The two SMS answer-link
forms carry a nonce derived from the link under the secret key instead; a forged nonce
is refused in tests/sms/test_links.py and tests/sms/test_policy.py, with real links.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from server.auth.roles import Role
from tests.auth.helpers import add_user, csrf_token, sign_in
from tests.security.helpers import app_routes, concrete
from tests.support.fixtures import Seeded

LINK_NONCE = {"/a/{token:str}", "/a/{token:str}/stop"}


def test_every_form_refuses_a_post_without_a_valid_token(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    add_user(run, "csrf-everyone", Role.ADMIN, Role.MANAGER, Role.ORGANISER)
    assert sign_in(client, "csrf-everyone").status_code == 303  # every page guard lets us in
    csrf_token(client)  # the browser holds the cookie; only the form field is missing
    forms = {p for m, p in app_routes(client.app) if m == "POST" and not p.startswith("/api/")}
    assert forms >= LINK_NONCE

    refused: dict[tuple[str, bool], tuple[int, bool]] = {}
    for path in sorted(forms - LINK_NONCE):
        for field in ({}, {"csrf_token": "x" * 64}):
            reply = client.post(concrete(path), data=field, follow_redirects=False)
            refused[path, bool(field)] = (reply.status_code, "csrf-failed" in reply.text)
    assert set(refused.values()) == {(403, True)}, refused
