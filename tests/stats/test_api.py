"""The statistics API over a real database: auth, filters, suppression, exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from litestar import Litestar
from litestar.testing import TestClient

from server.feedback.statistics import Table
from tests.auth.helpers import audit_events
from tests.feedback.helpers import bearer
from tests.stats.helpers import FFT_PATH, NPS_PATH, UNIT, add_rollups, clear_rollups, manager_key
from tests.support.fixtures import Seeded

Client = TestClient[Litestar]
Run = Callable[..., Any]


@pytest.fixture
def manager(seeded: Seeded, run: Run) -> dict[str, str]:
    return bearer(run(manager_key))


def load(run: Run, *answers: Any) -> None:
    run(lambda s: add_rollups(s, answers))


def table(client: Client, headers: dict[str, str], **params: Any) -> Table:
    reply = client.get("/api/v1/stats/summary", params=params, headers=headers)
    assert reply.status_code == 200, reply.text
    return msgspec.json.decode(reply.content, type=Table)


def test_needs_a_manager(client: Client, seeded: Seeded, manager: dict[str, str]) -> None:
    assert client.get("/api/v1/stats/summary").status_code == 401
    assert client.get("/api/v1/stats/summary", headers=bearer(seeded.kiosk_key)).status_code == 403
    assert client.get("/overview", headers=bearer(seeded.metrics_key)).status_code == 403
    assert client.get("/api/v1/stats/summary", headers=manager).status_code == 200


def test_summary_counts_shares_and_misuse(
    client: Client, run: Run, manager: dict[str, str]
) -> None:
    load(
        run,
        (FFT_PATH, None, "kiosk", "in_person", "very_good", 12),
        (FFT_PATH, None, "kiosk", "in_person", "good", 18),
        (FFT_PATH, None, "kiosk", "in_person", "poor", 10),
        (
            FFT_PATH,
            None,
            "kiosk",
            "in_person",
            "very_poor",
            40,
            dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
            True,
        ),
    )
    t = table(client, manager, unit=UNIT, path=FFT_PATH)
    assert t.total.n.count == 40
    assert t.total.options["good"].count == 18
    assert t.total.options["neither"].count == 0
    assert t.total.share_positive.value == pytest.approx(0.75)
    assert t.total.share_positive.low is not None
    assert 0.59 < t.total.share_positive.low < 0.75 < (t.total.share_positive.high or 0) < 0.87
    assert t.total.share_negative.value == pytest.approx(0.25)
    with_misuse = table(client, manager, unit=UNIT, path=FFT_PATH, include_misuse="true")
    assert with_misuse.total.n.count == 80


def test_small_group_is_hidden_everywhere_in_the_reply(
    client: Client, run: Run, manager: dict[str, str]
) -> None:
    load(
        run,
        (FFT_PATH, None, "kiosk", "in_person", "good", 20),
        (FFT_PATH, None, "kiosk", "in_person", "poor", 9),
        (FFT_PATH, None, "sms", "video", "very_poor", 3),
    )
    raw = client.get("/api/v1/stats/summary", params={"group_by": "channel"}, headers=manager)
    t = msgspec.json.decode(raw.content, type=Table)
    sms = next(g for g in t.groups if g.key == "sms")
    kiosk = next(g for g in t.groups if g.key == "kiosk")
    assert sms.n.count is None
    assert sms.n.suppressed
    assert sms.share_negative.value is None
    # total − kiosk would be the hidden 3.
    assert t.total.n.count is None or kiosk.n.count is None
    assert t.total.share_negative.value is None
    assert t.total.options["very_poor"].count is None
    assert not re.search(rb'"count":3[,}]', raw.content)


def test_local_dates_and_trend(client: Client, run: Run, manager: dict[str, str]) -> None:
    # 21:30 UTC on 31 March is 00:30 on 1 April in Helsinki (summer time).
    late = dt.datetime(2026, 3, 31, 21, 30, tzinfo=dt.UTC)
    early = dt.datetime(2026, 3, 31, 20, 30, tzinfo=dt.UTC)
    load(
        run,
        (FFT_PATH, None, "kiosk", "in_person", "good", 7, late),
        (FFT_PATH, None, "kiosk", "in_person", "good", 6, early),
    )
    april = table(client, manager, **{"from": "2026-04-01", "to": "2026-04-30"})
    assert april.total.n.count == 7
    reply = client.get("/api/v1/stats/trend", params={"interval": "month"}, headers=manager)
    trend = msgspec.json.decode(reply.content, type=Table)
    assert [(g.key, g.n.count) for g in trend.groups] == [("2026-03-01", 6), ("2026-04-01", 7)]
    hours = client.get("/api/v1/stats/patterns.csv", params={"pattern": "hour"}, headers=manager)
    assert hours.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(hours.text)))
    assert {r["group"]: r["n"] for r in rows} == {"00": "7", "23": "6", "total": "13"}


def test_compare_contact_modes_notes_noise(
    client: Client, run: Run, manager: dict[str, str]
) -> None:
    load(
        run,
        (FFT_PATH, None, "sms", "video", "good", 7),
        (FFT_PATH, None, "sms", "video", "poor", 5),
        (FFT_PATH, None, "kiosk", "in_person", "good", 8),
        (FFT_PATH, None, "kiosk", "in_person", "poor", 5),
    )
    reply = client.get("/api/v1/stats/compare", params={"by": "contact_mode"}, headers=manager)
    body = reply.json()
    [pair] = body["comparisons"]
    assert {pair["a"], pair["b"]} == {"in_person", "video"}
    assert pair["within_noise"] is True
    assert "noise" in pair["note"]


def test_exports_nhs_fft_and_nps(client: Client, run: Run, manager: dict[str, str]) -> None:
    load(
        run,
        (FFT_PATH, None, "kiosk", "in_person", "very_good", 30),
        (FFT_PATH, None, "kiosk", "in_person", "poor", 2),
        (FFT_PATH, None, "sms", "video", "good", 6),
        (NPS_PATH, None, "kiosk", "in_person", "10", 9),
        (NPS_PATH, None, "kiosk", "in_person", "3", 6),
    )
    nhs = client.get(
        "/api/v1/stats/export/nhs-fft.csv", params={"month": "2026-10"}, headers=manager
    )
    [row] = list(csv.DictReader(io.StringIO(nhs.text)))
    assert row["path"] == FFT_PATH
    assert row["very_good"] == "30"
    assert row["poor"] == "*"
    assert row["total"] == "38"
    # good (6) is the next-smallest and hides with poor, so poor cannot be recovered.
    assert row["good"] == "*"
    nps = client.get("/api/v1/stats/export/nps", headers=manager).json()
    [summary] = nps
    assert summary["path"] == NPS_PATH
    assert summary["n"] == 15
    assert summary["nps"] == pytest.approx(100 * (9 - 6) / 15)
    bad = client.get("/api/v1/stats/export/nhs-fft", params={"month": "10/2026"}, headers=manager)
    assert bad.status_code == 400


def test_unknown_codes_are_clear_errors(client: Client, manager: dict[str, str]) -> None:
    for params, code in (
        ({"path": "nope"}, "unknown-path"),
        ({"unit": "nope"}, "unknown-unit"),
        ({"step": "hakemus"}, "step-needs-path"),
        ({"unit": UNIT, "path": FFT_PATH, "step": "nope"}, "unknown-step"),
    ):
        reply = client.get("/api/v1/stats/summary", params=params, headers=manager)
        assert reply.status_code == 400
        assert reply.json()["type"].endswith(code)
    assert (
        client.get("/api/v1/stats/summary", params={"channel": "fax"}, headers=manager).status_code
        == 400
    )
    ok = client.get(
        "/api/v1/stats/summary",
        params={"unit": UNIT, "path": FFT_PATH, "step": "hakemus"},
        headers=manager,
    )
    assert ok.status_code == 200


def test_overview_page_has_a_table_beside_the_bars(
    client: Client, run: Run, manager: dict[str, str]
) -> None:
    load(
        run,
        (FFT_PATH, None, "kiosk", "in_person", "good", 20),
        (NPS_PATH, None, "kiosk", "in_person", "9", 10),
        (NPS_PATH, None, "kiosk", "in_person", "3", 2),
    )
    page = client.get("/overview", headers=manager)
    assert page.status_code == 200
    assert "<table>" in page.text
    assert "<svg" in page.text
    assert "<script" not in page.text
    assert f"{UNIT}/{FFT_PATH}" in page.text
    assert "suppressed" in page.text


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    small=hs.integers(min_value=1, max_value=4),
    others=hs.lists(hs.integers(min_value=0, max_value=30), min_size=2, max_size=2),
)
def test_no_reply_reveals_a_small_group(
    client: Client, run: Run, manager: dict[str, str], small: int, others: list[int]
) -> None:
    """Whatever the other groups hold, the small group's count cannot be worked out."""
    run(clear_rollups)
    load(
        run,
        (FFT_PATH, None, "sms", "video", "poor", small),
        (FFT_PATH, None, "kiosk", "in_person", "good", others[0]),
        (FFT_PATH, None, "qr", "in_person", "neither", others[1]),
    )
    t = table(client, manager, group_by="channel")
    shown = {g.key: g.n.count for g in t.groups}
    assert shown["sms"] is None
    if t.total.n.count is not None:
        assert (
            None in [v for k, v in shown.items() if k != "sms" and v != 0]
            or sum(v or 0 for v in shown.values()) != t.total.n.count - small
        )
    assert t.total.options["poor"].count is None


