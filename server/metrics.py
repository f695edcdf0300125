"""Prometheus exposition: business metrics from the database, HTTP metrics per process.

Business metrics are read from the roll-up tables into a snapshot that is re-read when
older than ``metrics_refresh_seconds``; every process and replica therefore answers a
scrape with the same numbers, and a scrape costs one grouped query over the roll-up
(proportional to the number of series, not of responses).

Response counters are published in steps of the small-cell threshold: a counter that
moves by one right after a visit would tell an observer that visitor's answer.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.catalog.lookup import CatalogCache
from server.catalog.models import Kiosk
from server.feedback import repository
from server.feedback.invitations import invitation_counts
from server.messaging.outbox import pending_count
from server.panels.metrics import panel_families
from server.privacy.suppression import quantize

K = TypeVar("K")
MAX_CACHED_SERIES = 100_000
LabelValues = TypeVar("LabelValues", bound=tuple[str, ...])
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True)
class Snapshot:
    taken_at: float
    responses: dict[tuple[str, str, str, str, str, str], int] = field(default_factory=dict)
    kiosks: list[tuple[str, str, float | None, int]] = field(default_factory=list)
    invitations: dict[tuple[str, str, str, str, str], int] = field(default_factory=dict)
    sms_pending: int = 0
    panels: list[Metric] = field(default_factory=list)  # from server.panels


class MetricsSnapshot:
    """The cached database view behind ``/metrics``; refreshed on demand, one query at a time."""

    def __init__(
        self, engine: AsyncEngine, catalog: CatalogCache, refresh_seconds: float, step: int
    ) -> None:
        self._engine = engine
        self._catalog = catalog
        self._refresh = refresh_seconds
        self._step = step
        self._lock = asyncio.Lock()
        self.current: Snapshot | None = None

    async def ensure_fresh(self) -> Snapshot:
        snapshot = self.current
        if snapshot is not None and time.time() - snapshot.taken_at < self._refresh:
            return snapshot
        async with self._lock:
            if self.current is not None and time.time() - self.current.taken_at < self._refresh:
                return self.current
            self.current = await self._read()
            return self.current

    async def _read(self) -> Snapshot:
        catalog = await self._catalog.get(self._engine)
        responses: dict[tuple[str, str, str, str, str, str], int] = {}
        # (unit, path, step) codes per (path_id, step_id): a few hundred, for thousands of rows.
        places: dict[tuple[int, int], tuple[str, str, str] | None] = {}
        async with self._engine.connect() as conn:
            # A series below one step is never published: the query leaves it out.
            rows = await repository.totals_by_series(conn, at_least=self._step)
            for _unit_id, path_id, step_id, channel, contact_mode, option, total in rows:
                if (path_id, step_id) not in places:
                    path = catalog.paths_by_id.get(path_id)
                    places[path_id, step_id] = (
                        None
                        if path is None
                        else (path.unit_code, path.code, catalog.step_codes.get(step_id, ""))
                    )
                place = places[path_id, step_id]
                if place is None:
                    continue
                key = (*place, channel, contact_mode, option)
                responses[key] = responses.get(key, 0) + total
            kiosk_rows = await conn.execute(
                select(Kiosk.unit_id, Kiosk.code, Kiosk.last_seen_at, Kiosk.outbox_pending)
            )
            kiosks = [
                (
                    catalog.units.get(k.unit_id, ""),
                    k.code,
                    k.last_seen_at.timestamp() if k.last_seen_at else None,
                    int(k.outbox_pending or 0),
                )
                for k in kiosk_rows
            ]
            invitations = _published(
                {
                    (c.unit, c.path, c.step, c.contact_mode, state): count
                    for c in await invitation_counts(conn, catalog)
                    for state, count in c.counts.items()
                },
                self._step,
            )
            sms_pending = await pending_count(conn)
            panels = await panel_families(conn, catalog, self._step)
        published = _published(responses, self._step)
        return Snapshot(time.time(), published, kiosks, invitations, sms_pending, panels)


def _published(counts: Mapping[K, int], step: int) -> dict[K, int]:
    """Counts rounded down to the step; a series below one step is left out entirely,
    since a series that exists at 0 would still say that someone answered so."""
    return {key: value for key, count in counts.items() if (value := quantize(count, step))}


class CounterText:
    """Text-format exposition of one labelled counter family, each series' labels cached.

    prometheus_client builds, sorts and escapes every label set on every scrape. The
    responses family has thousands of series whose labels hardly ever change, so each
    series' text is built once and a scrape only formats the values (the same bytes as
    ``generate_latest``, which a property test checks).
    """

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        doc = documentation.replace("\\", r"\\").replace("\n", r"\n")
        self._header = f"# HELP {name}_total {doc}\n# TYPE {name}_total counter\n"
        self._name = f"{name}_total"
        self._labelnames = tuple(labelnames)
        self._prefixes: dict[tuple[str, ...], str] = {}
        # Series in exposition order; re-sorted only when the set of series changes.
        self._order: list[tuple[str, ...]] = []
        self._ordered: set[tuple[str, ...]] = set()

    def render(self, samples: Mapping[LabelValues, int]) -> str:
        if len(self._prefixes) > MAX_CACHED_SERIES:
            self._prefixes.clear()
        if samples.keys() != self._ordered:
            self._order = sorted(samples)
            self._ordered = set(self._order)
        parts = [self._header]
        for labels in self._order:
            prefix = self._prefixes.get(labels)
            if prefix is None:
                prefix = self._prefixes[labels] = self._prefix(labels)
            parts.append(f"{prefix}{_go_float(samples[labels])}\n")  # type: ignore[index]
        return "".join(parts)

    def _prefix(self, labels: tuple[str, ...]) -> str:
        pairs = sorted(zip(self._labelnames, labels, strict=True))
        text = ",".join(f'{name}="{_escape(value)}"' for name, value in pairs)
        return f"{self._name}{{{text}}} "


@lru_cache(maxsize=65_536)
def _go_float(value: float) -> str:
    """prometheus_client's own number format (e.g. ``1.234567e+06``); cached, since
    published counts are multiples of the step and repeat across series."""
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return text


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


RESPONSES = CounterText(
    "kaiku_responses",
    "Answers stored, excluding probable misuse; advances in steps of the small-cell threshold.",
    ["unit", "path", "step", "channel", "contact_mode", "option"],
)


class BusinessCollector(Collector):
    """Exposes the current snapshot; collect() never touches the database.

    The large responses family is rendered by :meth:`responses_text` instead.
    """

    def __init__(self, snapshot: MetricsSnapshot) -> None:
        self._snapshot = snapshot

    def responses_text(self) -> str:
        snap = self._snapshot.current or Snapshot(taken_at=time.time())
        return RESPONSES.render(snap.responses)

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot.current or Snapshot(taken_at=time.time())
        last_seen = GaugeMetricFamily(
            "kaiku_kiosk_last_seen_timestamp_seconds",
            "When a kiosk last sent a heartbeat or answers (Unix time).",
            labels=["unit", "kiosk"],
        )
        pending = GaugeMetricFamily(
            "kaiku_kiosk_outbox_pending",
            "Answers waiting in a kiosk's outbox at its last heartbeat.",
            labels=["unit", "kiosk"],
        )
        for unit, kiosk, seen, outbox in snap.kiosks:
            if seen is not None:
                last_seen.add_metric([unit, kiosk], seen)
            pending.add_metric([unit, kiosk], outbox)
        yield last_seen
        yield pending
        invitations = CounterMetricFamily(
            "kaiku_invitations",
            "SMS invitations that reached each state (scheduled, skipped, sent, delivered, "
            "failed, answered); response rate = answered / sent. Advances in steps of the "
            "small-cell threshold.",
            labels=["unit", "path", "step", "contact_mode", "state"],
        )
        for inv_labels, count in sorted(snap.invitations.items()):
            invitations.add_metric(list(inv_labels), count)
        yield invitations
        # Exact, not stepped: operators alert on a stuck outbox, and a queue length says
        # nothing about any one client's answer.
        yield GaugeMetricFamily(
            "kaiku_sms_outbox_pending",
            "SMS messages queued or being sent.",
            value=snap.sms_pending,
        )
        yield from snap.panels
        yield GaugeMetricFamily(
            "kaiku_rollup_snapshot_timestamp_seconds",
            "When the business metrics were last read from the database (Unix time).",
            value=snap.taken_at,
        )
        yield GaugeMetricFamily(
            "kaiku_rollup_snapshot_age_seconds",
            "Seconds since the business metrics were read from the database.",
            value=max(0.0, time.time() - snap.taken_at),
        )


class HttpMetrics:
    """Request counts and durations labelled by route template, never by raw path."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "kaiku_http_requests",
            "HTTP requests handled, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "kaiku_http_request_duration_seconds",
            "Time to handle an HTTP request, by route template.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        # labels() takes a lock and builds a key on every call; a dict look-up does not.
        self._children: dict[tuple[str, object, int], tuple[Counter, Histogram]] = {}

    def _labelled(self, method: str, template: object, status: int) -> tuple[Counter, Histogram]:
        """The labelled series of one (method, route, status); few, so kept per process."""
        route = str(template or "unmatched")
        return self.requests.labels(method, route, str(status)), self.duration.labels(method, route)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            start = time.perf_counter()
            status = 500

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            try:
                await app(scope, receive, capture)
            finally:
                key = (str(scope.get("method", "")), scope.get("path_template"), status)
                children = self._children.get(key)
                if children is None:
                    children = self._children[key] = self._labelled(*key)
                count, duration = children
                count.inc()
                duration.observe(time.perf_counter() - start)

        return wrapped


def exposition(http: HttpMetrics, business: BusinessCollector) -> bytes:
    """Text exposition of both parts; with several workers, HTTP metrics are merged from
    prometheus_client's multiprocess files so any worker answers for all."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward(http.registry))
    registry.register(business)
    return generate_latest(registry) + business.responses_text().encode()


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()
