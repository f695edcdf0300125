"""PrometheusServer against a tiny exposition on loopback: the helper works before the app does."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.prometheus import (
    PrometheusError,
    PrometheusServer,
    concrete_expr,
    dashboard_targets,
)

pytestmark = pytest.mark.prometheus

OPS = Path(__file__).parents[2] / "ops"
RULES = sorted((OPS / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((OPS / "grafana" / "dashboards").glob("*.json"))
LABELS = 'unit="u1",path="p1",step="",channel="kiosk",contact_mode="in_person"'
INVITE = 'unit="u1",path="p1",step="",contact_mode="video"'
PANEL = 'panel="raati",unit="u1"'


class Exposition:
    """A small Kaiku-shaped exposition; counters grow by 5 per scrape (privacy steps)."""

    def __init__(self) -> None:
        self.scrapes = 0
        self.authorization: list[str | None] = []
        self.lock = threading.Lock()

    def render(self, authorization: str | None) -> bytes:
        with self.lock:
            self.scrapes += 1
            self.authorization.append(authorization)
            count = 5 * self.scrapes
        now = time.time()
        return (
            "# TYPE kaiku_responses_total counter\n"
            f'kaiku_responses_total{{{LABELS},option="good"}} {count}\n'
            f'kaiku_responses_total{{{LABELS},option="poor"}} {count}\n'
            "# TYPE kaiku_invitations_total counter\n"
            f'kaiku_invitations_total{{{INVITE},state="sent"}} {2 * count}\n'
            f'kaiku_invitations_total{{{INVITE},state="answered"}} {count}\n'
            "# TYPE kaiku_sms_outbox_pending gauge\n"
            "kaiku_sms_outbox_pending 3\n"
            f'kaiku_kiosk_last_seen_timestamp_seconds{{unit="u1",kiosk="lobby"}} {now - 60}\n'
            'kaiku_kiosk_outbox_pending{unit="u1",kiosk="lobby"} 0\n'
            "kaiku_rollup_snapshot_age_seconds 4\n"
            f"kaiku_panel_seats{{{PANEL}}} 8\n"
            f'kaiku_panel_members{{{PANEL},status="accepted"}} 5\n'
            f'kaiku_panel_members{{{PANEL},status="invited"}} 9\n'
            f"kaiku_panel_pool_volunteers{{{PANEL}}} 30\n"
            f"kaiku_panel_first_meeting_timestamp_seconds{{{PANEL}}} {now + 86400}\n"
            f'kaiku_panel_path_volunteers{{{PANEL},path="p1",status="pool"}} 12\n'
        ).encode()


@pytest.fixture
def exposition() -> Iterator[tuple[str, Exposition]]:
    state = Exposition()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = state.render(self.headers.get("Authorization"))
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_scrapes_with_bearer_token_evaluates_rules_and_answers_dashboard_queries(
    exposition: tuple[str, Exposition],
) -> None:
    """One server for all checks: Prometheus 2.x applies new targets only every 5 s."""
    url, state = exposition
    with PrometheusServer(url, rule_files=RULES, bearer_token="s3cret") as prometheus:
        process, storage = prometheus._process, Path(prometheus.log_path).parent
        [up] = prometheus.wait_for('up{job="kaiku"} == 1')
        assert up["metric"]["instance"] == url.split("/")[2]
        [pending] = prometheus.wait_for("kaiku_sms_outbox_pending")
        assert pending["value"][1] == "3"
        # The repository's recording rules run: equal good and poor growth is half positive.
        [share] = prometheus.wait_for("kaiku:share_positive:ratio_rate1h")
        assert share["metric"] == {
            "__name__": "kaiku:share_positive:ratio_rate1h",
            "unit": "u1",
            "path": "p1",
        }
        assert float(share["value"][1]) == pytest.approx(0.5)
        # Every dashboard query runs on real Prometheus (with $unit/$path as Grafana's "All")
        # once each rule group has run and the worst-steps volume floor is reached.
        for window in ("1h", "1d", "7d", "28d"):
            prometheus.wait_for(f"kaiku:sms_response_rate:ratio_rate{window}")
        prometheus.wait_for("sum by (step) (increase(kaiku_responses_total[28d])) >= 20")
        answered = {
            (path.stem, panel["title"], target["refId"]): prometheus.query(
                concrete_expr(target["expr"])
            )
            for path in DASHBOARDS
            for panel, target in dashboard_targets(json.loads(path.read_text(encoding="utf-8")))
        }
        empty = {key for key, result in answered.items() if not result}
        assert empty == {("kiosks-delivery", "Epäonnistuneet / Failed ÷ sent, 1 h", "A")}, (
            "only the failure ratio may be empty: nothing failed"
        )
        # Scalars come back as one label-less sample.
        assert prometheus.query("scalar(vector(2))")[0]["value"][1] == "2"
        with pytest.raises(PrometheusError, match="parse error"):
            prometheus.query("sum(")
    assert state.authorization
    assert set(state.authorization) == {"Bearer s3cret"}
    # Leaving the block stops Prometheus and removes its configuration and storage.
    assert process is not None
    assert process.returncode is not None
    assert not storage.exists()
