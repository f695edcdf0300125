"""Ratings in: exactly once, per-item batch results, roll-up kept in step."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from server.feedback import repository
from server.feedback.models import Response, ResponseRollup
from tests.feedback.helpers import PATH, STEP, answer, bearer
from tests.support.fixtures import Seeded


def count_rows(run: Any, model: Any = Response) -> int:
    async def count(session: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)))

    return int(run(count))


def test_single_answer_is_stored_once_and_retry_is_a_duplicate(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    body = answer(rating="very_good")
    first = client.post("/api/v1/responses", json=body, headers=bearer(seeded.kiosk_key))
    again = client.post("/api/v1/responses", json=body, headers=bearer(seeded.kiosk_key))

    assert first.status_code == 201, first.text
    assert first.json() == {"id": body["id"], "status": "stored"}
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert count_rows(run) == 1


def test_same_id_with_different_body_is_a_conflict_and_keeps_the_original(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    body = answer(rating="good")
    client.post("/api/v1/responses", json=body, headers=bearer(seeded.kiosk_key))
    changed = client.post(
        "/api/v1/responses", json={**body, "rating": "poor"}, headers=bearer(seeded.kiosk_key)
    )

    assert changed.status_code == 409
    assert changed.json()["type"] == "urn:kaiku:problem:id-conflict"

    async def stored_option(session: Any) -> str:
        return str(await session.scalar(select(Response.option)))

    assert run(stored_option) == "good"


def test_batch_reports_each_item_and_one_bad_item_does_not_sink_the_rest(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    earlier = answer()
    client.post("/api/v1/responses", json=earlier, headers=bearer(seeded.kiosk_key))
    repeated = answer()
    items = [
        answer(),
        earlier,
        answer(rating="11"),
        repeated,
        repeated,
        {**repeated, "rating": "poor"},
        answer(path="no-such-path"),
        answer(step="no-such-step"),
    ]
    reply = client.post(
        "/api/v1/responses/batch", json={"items": items}, headers=bearer(seeded.kiosk_key)
    )

    assert reply.status_code == 200, reply.text
    statuses = [r["status"] for r in reply.json()["results"]]
    assert statuses == [
        "stored",
        "duplicate",
        "rejected",
        "stored",
        "duplicate",
        "rejected",
        "rejected",
        "rejected",
    ]
    reasons = [r["reason"] for r in reply.json()["results"]]
    assert "scale" in reasons[2]
    assert "no-such-path" in reasons[6]
    assert "no-such-step" in reasons[7]
    assert reply.json()["stored"] == 2
    assert count_rows(run) == 3


def test_answer_lands_on_the_kiosks_unit_path_step_and_rollup(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    at = dt.datetime(2026, 3, 2, 9, 41, 12, tzinfo=dt.UTC)
    body = answer(rating="poor", reasons=["waiting_time"], answered_at=at.isoformat())
    client.post("/api/v1/responses", json=body, headers=bearer(seeded.kiosk_key))

    async def read(session: Any) -> tuple[Any, Any]:
        response = await session.scalar(select(Response))
        rollup = await session.scalar(select(ResponseRollup))
        return response, rollup

    response, rollup = run(read)
    assert response.channel == "kiosk"
    assert response.contact_mode == "in_person"
    assert response.kiosk_id is not None
    assert response.answered_at == at
    assert response.reasons == ["waiting_time"]
    assert rollup.bucket == dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    assert (rollup.option, rollup.count, rollup.path_id) == ("poor", 1, response.path_id)
    assert rollup.step_id == response.step_id


def test_nps_path_takes_zero_to_ten_only(client: TestClient[Litestar], seeded: Seeded) -> None:
    # perhetyo in Mustasaari uses the THL recommendation question (0–10); its kiosk is
    # another one, so this kiosk (Vaasa) does not know the path at all.
    reply = client.post(
        "/api/v1/responses",
        json=answer(path="perhetyo", step=None, rating="7"),
        headers=bearer(seeded.kiosk_key),
    )
    assert reply.status_code == 422
    assert "perhetyo" in reply.json()["detail"]


def test_comment_is_scrubbed_before_storage(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    body = answer(
        path="aikuissosiaalityo", step=None, comment="Soita 040 123 4567 tai maija@example.fi"
    )
    reply = client.post("/api/v1/responses", json=body, headers=bearer(seeded.kiosk_key))
    assert reply.status_code == 201, reply.text

    async def comment(session: Any) -> str:
        return str(await session.scalar(select(Response.comment)))

    stored = run(comment)
    assert "123 4567" not in stored
    assert "maija@example.fi" not in stored
    assert stored.startswith("Soita ")


def test_repeat_taps_are_stored_but_flagged(
    app: Litestar, settings: Any, seeded: Seeded, run: Any, client: TestClient[Litestar]
) -> None:
    from dataclasses import replace

    from server.app import create_app

    strict = create_app(replace(settings, misuse_interval_seconds=5))
    base = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with TestClient(strict) as strict_client:
        for offset in (0, 2, 30):
            strict_client.post(
                "/api/v1/responses",
                json=answer(answered_at=(base + dt.timedelta(seconds=offset)).isoformat()),
                headers=bearer(seeded.kiosk_key),
            )

    async def flags(session: Any) -> list[bool]:
        rows = await session.scalars(select(Response.misuse).order_by(Response.answered_at))
        return list(rows)

    assert run(flags) == [False, True, False]


def test_roll_up_equals_recount_after_mixed_traffic(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    items = [answer(rating=r) for r in ("good", "good", "poor", "dont_know")]
    client.post("/api/v1/responses/batch", json={"items": items}, headers=bearer(seeded.kiosk_key))
    client.post(
        "/api/v1/responses/batch",
        json={"items": [*items[:2], answer(step=None)]},
        headers=bearer(seeded.kiosk_key),
    )

    async def both(session: Any) -> tuple[Any, Any, Any]:
        conn = await session.connection()
        return (
            await repository.rollup_contents(conn),
            await repository.recount_from_raw(conn),
            await repository.totals_contents(conn),
        )

    rollup, recount, totals = run(both)
    assert rollup == recount
    assert sum(rollup.values()) == 5
    assert totals == repository.totals_from_rollup(recount)


def test_unknown_id_format_and_fields_are_400_problems(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    for body in (
        {**answer(), "id": "not-a-uuid"},
        {**answer(), "client_name": "Maija"},
        {**answer(), "rating": 5},
        {k: v for k, v in answer().items() if k != "answered_at"},
    ):
        reply = client.post("/api/v1/responses", json=body, headers=bearer(seeded.kiosk_key))
        assert reply.status_code == 400, body
        problem = reply.json()
        assert reply.headers["content-type"].startswith("application/problem+json")
        assert problem["type"] == "urn:kaiku:problem:invalid-request"
        assert problem["status"] == 400
        assert problem["detail"]


def test_malformed_json_is_a_400_problem(client: TestClient[Litestar], seeded: Seeded) -> None:
    reply = client.post(
        "/api/v1/responses",
        content=b'{"id": ',
        headers={**bearer(seeded.kiosk_key), "Content-Type": "application/json"},
    )
    assert reply.status_code == 400
    assert reply.json()["type"] == "urn:kaiku:problem:invalid-request"


def test_oversized_comment_and_batch_are_rejected_clearly(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    long_comment = answer(path="aikuissosiaalityo", step=None, comment="a" * 501)
    reply = client.post("/api/v1/responses", json=long_comment, headers=bearer(seeded.kiosk_key))
    assert reply.status_code == 422
    assert "500 characters" in reply.json()["detail"]

    batch = {"items": [answer() for _ in range(501)]}
    reply = client.post("/api/v1/responses/batch", json=batch, headers=bearer(seeded.kiosk_key))
    assert reply.status_code == 413
    assert reply.json()["type"] == "urn:kaiku:problem:batch-too-large"
    assert count_rows(run) == 0


def test_future_and_naive_timestamps_are_rejected(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    naive = dt.datetime.now().replace(tzinfo=None).isoformat()
    reply = client.post(
        "/api/v1/responses/batch",
        json={"items": [answer(answered_at=future), answer(answered_at=naive)]},
        headers=bearer(seeded.kiosk_key),
    )
    reasons = [r["reason"] for r in reply.json()["results"]]
    assert "future" in reasons[0]
    assert "time zone" in reasons[1]


def test_keys_are_required_and_roles_enforced(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    body = answer()
    cases = [
        ({}, 401, "authentication-required"),
        ({"Authorization": "Basic abc"}, 401, "invalid-credentials"),
        (bearer("kaiku_kk_wrong"), 401, "invalid-credentials"),
        (bearer(seeded.integration_key), 403, "forbidden"),
        (bearer(seeded.metrics_key), 403, "forbidden"),
    ]
    for headers, status, code in cases:
        reply = client.post("/api/v1/responses", json=body, headers=headers)
        assert reply.status_code == status, headers
        assert reply.json()["type"] == f"urn:kaiku:problem:{code}"
    assert count_rows(run) == 0


def test_responses_carry_no_unknown_ids(client: TestClient[Litestar], seeded: Seeded) -> None:
    """Ids must be UUIDs; a uuid1 leaks a MAC address and time, but is still accepted as
    an opaque id (the kiosk sends uuid4)."""
    reply = client.post(
        "/api/v1/responses", json=answer(id=str(uuid.uuid4())), headers=bearer(seeded.kiosk_key)
    )
    assert reply.status_code == 201
    assert set(reply.json()) == {"id", "status"}


def test_path_and_step_constants_match_the_example_catalog(seeded: Seeded, run: Any) -> None:
    from server.catalog.lookup import load_snapshot

    snapshot = run(load_snapshot)
    kiosk = snapshot.kiosks_by_code[seeded.kiosk_code]
    path = snapshot.path(kiosk.unit_id, PATH)
    assert path is not None
    assert STEP in path.steps


def test_large_replies_are_gzipped_and_tiny_ones_skip_compression(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    """Kiosks' browsers always accept gzip: a batch reply (hundreds of bytes per item) is
    compressed, a single answer's ~70-byte reply goes as is, without a gzip stream."""
    headers = {**bearer(seeded.kiosk_key), "Accept-Encoding": "gzip"}
    items = [answer() for _ in range(30)]

    batch = client.post("/api/v1/responses/batch", json={"items": items}, headers=headers)
    single = client.post("/api/v1/responses", json=answer(), headers=headers)

    assert batch.status_code == 200, batch.text
    assert batch.headers.get("content-encoding") == "gzip"
    assert batch.json()["stored"] == 30  # httpx decoded it: the body is valid gzip
    assert single.status_code == 201, single.text
    assert "content-encoding" not in single.headers
