"""Business metrics never reveal a small group: below one step a series does not exist."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.feedback.helpers import answer, bearer
from tests.support.fixtures import Seeded


def response_series(client: TestClient[Litestar]) -> dict[str, float]:
    text = client.get("/metrics").text
    return {
        sample.labels["option"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "kaiku_responses"
        for sample in family.samples
        if sample.name == "kaiku_responses_total"
    }


def test_a_series_appears_only_when_it_reaches_the_threshold(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    headers = bearer(seeded.kiosk_key)
    client.post(
        "/api/v1/responses/batch",
        json={"items": [answer(rating="very_poor") for _ in range(4)]},
        headers=headers,
    )
    assert "very_poor" not in response_series(client), "4 answers must not be visible"

    client.post("/api/v1/responses", json=answer(rating="very_poor"), headers=headers)
    assert response_series(client)["very_poor"] == 5

    client.post(
        "/api/v1/responses/batch",
        json={"items": [answer(rating="very_poor") for _ in range(4)]},
        headers=headers,
    )
    assert response_series(client)["very_poor"] == 5, "9 is published as 5"


def test_exposition_is_promtool_clean(client: TestClient[Litestar], seeded: Seeded) -> None:
    """Names, types, units and help texts follow Prometheus conventions."""
    import subprocess

    from tests.support.promtool import find_binary

    headers = bearer(seeded.kiosk_key)
    client.post(
        "/api/v1/responses/batch",
        json={"items": [answer(rating="good") for _ in range(5)]},
        headers=headers,
    )
    client.post("/api/v1/kiosks/heartbeat", json={"outbox_pending": 2}, headers=headers)
    text = client.get("/metrics").text
    assert "kaiku_responses_total{" in text
    assert "kaiku_kiosk_last_seen_timestamp_seconds{" in text
    checked = subprocess.run(
        [find_binary("promtool"), "check", "metrics"], input=text, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "", checked.stdout
    assert checked.stderr.strip() == "", checked.stderr


def test_a_scrape_is_gzipped_when_asked_and_the_same_text_either_way(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    """Prometheus asks for gzip; /metrics compresses itself (level 1) and says so."""
    client.post(
        "/api/v1/responses/batch",
        json={"items": [answer(rating="good") for _ in range(5)]},
        headers=bearer(seeded.kiosk_key),
    )
    zipped = client.get("/metrics", headers={"Accept-Encoding": "gzip"})
    plain = client.get("/metrics", headers={"Accept-Encoding": "identity"})

    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert zipped.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
    series = [line for line in zipped.text.splitlines() if "kaiku_responses_total{" in line]
    assert series
    assert series == [line for line in plain.text.splitlines() if "kaiku_responses_total{" in line]
