"""Every dashboard panel query and every recording rule, on a real Prometheus scraping a real
Kaiku that receives answers while it is being watched: kiosk and QR answers, SMS invitations
from contact to answer through the real API, outbox, fake 46elks and answer page, and a
client panel recruited from the clients who answered (tests/stats/live_load.py).

A query may be empty only if it is on the allow-list below, with the reason; the test also
fails when an allow-listed query starts answering, so the list shrinks as features arrive.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from server.catalog.lookup import CatalogCache
from server.feedback.ingest import IngestService, Origin
from server.feedback.invitations import STATES
from server.feedback.schemas import ResponseIn
from server.feedback.statistics import HELSINKI
from server.settings import Settings
from tests.feedback.helpers import bearer
from tests.stats.helpers import FFT_PATH, UNIT
from tests.stats.live_load import (
    ANSWER_RATINGS,
    PANEL,
    PANEL_SEATS,
    SmsTraffic,
    Texts,
    recruit_panel,
    volunteer,
)
from tests.support.databases import backend
from tests.support.fake_46elks import Fake46elks, live_sms_env
from tests.support.live import LiveKaiku, live_kaiku
from tests.support.prometheus import (
    PrometheusError,
    PrometheusServer,
    concrete_expr,
    dashboard_targets,
)

pytestmark = [pytest.mark.db, pytest.mark.prometheus]

OPS = Path(__file__).parents[2] / "ops"
RULES = sorted((OPS / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((OPS / "grafana" / "dashboards").glob("*.json"))
#: (dashboard, panel title, refId) → why it is empty against a Kaiku fed as below. None is:
#: the load reaches every panel (kiosk, QR and SMS answers, SMS invitations in every state,
#: a client panel with accepted members and a pool left).
EXPECTED_EMPTY_PANELS: dict[tuple[str, str, str], str] = {}
#: Recording rule → why it is empty (the opening-hours rule is handled in
#: expected_empty_rules: it is absent outside opening hours by design).
EXPECTED_EMPTY_RULES: dict[str, str] = {}
#: (path, step, channel, contact_mode) series fed each round; 5 of each option keeps the
#: quantized counters moving (they advance in steps of the suppression threshold).
KIOSK_SERIES = [(FFT_PATH, "ensitapaaminen"), ("aikuissosiaalityo", None)]
OTHER_ORIGINS = [("qr", "phone")]
OPTIONS = ("very_good", "good", "poor")
PER_OPTION = 5
#: Every invitation state moved in the last hour (one unit and path carry invitations).
STATES_MOVED = "count(sum by (state) (kaiku:invitations_by_state:increase1h) > 0)"
#: Seconds after a round of texts before the next, if the states have not all moved yet
#: (a scrape and a rule evaluation every second show a move within ~3 s).
TEXTS_PATIENCE = 6.0


def answers(path: str, step: str | None) -> list[ResponseIn]:
    now = dt.datetime.now(dt.UTC)
    return [
        ResponseIn(id=uuid.uuid4(), path=path, step=step, rating=option, answered_at=now)
        for option in OPTIONS
        for _ in range(PER_OPTION)
    ]


class Feeder:
    """Sends one round of answers: kiosk ones over HTTP, QR ones through IngestService.

    SMS answers come through invitations (``SmsTraffic``), as they do in production.
    """

    def __init__(self, live: LiveKaiku) -> None:
        self.live = live
        self.pool = ThreadPoolExecutor(max_workers=1)

    def round(self) -> None:
        items = [a for path, step in KIOSK_SERIES for a in answers(path, step)]
        body = {"items": [_plain(a) for a in items]}
        reply = httpx.post(
            f"{self.live.base_url}/api/v1/responses/batch",
            json=body,
            headers=bearer(self.live.device_key),
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["stored"] == len(items)
        self.pool.submit(asyncio.run, self._other_channels()).result()

    async def _other_channels(self) -> None:
        engine = create_async_engine(self.live.database_url)
        try:
            settings = Settings(env="test", database_url=self.live.database_url)
            catalog = CatalogCache(ttl=0)
            unit_id = (await catalog.get(engine)).unit_id(UNIT)
            assert unit_id is not None
            service = IngestService(engine, catalog, settings)
            for channel, mode in OTHER_ORIGINS:
                results = await service.ingest(
                    Origin(unit_id, channel, mode), answers(FFT_PATH, "paatos")
                )
                assert {r.status for r in results} == {"stored"}
        finally:
            await engine.dispose()


def _plain(item: ResponseIn) -> dict[str, object]:
    return {
        "id": str(item.id),
        "path": item.path,
        "step": item.step,
        "rating": item.rating,
        "answered_at": item.answered_at.isoformat(),
    }


def dashboard_queries() -> list[tuple[tuple[str, str, str], str]]:
    """(dashboard, panel title, refId) and the query as Prometheus runs it, for every target."""
    out = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel, target in dashboard_targets(dashboard):
            key = (path.stem, panel["title"], target["refId"])
            out.append((key, concrete_expr(target["expr"])))
    return out


def recording_rules() -> list[str]:
    return [
        rule["record"]
        for path in RULES
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "record" in rule
    ]


def expected_empty_rules() -> set[str]:
    expected = set(EXPECTED_EMPTY_RULES)
    local = dt.datetime.now(HELSINKI)
    if not (local.isoweekday() <= 5 and 8 <= local.hour < 16):
        expected.add("kaiku:helsinki_opening_hours:elapsed_seconds")  # absent by design
    return expected


def _value(result: list[dict[str, Any]]) -> float | None:
    return float(result[0]["value"][1]) if result else None


def settle(prometheus: PrometheusServer, queries: list[str], timeout: float = 20) -> None:
    """Wait until every query answers (rule groups evaluate at their own offsets), or give
    up after ``timeout`` and let the tests name what is still empty."""
    pending = list(queries)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        try:
            pending = [q for q in pending if not prometheus.query(q)]
        except PrometheusError:
            return  # a broken query: the test reports it
        if pending:
            time.sleep(0.25)


@pytest.fixture(scope="module")
def watched() -> Iterator[PrometheusServer]:
    """One Kaiku and one Prometheus for the module; answers arrive while it scrapes."""
    with (
        Fake46elks() as fake,
        live_kaiku(backend(), live_sms_env(fake)) as live,
        httpx.Client(base_url=live.base_url, timeout=10) as web,
        # Started first: its first scrape comes ~5 s after start (the scrape manager's
        # reload interval), time the load below uses.
        PrometheusServer(f"{live.base_url}/metrics", rule_files=RULES) as prometheus,
    ):
        feeder = Feeder(live)
        sms = SmsTraffic(live, Texts(fake), web)
        feeder.round()
        # Clients who answered their texts volunteer; an organiser fills a panel from them.
        answered = sms.round()
        for number, client in enumerate(answered):
            volunteer(web, client, f"Asiakas{number}")
        figures = recruit_panel(live, sms.texts, web)
        assert (figures["accepted"], figures["pool"]) == (PANEL_SEATS, len(answered) - PANEL_SEATS)
        web.post(
            "/api/v1/kiosks/heartbeat", json={"outbox_pending": 0}, headers=bearer(live.device_key)
        ).raise_for_status()
        prometheus.wait_for('up{job="kaiku"} == 1')
        deadline = time.monotonic() + 60
        # Feed until the slowest dependants answer: the 1 h ratio rules, the worst-steps
        # panel, which needs 20 answers on a step within its window, and an increase in
        # every invitation state, which needs a round of texts after the first scrape (and
        # another if a scrape missed a step, which the next check would show).
        moved, texted_at = False, -math.inf
        while time.monotonic() < deadline:
            feeder.round()
            if not moved and time.monotonic() - texted_at > TEXTS_PATIENCE:
                sms.round()
                texted_at = time.monotonic()
            time.sleep(1.2)
            moved = _value(prometheus.query(STATES_MOVED)) == len(STATES)
            if (
                moved
                and prometheus.query("kaiku:share_negative:ratio_rate1h")
                and prometheus.query("sum by (step) (increase(kaiku_responses_total[28d])) >= 20")
            ):
                break
        expected_empty = set(EXPECTED_EMPTY_PANELS)
        settle(
            prometheus,
            [expr for key, expr in dashboard_queries() if key not in expected_empty]
            + [name for name in recording_rules() if name not in expected_empty_rules()],
        )
        yield prometheus


def test_every_dashboard_query_answers(watched: PrometheusServer) -> None:
    # A syntax error raises PrometheusError here and fails the test.
    empty = {key for key, expr in dashboard_queries() if not watched.query(expr)}
    assert empty == set(EXPECTED_EMPTY_PANELS), (
        "empty panels differ from the allow-list (shrink it when a feature arrives)"
    )


def test_every_recording_rule_has_data(watched: PrometheusServer) -> None:
    records = recording_rules()
    assert len(records) > 20
    empty = {name for name in records if not watched.query(name)}
    assert empty == expected_empty_rules()
    [share] = watched.query(f'kaiku:share_positive:ratio_rate1h{{path="{FFT_PATH}"}}')
    assert 0 < float(share["value"][1]) < 1


def test_every_invitation_state_moved(watched: PrometheusServer) -> None:
    """Texts were scheduled, skipped, sent, delivered, failed and answered while watched."""
    moved = watched.query("sum by (state) (kaiku:invitations_by_state:increase1h) > 0")
    assert {sample["metric"]["state"] for sample in moved} == set(STATES)
    [rate] = watched.query(f'kaiku:sms_response_rate:ratio_rate1h{{path="{FFT_PATH}"}}')
    assert 0 < float(rate["value"][1]) < 1


def test_the_panel_is_full_with_a_pool_left(watched: PrometheusServer) -> None:
    [members] = watched.query(f'kaiku_panel_members{{panel="{PANEL}", status="accepted"}}')
    [seats] = watched.query(f'kaiku_panel_seats{{panel="{PANEL}"}}')
    assert float(members["value"][1]) == float(seats["value"][1]) == PANEL_SEATS
    [pool] = watched.query(f'kaiku_panel_pool_volunteers{{panel="{PANEL}"}}')
    assert float(pool["value"][1]) == len(ANSWER_RATINGS) - PANEL_SEATS
