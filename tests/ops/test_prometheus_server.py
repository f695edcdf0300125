"""PrometheusServer against a tiny exposition on loopback: the helper works before the app does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.prometheus import PrometheusError, PrometheusServer

pytestmark = pytest.mark.prometheus

RULES = sorted((Path(__file__).parents[2] / "ops" / "prometheus" / "rules").glob("*.yml"))
LABELS = 'unit="u1",path="p1",step="",channel="kiosk",contact_mode="in_person"'


class Exposition:
    """A counter that grows by 5 per scrape for "good" and "poor", like Kaiku's privacy steps."""

    def __init__(self) -> None:
        self.scrapes = 0
        self.authorization: list[str | None] = []
        self.lock = threading.Lock()

    def render(self, authorization: str | None) -> bytes:
        with self.lock:
            self.scrapes += 1
            self.authorization.append(authorization)
            count = 5 * self.scrapes
        return (
            "# TYPE kaiku_responses_total counter\n"
            f'kaiku_responses_total{{{LABELS},option="good"}} {count}\n'
            f'kaiku_responses_total{{{LABELS},option="poor"}} {count}\n'
            "# TYPE kaiku_sms_outbox_pending gauge\n"
            "kaiku_sms_outbox_pending 3\n"
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


def test_scrapes_target_with_bearer_token_and_evaluates_kaiku_rules(
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
