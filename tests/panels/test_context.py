"""The signed join context: unforgeable, expiring, and free of any response id."""

from __future__ import annotations

import datetime as dt

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from server.panels.context import JoinContext, join_url, sentiment_of, sign, verify

KEY = "k" * 40
DAY = dt.date(2026, 11, 1)


def test_the_context_has_no_field_for_a_response() -> None:
    names = set(JoinContext.__struct_fields__)
    assert names == {"unit", "channel", "path", "step", "sentiment", "day"}


def test_round_trip_and_expiry() -> None:
    token = sign(KEY, JoinContext(unit="u", channel="sms", path="p", sentiment="negative"), DAY)

    ctx = verify(KEY, token, DAY + dt.timedelta(days=3))
    assert ctx is not None
    assert (ctx.unit, ctx.sentiment) == ("u", "negative")
    assert verify(KEY, token, DAY + dt.timedelta(days=8)) is None
    assert verify("other" * 10, token, DAY) is None


def test_a_kiosk_qr_link_without_sentiment_outlives_a_tablet_left_on_for_months() -> None:
    kiosk = sign(KEY, JoinContext(unit="u", channel="kiosk", path="p"), DAY)
    with_sentiment = sign(KEY, JoinContext(unit="u", channel="kiosk", sentiment="positive"), DAY)

    assert verify(KEY, kiosk, DAY + dt.timedelta(days=120)) is not None
    assert verify(KEY, kiosk, DAY + dt.timedelta(days=366)) is None
    assert verify(KEY, with_sentiment, DAY + dt.timedelta(days=3)) is not None
    assert verify(KEY, with_sentiment, DAY + dt.timedelta(days=8)) is None


@given(st.text(max_size=200))
def test_arbitrary_tokens_are_rejected_not_crashing(token: str) -> None:
    assert verify(KEY, token, DAY) is None


def test_a_changed_sentiment_breaks_the_signature() -> None:
    token = sign(KEY, JoinContext(unit="u", channel="kiosk", sentiment="positive"), DAY)
    body, mac = token.split(".")
    import base64

    payload = msgspec.json.decode(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["sentiment"] = "negative"
    forged = base64.urlsafe_b64encode(msgspec.json.encode(payload)).decode().rstrip("=")
    assert verify(KEY, f"{forged}.{mac}", DAY) is None


def test_join_url_maps_answers_to_coarse_sentiment() -> None:
    assert join_url(KEY, "u", "qr", "p", None, "very_poor").startswith("/panels/join?ctx=")
    assert [sentiment_of(o) for o in ("good", "neither", "poor", "10", "7", "3", "dont_know")] == [
        "positive",
        "neutral",
        "negative",
        "positive",
        "neutral",
        "negative",
        None,
    ]
