"""The responses family's own renderer writes exactly what prometheus_client would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as hs
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from server.metrics import CounterText

LABELS = ["unit", "path", "step", "channel", "contact_mode", "option"]
label_values = hs.tuples(*(hs.text(max_size=12) for _ in LABELS))
samples = hs.dictionaries(label_values, hs.integers(0, 10**12), max_size=30)


class _Family(Collector):
    def __init__(self, family: Metric) -> None:
        self._family = family

    def collect(self) -> list[Metric]:
        return [self._family]


@given(samples=samples, doc=hs.text(max_size=40))
def test_counter_text_equals_prometheus_client_output(
    samples: dict[tuple[str, ...], int], doc: str
) -> None:
    family = CounterMetricFamily("kaiku_responses", doc, labels=LABELS)
    for labels, value in sorted(samples.items()):
        family.add_metric(list(labels), value)
    registry = CollectorRegistry()
    registry.register(_Family(family))
    renderer = CounterText("kaiku_responses", doc, LABELS)

    assert renderer.render(samples) == generate_latest(registry).decode()
    assert renderer.render(samples) == generate_latest(registry).decode()  # from the cache


def _expected(samples: dict[tuple[str, ...], int]) -> str:
    family = CounterMetricFamily("kaiku_responses", "doc", labels=LABELS)
    for labels, value in sorted(samples.items()):
        family.add_metric(list(labels), value)
    registry = CollectorRegistry()
    registry.register(_Family(family))
    return generate_latest(registry).decode()


@given(scrapes=hs.lists(samples, min_size=2, max_size=5))
def test_one_renderer_stays_exact_as_series_come_go_and_change(
    scrapes: list[dict[tuple[str, ...], int]],
) -> None:
    """Scrape after scrape on one renderer (its cached order and labels), as in a process."""
    renderer = CounterText("kaiku_responses", "doc", LABELS)
    for samples in scrapes:
        assert renderer.render(samples) == _expected(samples)
        changed = {labels: value + 5 for labels, value in samples.items()}
        assert renderer.render(changed) == _expected(changed)
