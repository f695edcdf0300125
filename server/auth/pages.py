"""Staff pages: one plain layout, the sign-in form and the signed-in home.

Server-rendered with htpy, no JavaScript: every action is an HTML form that carries
its CSRF token, so the pages work in any browser and with assistive technology.
"""

from __future__ import annotations

from urllib.parse import urlencode

import htpy as h

from server.auth.csrf import CSRF_FIELD
from server.auth.roles import Principal, Role

SIGN_IN_URL = "/staff/sign-in"
HOME_URL = "/staff"
SIGN_IN_FAILED = "The username or password is wrong, or the account is not in use."


def csrf_input(token: str) -> h.VoidElement:
    return h.input(type="hidden", name=CSRF_FIELD, value=token)


def post_button(action: str, label: str, csrf: str) -> h.Element:
    """A one-button form: the no-JavaScript way to make a state-changing request."""
    return h.form(method="post", action=action)[csrf_input(csrf), h.button(type="submit")[label]]


def layout(title: str, *content: h.Node, nav: h.Node = None) -> str:
    """A complete, accessible HTML document (``lang``, one ``h1``, landmarks)."""
    return str(
        h.html(lang="en")[
            h.head[
                h.meta(charset="utf-8"),
                h.meta(name="viewport", content="width=device-width, initial-scale=1"),
                h.meta(name="robots", content="noindex"),
                h.title[f"{title} – Kaiku staff"],
                h.link(rel="stylesheet", href="/static/staff.css"),
            ],
            h.body[
                h.header[h.p[h.a(href=HOME_URL)["Kaiku staff"]], nav],
                h.main[h.h1[title], content],
            ],
        ]
    )


def sign_in_page(csrf: str, error: str = "", username: str = "", next_path: str = "") -> str:
    """``next_path`` (already checked to be local) rides on the form's action, so signing
    in lands on the page that asked for it."""
    alert = h.p(role="alert", id="sign-in-error")[error] if error else None
    described = {"aria-describedby": "sign-in-error"} if error else {}
    action = f"{SIGN_IN_URL}?{urlencode({'next': next_path})}" if next_path else SIGN_IN_URL
    return layout(
        "Sign in",
        alert,
        h.form(method="post", action=action)[
            csrf_input(csrf),
            h.p[
                h.label(for_="username")["Username"],
                h.br,
                h.input(
                    id="username",
                    name="username",
                    autocomplete="username",
                    required=True,
                    value=username,
                    **described,
                ),
            ],
            h.p[
                h.label(for_="password")["Password"],
                h.br,
                h.input(
                    id="password",
                    name="password",
                    type="password",
                    autocomplete="current-password",
                    required=True,
                    **described,
                ),
            ],
            h.p[h.button(type="submit")["Sign in"]],
        ],
    )


def sign_out_forms(csrf: str) -> h.Node:
    return [
        post_button("/staff/sign-out", "Sign out", csrf),
        post_button("/staff/sign-out-everywhere", "Sign out on every device", csrf),
    ]


def home_page(principal: Principal, csrf: str) -> str:
    links = []
    if principal.roles & {Role.ADMIN, Role.MANAGER}:
        links.append(h.li[h.a(href="/admin/kiosks")["Kiosks"]])
    if principal.roles & {Role.ADMIN, Role.ORGANISER}:
        links.append(h.li[h.a(href="/staff/panels")["Client panels"]])
    roles = ", ".join(sorted(r.value for r in principal.roles))
    return layout(
        "Kaiku staff",
        h.p[f"Signed in as {principal.name} ({roles})."],
        h.nav({"aria-label": "Staff pages"})[h.ul[links]] if links else None,
        h.h2["Session"],
        sign_out_forms(csrf),
    )
