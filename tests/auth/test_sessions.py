"""Staff sign-in: cookies, identical failures, timeouts, sign-out (everywhere), CSRF."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.controllers import local_path
from server.auth.csrf import CSRF_COOKIE
from server.auth.models import StaffSession
from server.auth.roles import Role
from server.auth.sessions import SESSION_COOKIE, clear_session_cookie, session_cookie
from server.settings import Settings
from tests.auth.helpers import PASSWORD, add_user, audit_events, csrf_token, sign_in, signed_in
from tests.security.helpers import client_with


def _sessions(run: Any) -> list[StaffSession]:
    async def fetch(session: AsyncSession) -> list[StaffSession]:
        return list(await session.scalars(select(StaffSession)))

    return list(run(fetch))


def _age_sessions(run: Any, **ages: dt.timedelta) -> None:
    now = dt.datetime.now(dt.UTC)

    async def age(session: AsyncSession) -> None:
        await session.execute(update(StaffSession).values({k: now - v for k, v in ages.items()}))

    run(age)


def _is_signed_in(client: TestClient[Litestar]) -> bool:
    reply = client.get("/staff/", follow_redirects=False)
    assert reply.status_code in (200, 303), reply.text
    return reply.status_code == 200


def test_sign_in_sets_a_strict_httponly_cookie_and_stores_only_its_hash(
    client: TestClient[Litestar], run: Any
) -> None:
    user_id = add_user(run, "aino", Role.MANAGER)

    reply = sign_in(client, "aino")

    assert reply.status_code == 303
    assert reply.headers["location"] == "/staff"
    header = next(h for h in reply.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "httponly" in header.lower()
    assert "samesite=strict" in header.lower()
    assert "path=/" in header.lower()
    assert "secure" not in header.lower()  # http public URL; https gets Secure
    token = reply.cookies[SESSION_COOKIE]
    [stored] = _sessions(run)
    assert stored.user_id == user_id
    assert token not in stored.id
    assert len(stored.id) == 64
    assert _is_signed_in(client)
    assert "aino" in client.get("/staff/").text
    assert [e.actor for e in audit_events(run, "sign-in")] == [f"user:{user_id}"]


def test_over_https_the_session_and_form_cookies_are_secure(settings: Settings) -> None:
    https = replace(settings, public_url="https://kaiku.example.fi")
    for cookie in (session_cookie("token", https), clear_session_cookie(https)):
        assert (cookie.secure, cookie.httponly, cookie.samesite) == (True, True, "strict")
    with client_with(https) as client:
        form_cookie = client.get("/staff/sign-in").headers["set-cookie"].lower()
    assert CSRF_COOKIE in form_cookie
    assert "secure" in form_cookie
    assert "samesite=strict" in form_cookie


def test_wrong_password_and_unknown_user_look_the_same(
    client: TestClient[Litestar], run: Any
) -> None:
    add_user(run, "aino", Role.ADMIN)

    wrong = sign_in(client, "aino", "not the password")
    unknown = sign_in(client, "nobody", "not the password")

    assert wrong.status_code == unknown.status_code == 200
    assert wrong.text.replace("aino", "X") == unknown.text.replace("nobody", "X")
    assert "wrong" in wrong.text
    assert SESSION_COOKIE not in wrong.cookies
    assert SESSION_COOKIE not in unknown.cookies
    assert not _is_signed_in(client)
    failures = audit_events(run, "sign-in.failed")
    assert [e.subject for e in failures] == ["username:aino", "username:nobody"]
    assert all("not the password" not in f"{e.subject}{e.detail}" for e in failures)


def test_a_session_idle_too_long_is_refused(client: TestClient[Litestar], run: Any) -> None:
    signed_in(client, run, Role.ADMIN)
    _age_sessions(run, last_seen_at=dt.timedelta(minutes=29))
    assert _is_signed_in(client)

    _age_sessions(run, last_seen_at=dt.timedelta(minutes=31))

    assert not _is_signed_in(client)


def test_activity_moves_last_seen_at_most_once_a_minute(
    client: TestClient[Litestar], run: Any
) -> None:
    signed_in(client, run, Role.ADMIN)
    [fresh] = _sessions(run)
    assert _is_signed_in(client)
    assert _sessions(run)[0].last_seen_at == fresh.last_seen_at

    _age_sessions(run, last_seen_at=dt.timedelta(minutes=5))
    assert _is_signed_in(client)

    assert _sessions(run)[0].last_seen_at > fresh.last_seen_at - dt.timedelta(seconds=1)


def test_a_session_past_its_absolute_lifetime_is_refused_however_active(
    client: TestClient[Litestar], run: Any
) -> None:
    signed_in(client, run, Role.ADMIN)

    _age_sessions(run, created_at=dt.timedelta(hours=12, minutes=1), last_seen_at=dt.timedelta())

    assert not _is_signed_in(client)


def test_sign_out_ends_the_session(client: TestClient[Litestar], run: Any) -> None:
    user_id = signed_in(client, run, Role.ORGANISER)
    token = client.cookies[SESSION_COOKIE]

    reply = client.post(
        "/staff/sign-out", data={"csrf_token": csrf_token(client)}, follow_redirects=False
    )

    assert reply.status_code == 303
    client.cookies.set(SESSION_COOKIE, token)
    assert not _is_signed_in(client)
    assert [e.actor for e in audit_events(run, "sign-out")] == [f"user:{user_id}"]


def test_sign_out_everywhere_ends_every_session_of_the_user(
    client: TestClient[Litestar], run: Any
) -> None:
    user_id = signed_in(client, run, Role.MANAGER, "aino")
    other_device = client.cookies[SESSION_COOKIE]
    client.cookies.delete(SESSION_COOKIE)
    assert sign_in(client, "aino").status_code == 303

    token = csrf_token(client, "/staff/")
    reply = client.post(
        "/staff/sign-out-everywhere", data={"csrf_token": token}, follow_redirects=False
    )

    assert reply.status_code == 303
    assert not _is_signed_in(client)
    client.cookies.set(SESSION_COOKIE, other_device)
    assert not _is_signed_in(client)
    assert all(s.revoked_at is not None for s in _sessions(run) if s.user_id == user_id)
    [event] = audit_events(run, "sign-out-everywhere")
    assert event.detail == {"sessions": 2}


def test_sign_out_everywhere_leaves_other_users_signed_in(
    client: TestClient[Litestar], run: Any
) -> None:
    signed_in(client, run, Role.MANAGER, "aino")
    aino = client.cookies[SESSION_COOKIE]
    client.cookies.delete(SESSION_COOKIE)
    signed_in(client, run, Role.MANAGER, "bertta")

    token = csrf_token(client, "/staff/")
    client.post("/staff/sign-out-everywhere", data={"csrf_token": token})

    client.cookies.set(SESSION_COOKIE, aino)
    assert _is_signed_in(client)


def test_forms_without_the_csrf_token_are_refused(client: TestClient[Litestar], run: Any) -> None:
    add_user(run, "aino", Role.ADMIN)
    csrf_token(client)  # the browser has the CSRF cookie, but the form lacks the field

    no_token = client.post("/staff/sign-in", data={"username": "aino", "password": PASSWORD})
    forged = client.post(
        "/staff/sign-in", data={"username": "aino", "password": PASSWORD, "csrf_token": "x" * 64}
    )

    assert no_token.status_code == forged.status_code == 403
    assert no_token.json()["type"] == "urn:kaiku:problem:csrf-failed"
    assert _sessions(run) == []


def test_the_csrf_token_is_tied_to_the_browsers_cookie(
    client: TestClient[Litestar], run: Any
) -> None:
    add_user(run, "aino", Role.ADMIN)
    token = csrf_token(client)
    client.cookies.clear()
    csrf_token(client)  # a different browser, with its own cookie

    reply = client.post(
        "/staff/sign-in", data={"username": "aino", "password": PASSWORD, "csrf_token": token}
    )

    assert reply.status_code == 403


def test_the_sign_in_page_is_accessible_without_javascript(client: TestClient[Litestar]) -> None:
    page = client.get("/staff/sign-in").text

    assert '<html lang="en">' in page
    assert "<h1>Sign in</h1>" in page
    assert '<label for="username">' in page
    assert 'id="username"' in page
    assert '<label for="password">' in page
    assert 'id="password"' in page
    assert "<script" not in page


@given(st.text(max_size=40))
def test_after_sign_in_only_local_paths_are_followed(target: str) -> None:
    path = local_path(target)

    assert path.startswith("/")
    assert not path.startswith(("//", "/\\"))
