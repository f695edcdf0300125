"""CSRF protection for every staff form: a signed double-submit token.

The ``kaiku_csrf`` cookie holds a random nonce; each form carries
HMAC(secret key, nonce) in a hidden ``csrf_token`` field. A cross-site page can
neither read the cookie nor compute the HMAC, so it cannot forge the field. The
JSON APIs need none of this: they authenticate with bearer keys, not cookies.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie, FormMultiDict

from server.auth.sessions import is_secure
from server.errors import Problem
from server.settings import Settings

CSRF_COOKIE = "kaiku_csrf"
CSRF_FIELD = "csrf_token"


def _sign(nonce: str, settings: Settings) -> str:
    key = settings.effective_secret_key.encode()
    return hmac.new(key, f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def issue(request: Request[Any, Any, Any], settings: Settings) -> tuple[str, list[Cookie]]:
    """The token for a form, and the cookie to set if the browser has none yet."""
    nonce = request.cookies.get(CSRF_COOKIE, "")
    if len(nonce) >= 32:
        return _sign(nonce, settings), []
    nonce = secrets.token_urlsafe(32)
    cookie = Cookie(
        key=CSRF_COOKIE,
        value=nonce,
        path="/",
        httponly=True,
        samesite="strict",
        secure=is_secure(settings),
    )
    return _sign(nonce, settings), [cookie]


async def checked_form(request: Request[Any, Any, Any], settings: Settings) -> FormMultiDict:
    """The submitted form, after checking its CSRF token (403 problem if it is wrong)."""
    form = await request.form()
    nonce = request.cookies.get(CSRF_COOKIE, "")
    presented = str(form.get(CSRF_FIELD, ""))
    if len(nonce) < 32 or not hmac.compare_digest(presented, _sign(nonce, settings)):
        raise Problem(
            403, "csrf-failed", "The form has expired or did not come from Kaiku. Reload and retry."
        )
    return form