def test_dates_outside_the_supported_calendar_are_a_400(
    client: Client, manager: dict[str, str]
) -> None:
    """Found by schemathesis: from=0001-01-01 overflowed the time zone arithmetic."""
    for query in ("from=0001-01-01", "to=9999-12-31", "from=1999-12-31"):
        reply = client.get(f"/api/v1/stats/summary?{query}", headers=manager)
        assert reply.status_code == 400, query
        assert reply.json()["type"] == "urn:kaiku:problem:bad-range"


def test_every_report_has_a_csv_twin_with_the_same_table(
    client: Client, run: Run, manager: dict[str, str]
) -> None:
    """One media type per operation (exact OpenAPI): JSON at the URL, CSV at URL + .csv.

    The comment list is no report: it is read a bounded, audited page at a time, so it
    has no bulk CSV download."""
    reports = {r.path for r in client.app.routes if r.path.startswith("/api/v1/stats/")} - {
        r.path for r in client.app.routes if r.path.endswith(".csv")
    }
    reports.discard("/api/v1/stats/comments")
    assert {f"{path}.csv" for path in reports} <= {r.path for r in client.app.routes}
    load(run, (FFT_PATH, None, "kiosk", "in_person", "good", 7))
    json_total = table(client, manager, group_by="channel").total.n.count
    reply = client.get("/api/v1/stats/summary.csv", params={"group_by": "channel"}, headers=manager)
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="summary.csv"' in reply.headers["content-disposition"]
    rows = {r["group"]: r["n"] for r in csv.DictReader(io.StringIO(reply.text))}
    assert rows == {"kiosk": "7", "total": str(json_total)}
    # a download is an export: audited with its filters; JSON reads are not
    [export] = audit_events(run, "stats.export")
    assert export.actor.startswith("key:")
    assert (export.subject, export.detail) == ("stats:summary", {"group_by": "channel"})


def test_the_older_format_csv_links_redirect_to_the_csv_twin(
    client: Client, manager: dict[str, str]
) -> None:
    url = "/api/v1/stats/export/nhs-fft"
    params = {"month": "2026-10", "format": "csv", "unit": UNIT}
    assert client.get(url, params=params, follow_redirects=False).status_code == 401
    moved = client.get(url, params=params, headers=manager, follow_redirects=False)
    assert moved.status_code == 308
    target = urlsplit(moved.headers["location"])
    assert target.path == f"{url}.csv"
    assert parse_qs(target.query) == {"month": ["2026-10"], "unit": [UNIT]}
    followed = client.get(url, params=params, headers=manager)
    assert followed.headers["content-type"].startswith("text/csv")
    as_json = client.get(url, params={**params, "format": "json"}, headers=manager)
    assert as_json.headers["content-type"] == "application/json"
