"""Bad input at the ingest endpoints: never a 5xx, always the problem shape, nothing stored."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import create_app
from server.feedback import repository
from server.feedback.models import Response
from server.feedback.scales import FFT_OPTIONS, NPS_OPTIONS
from server.feedback.schemas import ResponseIn
from server.settings import Settings
from tests.feedback.helpers import answer, bearer
from tests.support.fixtures import Seeded

SINGLE = "/api/v1/responses"
BATCH = "/api/v1/responses/batch"
FIELDS = ("id", "path", "step", "rating", "reasons", "comment", "language", "answered_at")
PROBLEM_KEYS = {"type", "title", "status", "detail"}

# --- strategies ------------------------------------------------------------------------

# Text with what breaks naive code: NUL, right-to-left marks, emoji, quotes; comments of
# answers that should be accepted are drawn from this.
odd_text = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=["Cs"]),
        st.sampled_from(["\x00", "\x07", "\u202e", "\U0001f600", '"', "\\"]),
    ),
    max_size=40,
)
# ... plus lone surrogates, which no valid UTF-8 body can carry (json.dumps escapes them).
nasty_text = st.one_of(
    odd_text, st.text(alphabet=st.characters(exclude_categories=()), max_size=10)
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    nasty_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(nasty_text, inner, max_size=4),
    max_leaves=12,
)
huge_strings = st.sampled_from([10_000, 200_000, 900_000]).map(lambda n: "é" * (n // 2))


def _roundtrip(body: dict[str, Any]) -> dict[str, Any]:
    """Only bodies that the API's own schema accepts count as valid."""
    try:
        decoded = msgspec.json.decode(msgspec.json.encode(body), type=ResponseIn)
    except (UnicodeEncodeError, msgspec.DecodeError, msgspec.ValidationError):
        reject()  # e.g. a lone surrogate: not encodable as UTF-8, so not a valid body
    built: dict[str, Any] = msgspec.to_builtins(decoded)
    return built


def _body(
    ident: Any,
    target: tuple[str, str | None],
    rating: str,
    reasons: list[str],
    comment: str | None,
    language: str,
    age: dt.timedelta,
) -> dict[str, Any]:
    path, step = target
    at = (dt.datetime.now(dt.UTC) - age).isoformat()
    return {
        "id": str(ident),
        "path": path,
        "step": step,
        "rating": rating,
        "reasons": reasons,
        "comment": comment,
        "language": language,
        "answered_at": at,
    }


languages = st.sampled_from(["fi", "sv", "en", "selko", "ar"])
# Answers the seeded kiosk can store: the property then also covers storing odd comments.
storable_answers = st.builds(
    _body,
    st.uuids(),
    st.sampled_from(
        [("toimeentulotuki", "hakemus"), ("toimeentulotuki", None), ("aikuissosiaalityo", None)]
    ),
    st.sampled_from(FFT_OPTIONS),
    st.lists(st.just("waiting_time"), max_size=1),
    st.none() | odd_text,
    languages,
    st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=300)),
)
# Schema-valid answers that the catalog, the scale or the clock must refuse.
refusable_answers = st.builds(
    _body,
    st.uuids(),
    st.sampled_from(
        [
            ("perhetyo", None),
            ("toimeentulotuki", "ei-ole"),
            ("ei-ole", None),
            ("toimeentulotuki", "hakemus"),
        ]
    ),
    st.sampled_from([*FFT_OPTIONS, *NPS_OPTIONS, "excellent", "GOOD"]),
    st.lists(st.sampled_from(["waiting_time", "clarity", "being_heard", "premises"]), max_size=3),
    st.none() | odd_text,
    languages,
    st.timedeltas(min_value=dt.timedelta(days=-1), max_value=dt.timedelta(days=400)),
)
valid_answers = st.one_of(storable_answers, refusable_answers).map(_roundtrip)


@st.composite
def mutated_answers(draw: st.DrawFn) -> dict[str, Any]:
    """A schema-valid answer with one field replaced, removed, or one field added."""
    body = dict(draw(valid_answers))
    action = draw(st.sampled_from(["replace", "remove", "add", "huge"]))
    key = draw(st.sampled_from(FIELDS))
    if action == "replace":
        body[key] = draw(json_values)
    elif action == "remove":
        body.pop(key)
    elif action == "add":
        body[draw(nasty_text.filter(lambda k: k not in FIELDS))] = draw(json_values)
    else:
        body[key] = draw(huge_strings)
    return body


wrong_types = st.dictionaries(st.sampled_from(FIELDS), json_values)
answer_like = st.one_of(valid_answers, mutated_answers(), wrong_types, json_values)
batches = st.one_of(
    # schema-valid items: the batch is taken, each item stored, a duplicate or rejected
    st.builds(lambda items: {"items": items}, st.lists(valid_answers, min_size=1, max_size=6)),
    st.builds(lambda items: {"items": items}, st.lists(answer_like, max_size=6)),
    st.builds(
        lambda items, extra: {"items": items, **extra},
        st.lists(valid_answers, max_size=2),
        st.dictionaries(nasty_text, json_values, min_size=1, max_size=2),
    ),
    json_values,
)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _encode(value: Any) -> bytes:
    # json.dumps escapes lone surrogates, as a buggy client would send them
    return json.dumps(value).encode()


