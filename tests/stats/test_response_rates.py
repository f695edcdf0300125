"""GET /api/v1/stats/response-rates: the invitation funnel per path/step/mode, suppressed."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as hs
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.catalog.lookup import load_snapshot
from server.feedback.invitation_models import Invitation
from server.feedback.invitations import InvitationCounts
from server.feedback.response_rates import response_rate_row
from server.feedback.statistics import wilson
from tests.feedback.helpers import bearer
from tests.stats.helpers import FFT_PATH, UNIT, manager_key
from tests.support.fixtures import Seeded

Client = TestClient[Litestar]
Run = Callable[..., Any]
SENT = dt.datetime(2026, 10, 14, 9, tzinfo=dt.UTC)
URL = "/api/v1/stats/response-rates"


@pytest.fixture
def manager(seeded: Seeded, run: Run) -> dict[str, str]:
    return bearer(run(manager_key))


def invitations(
    run: Run,
    n: int,
    *,
    step: str | None = "ensitapaaminen",
    mode: str = "video",
    delivered: int = 0,
    failed: int = 0,
    answered: int = 0,
    sent: dt.datetime | None = SENT,
) -> None:
    """``n`` sent invitations, the first ``delivered`` delivered, the first ``answered``
    answered, plus ``failed`` that the gateway never accepted."""

    async def add(session: AsyncSession) -> None:
        catalog = await load_snapshot(session)
        path = catalog.path(catalog.unit_id(UNIT) or 0, FFT_PATH)
        assert path is not None
        rows = []
        for i in range(n + failed):
            ok = i < n
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "idempotency_key": f"k-{uuid.uuid4()}",
                    "request_fingerprint": "f",
                    "unit_id": path.unit_id,
                    "path_id": path.id,
                    "step_id": path.steps[step].id if step else None,
                    "contact_mode": mode,
                    "language": "fi",
                    "phone_hash": "h",
                    "state": "sent" if ok else "failed",
                    "contact_ended_at": SENT,
                    "created_at": SENT,
                    "sent_at": sent if ok else None,
                    "delivered_at": sent if ok and i < delivered else None,
                    "failed_at": None if ok else SENT,
                    "answered_at": sent if ok and i < answered else None,
                }
            )
        await session.execute(insert(Invitation), rows)

    run(add)


def rates(client: Client, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    reply = client.get(URL, params=params, headers=headers)
    assert reply.status_code == 200, reply.text
    rows: list[dict[str, Any]] = reply.json()
    return rows


def test_counts_rate_and_wilson_interval_per_step_and_mode(
    client: Client, manager: dict[str, str], run: Run
) -> None:
    invitations(run, 40, delivered=34, answered=12, failed=6)
    invitations(run, 20, mode="phone", delivered=20, answered=10)
    got = {(r["step"], r["contact_mode"]): r for r in rates(client, manager)}
    video = got[("ensitapaaminen", "video")]
    assert (video["sent"], video["delivered"], video["failed"], video["answered"]) == (
        40,
        34,
        6,
        12,
    )
    expected = wilson(12, 40)
    assert video["response_rate"] == pytest.approx(0.3)
    assert (video["response_rate_low"], video["response_rate_high"]) == pytest.approx(
        (expected.low, expected.high)
    )
    assert got[("ensitapaaminen", "phone")]["response_rate"] == pytest.approx(0.5)
    assert (video["unit"], video["path"], video["suppressed"]) == (UNIT, FFT_PATH, False)


def test_filters_select_mode_step_and_the_days_sent(
    client: Client, manager: dict[str, str], run: Run
) -> None:
    invitations(run, 10, answered=5)
    invitations(run, 10, mode="phone", answered=5)
    invitations(run, 10, step="paatos", answered=5, sent=SENT + dt.timedelta(days=10))
    assert [r["contact_mode"] for r in rates(client, manager, contact_mode="phone")] == ["phone"]
    only_step = rates(client, manager, unit=UNIT, path=FFT_PATH, step="paatos")
    assert [(r["step"], r["sent"]) for r in only_step] == [("paatos", 10)]
    october_14 = rates(client, manager, **{"from": "2026-10-14", "to": "2026-10-14"})
    assert sorted(r["contact_mode"] for r in october_14) == ["phone", "video"]
    assert rates(client, manager, unit=UNIT, channel="kiosk") == []
    assert client.get(URL, params={"path": "nope"}, headers=manager).status_code == 400


def test_small_cells_are_suppressed_and_the_rate_with_them(
    client: Client, manager: dict[str, str], run: Run
) -> None:
    invitations(run, 3, answered=1)  # a tiny series: nothing but "suppressed"
    invitations(run, 30, mode="phone", delivered=29, answered=2)
    got = {r["contact_mode"]: r for r in rates(client, manager)}
    tiny = got["video"]
    assert tiny["sent"] is tiny["answered"] is tiny["response_rate"] is None
    assert tiny["suppressed"]
    phone = got["phone"]
    assert phone["sent"] == 30
    assert phone["answered"] is phone["response_rate"] is None  # 2 answers
    assert phone["delivered"] is None  # 30 - 29 = 1 undelivered would give it away


def test_csv_and_only_managers(client: Client, seeded: Seeded, manager: dict[str, str]) -> None:
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers=bearer(seeded.kiosk_key)).status_code == 403
    reply = client.get(f"{URL}.csv", headers=manager)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")


@given(
    sent=hs.integers(0, 60),
    parts=hs.lists(hs.floats(0, 1), min_size=3, max_size=3),
    failed=hs.integers(0, 10),
)
def test_no_shown_number_is_small_or_gives_a_small_one_away(
    sent: int, parts: list[float], failed: int
) -> None:
    delivered, answered = (round(sent * p) for p in parts[:2])
    counts = {"sent": sent, "delivered": delivered, "failed": failed, "answered": answered}
    counts.update(scheduled=0, skipped=0)
    row = response_rate_row(InvitationCounts(UNIT, FFT_PATH, "", "video", counts), 5)
    for value in (row.sent, row.delivered, row.failed, row.answered):
        assert value is None or value == 0 or value >= 5
    if row.sent is not None:
        for part in (row.delivered, row.answered):
            assert part is None or row.sent - part == 0 or row.sent - part >= 5
    if row.response_rate is not None:
        assert row.sent
        assert row.answered is not None
        assert row.response_rate_low is not None
        assert row.response_rate_high is not None
        assert row.response_rate_low <= row.response_rate <= row.response_rate_high
