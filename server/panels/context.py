"""The signed join context: where an answer was given, never which answer.

Thank-you pages link to ``/panels/join?ctx=…``. The context names the unit, path, step
and channel, the coarse sentiment, and the day it was issued (for expiry; a day, not a
time, so it cannot be matched to an answer's timestamp). It never carries a response id.
An HMAC with the secret key makes it unforgeable: nobody can claim an experience they
did not have, or a sentiment their answer did not give.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from urllib.parse import quote

import msgspec

SENTIMENTS = ("positive", "neutral", "negative")
CHANNELS = ("kiosk", "sms", "qr", "web")
MAX_AGE_DAYS = 7
KIOSK_MAX_AGE_DAYS = 365
"""A tablet may show one page for months without reloading, so the join link in its QR
code (unit and path only, never a sentiment: the page cannot know the answer) stays valid
for a year. Links that carry a sentiment expire after a week."""


class JoinContext(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    unit: str
    channel: str
    path: str | None = None
    step: str | None = None
    sentiment: str | None = None
    day: str = ""


def _mac(key: str, payload: bytes) -> str:
    digest = hmac.new(key.encode(), b"panel-join:" + payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def sign(key: str, ctx: JoinContext, today: dt.date | None = None) -> str:
    stamped = msgspec.structs.replace(
        ctx, day=(today or dt.datetime.now(dt.UTC).date()).isoformat()
    )
    payload = msgspec.json.encode(stamped)
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_mac(key, payload)}"


def verify(key: str, token: str, today: dt.date | None = None) -> JoinContext | None:
    """The context if the signature is right and it is recent; otherwise ``None``."""
    body, _, mac = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        return None
    if not hmac.compare_digest(mac.encode(), _mac(key, payload).encode()):
        return None
    try:
        ctx = msgspec.json.decode(payload, type=JoinContext)
        issued = dt.date.fromisoformat(ctx.day)
    except (msgspec.DecodeError, ValueError):
        return None
    age = (today or dt.datetime.now(dt.UTC).date()) - issued
    long_lived = ctx.channel == "kiosk" and ctx.sentiment is None
    if (
        not dt.timedelta(0)
        <= age
        <= dt.timedelta(days=KIOSK_MAX_AGE_DAYS if long_lived else MAX_AGE_DAYS)
    ):
        return None
    if ctx.channel not in CHANNELS or (
        ctx.sentiment is not None and ctx.sentiment not in SENTIMENTS
    ):
        return None
    return ctx


def sentiment_of(option: str) -> str | None:
    """Coarse sentiment of an answer option (FFT words or 0-10)."""
    if option in ("very_good", "good"):
        return "positive"
    if option in ("poor", "very_poor"):
        return "negative"
    if option == "neither":
        return "neutral"
    if option.isdigit():
        value = int(option)
        return "positive" if value >= 9 else "negative" if value <= 6 else "neutral"
    return None


def join_url(
    key: str,
    unit: str,
    channel: str,
    path: str | None = None,
    step: str | None = None,
    option: str | None = None,
) -> str:
    """The relative join link a thank-you page offers (public API for other domains)."""
    ctx = JoinContext(
        unit=unit, channel=channel, path=path, step=step, sentiment=sentiment_of(option or "")
    )
    return f"/panels/join?ctx={quote(sign(key, ctx))}"