requests = st.one_of(
    st.tuples(st.just(SINGLE), answer_like.map(_encode)),
    st.tuples(st.just(BATCH), batches.map(_encode)),
    st.tuples(st.sampled_from([SINGLE, BATCH]), st.binary(max_size=200)),
    st.tuples(
        st.sampled_from([SINGLE, BATCH]),
        st.integers(1, 100_000).map(nested),
    ),
)


# --- checks ----------------------------------------------------------------------------


async def _state(session: AsyncSession) -> tuple[int, dict[Any, int]]:
    conn = await session.connection()
    rollup = await repository.rollup_contents(conn)
    assert rollup == await repository.recount_from_raw(conn)
    return await repository.count_responses(conn), rollup


def assert_problem(reply: Any) -> None:
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.text
    problem = reply.json()
    assert set(problem) >= PROBLEM_KEYS, problem
    assert problem["status"] == reply.status_code
    assert problem["type"].startswith("urn:kaiku:problem:")
    assert problem["detail"].strip(), "a message a developer can act on"


def stored_by(path: str, reply: Any) -> int:
    if reply.status_code >= 400:
        return 0
    body = reply.json()
    if path == SINGLE:
        return 1 if body["status"] == "stored" else 0
    return int(body["stored"])


@pytest.fixture
def cached_client(settings: Settings, seeded: Seeded) -> Iterator[TestClient[Litestar]]:
    """An app that caches the catalog and keys, which nothing here changes (faster)."""
    app = create_app(replace(settings, auth_cache_seconds=60, metrics_refresh_seconds=60))
    with TestClient(app) as client:
        yield client


# --- tests -----------------------------------------------------------------------------


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sent=requests)
def test_arbitrary_bodies_never_break_the_api_or_change_stored_data(
    cached_client: TestClient[Litestar], seeded: Seeded, run: Any, sent: tuple[str, bytes]
) -> None:
    path, content = sent
    before_count, before_rollup = run(_state)
    reply = cached_client.post(
        path,
        content=content,
        headers={**bearer(seeded.kiosk_key), "Content-Type": "application/json"},
    )
    event(f"{path} → {reply.status_code}")  # see --hypothesis-show-statistics
    assert reply.status_code < 500, reply.text
    if reply.status_code >= 400:
        assert_problem(reply)
    else:
        assert reply.headers["content-type"].startswith("application/json")

    after_count, after_rollup = run(_state)
    stored = stored_by(path, reply)
    assert after_count == before_count + stored
    if not stored:
        assert after_rollup == before_rollup


@pytest.mark.parametrize("path", [SINGLE, BATCH])
def test_bodies_over_one_megabyte_are_413_problems(
    client: TestClient[Litestar], seeded: Seeded, run: Any, path: str
) -> None:
    padded = answer(comment="x" * 1_000_001)
    body = json.dumps(padded if path == SINGLE else {"items": [padded]}).encode()
    reply = client.post(
        path, content=body, headers={**bearer(seeded.kiosk_key), "Content-Type": "application/json"}
    )
    assert reply.status_code == 413
    assert_problem(reply)
    assert run(_state) == (0, {})


def test_a_streamed_body_over_one_megabyte_is_a_413_problem(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    """Without Content-Length the limit must still hold while the body is read."""

    def chunks() -> Iterator[bytes]:
        yield b'{"items": ["'
        for _ in range(20):
            yield b"x" * 100_000
        yield b'"]}'

    reply = client.post(
        BATCH,
        content=chunks(),
        headers={**bearer(seeded.kiosk_key), "Content-Type": "application/json"},
    )
    assert reply.status_code == 413
    assert_problem(reply)
    assert run(_state) == (0, {})


@pytest.mark.parametrize("path", [SINGLE, BATCH])
def test_very_deep_nesting_is_a_400_problem(
    client: TestClient[Litestar], seeded: Seeded, path: str
) -> None:
    reply = client.post(
        path,
        content=nested(100_000),
        headers={**bearer(seeded.kiosk_key), "Content-Type": "application/json"},
    )
    assert reply.status_code == 400
    assert_problem(reply)


def test_control_characters_are_removed_from_comments(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    body = answer(path="aikuissosiaalityo", step=None, comment="Kiitos\x00 hyvä\x07 palvelu")
    reply = client.post(SINGLE, json=body, headers=bearer(seeded.kiosk_key))
    assert reply.status_code == 201, reply.text

    async def comment(session: AsyncSession) -> str:
        return str(await session.scalar(select(Response.comment)))

    assert run(comment) == "Kiitos hyvä palvelu"
