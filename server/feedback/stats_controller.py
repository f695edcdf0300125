"""Statistics API for managers (and Grafana's Infinity datasource): /api/v1/stats/…

Thin handlers: the query dependency turns codes into roll-up filters, stats_queries sums
roll-ups, statistics builds suppressed tables. Every handler returns suppressed numbers
only, except ``/comments``: scrubbed comment text, a page at a time, each read audited
(see :mod:`server.feedback.comments`). Each report has a CSV twin at the same URL plus
``.csv`` that renders the very same table, so every operation documents exactly one
response body (JSON or ``text/csv``); the older ``?format=csv`` is redirected there.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, Parameter, QueryParameter
from litestar.response import Redirect
from litestar.types import BeforeRequestHookHandler

from server.auth import audit
from server.auth.guards import current_principal, requires
from server.auth.roles import Role
from server.catalog.lookup import CatalogSnapshot
from server.errors import Problem
from server.feedback import comments as cm
from server.feedback import statistics as st
from server.feedback import stats_queries as q
from server.feedback.invitations import response_rates
from server.feedback.response_rates import ResponseRateRow, response_rate_rows
from server.feedback.scales import CHANNELS, FFT_OPTIONS, NPS_OPTIONS, Channel, ContactMode
from server.privacy.suppression import CountNode, suppress_flat, suppress_tree
from server.services import ServicesDep

# Kaiku has no data outside these days, and the time zone arithmetic overflows near
# the ends of the calendar (found by schemathesis: from=0001-01-01 was a 500).
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2099, 12, 31)

GroupBy = Literal["path", "step", "channel", "contact_mode"]
Pattern = Literal["hour", "weekday"]
CompareBy = Literal["channel", "contact_mode"]
COLUMN: dict[str, q.Dimension] = {
    "path": "path_id",
    "step": "step_id",
    "channel": "channel",
    "contact_mode": "contact_mode",
}
CSV_SUPPRESSED = "*"
CSV_MEDIA_TYPE = "text/csv"


@dataclass(frozen=True)
class StatsQuery:
    """A resolved request: roll-up filter plus the catalog used to name groups."""

    filter: q.StatsFilter
    catalog: CatalogSnapshot
    threshold: int


async def provide_query(
    services: ServicesDep,
    unit: FromQuery[str | None] = None,
    path: FromQuery[str | None] = None,
    step: FromQuery[str | None] = None,
    channel: FromQuery[Channel | None] = None,
    contact_mode: FromQuery[ContactMode | None] = None,
    from_: Annotated[dt.date | None, QueryParameter(name="from")] = None,
    to: FromQuery[dt.date | None] = None,
    include_misuse: FromQuery[bool] = False,
) -> StatsQuery:
    """Resolve unit/path/step codes against the catalog; unknown codes are a 400."""
    catalog = await services.catalog.get(services.engine)
    unit_id = None
    if unit is not None:
        unit_id = catalog.unit_id(unit)
        if unit_id is None:
            raise Problem(400, "unknown-unit", f"No unit {unit!r}.")
    path_id = step_id = None
    if path is not None:
        matches = [
            p
            for p in catalog.paths_by_id.values()
            if p.code == path and unit_id in (None, p.unit_id)
        ]
        if len(matches) != 1:
            detail = "is ambiguous: add unit" if matches else "does not exist"
            raise Problem(400, "unknown-path", f"Path {path!r} {detail}.")
        path_id = matches[0].id
        if step is not None:
            info = matches[0].steps.get(step)
            if info is None:
                raise Problem(400, "unknown-step", f"Path {path!r} has no step {step!r}.")
            step_id = info.id
    elif step is not None:
        raise Problem(400, "step-needs-path", "Give path together with step.")
    if from_ and to and to < from_:
        raise Problem(400, "bad-range", "'to' is before 'from'.")
    for day in (from_, to):
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise Problem(
                400, "bad-range", f"Dates must lie between {EARLIEST_DAY} and {LATEST_DAY}."
            )
    start, end = st.local_day_bounds(from_, to)
    where = q.StatsFilter(
        unit_id, path_id, step_id, channel, contact_mode, start, end, include_misuse
    )
    return StatsQuery(where, catalog, services.settings.suppression_threshold)


StatsQueryDep = NamedDependency[StatsQuery]


class Comparison(msgspec.Struct):
    a: str
    b: str
    difference: float
    p_value: float
    intervals_overlap: bool
    within_noise: bool
    note: str


class ComparisonTable(msgspec.Struct):
    by: str
    table: st.Table
    comparisons: list[Comparison]
    not_compared: list[str]


class NhsFftRow(msgspec.Struct):
    """One line of the monthly NHS FFT submission layout (per service path)."""

    period: str
    unit: str
    path: str
    counts: dict[str, int | None]
    total: int | None
    response_rate: float | None
    modes: dict[str, int | None]


class NpsSummaryRow(msgspec.Struct):
    """THL-style NPS summary for a 0–10 path: groups of the scale and the score."""

    unit: str
    path: str
    n: int | None
    promoters: int | None
    passives: int | None
    detractors: int | None
    nps: float | None
    suppressed: bool


def group_label(dimension: str, value: Any, catalog: CatalogSnapshot) -> str:
    if dimension == "path_id":
        info = catalog.paths_by_id.get(int(value))
        return f"{info.unit_code}/{info.code}" if info else f"#{value}"
    if dimension == "step_id":
        return catalog.step_codes.get(int(value), "") if value else ""
    return str(value)


def table_csv(table: st.Table, first: str = "group") -> str:
    """The table as CSV; suppressed cells are ``*`` as in NHS FFT publications."""
    options = list(table.total.options)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [first, "n", *options]
        + [f"{s}{p}" for s in ("share_positive", "share_negative") for p in ("", "_low", "_high")]
        + ["nps"]
    )
    for row in [*table.groups, table.total]:
        writer.writerow(
            [row.key, _cell(row.n.count), *(_cell(row.options[o].count) for o in options)]
            + [
                _cell(v, share.suppressed)
                for share in (row.share_positive, row.share_negative)
                for v in (share.value, share.low, share.high)
            ]
            + [_cell(row.nps.value, row.nps.suppressed)]
        )
    return out.getvalue()


def _cell(value: float | int | None, suppressed: bool = True) -> str:
    if value is None:
        return CSV_SUPPRESSED if suppressed else ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def csv_response(text: str, name: str) -> Response[str]:
    return Response(
        text,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


async def audited(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    action: str,
    subject: str,
    detail: dict[str, Any],
) -> None:
    """Record who read what with which filters, committed before the data is handed out."""
    async with services.session() as session:
        actor = audit.actor_of(current_principal(request))
        await audit.record(session, actor, action, subject, detail)
        await session.commit()


async def exported(
    request: Request[Any, Any, Any], services: ServicesDep, text: str, name: str
) -> Response[str]:
    """A CSV download is an export: the audit log records who took which report with which
    filters before it is handed out (JSON reads, e.g. Grafana's polls, are not exports)."""
    await audited(request, services, "stats.export", f"stats:{name}", dict(request.query_params))
    return csv_response(text, name)


async def legacy_csv_redirect(request: Request[Any, Any, Any]) -> Redirect | None:
    """``?format=csv`` asked for CSV before the ``.csv`` routes existed: send such links
    (bookmarks, scripts) to the CSV twin with the same filters, so they keep working."""
    path = request.url.path.rstrip("/")
    if request.query_params.get("format") != "csv" or path.endswith(".csv"):
        return None
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "format"])
    return Redirect(f"{path}.csv" + (f"?{query}" if query else ""), status_code=308)


def compare_groups(table: st.Table) -> tuple[list[Comparison], list[str]]:
    """Pairwise share-positive comparisons between groups whose shares are published."""
    usable = [r for r in table.groups if r.share_positive.value is not None and r.share_positive.n]
    skipped = [r.key for r in table.groups if r not in usable]
    result = []
    for a, b in itertools.combinations(usable, 2):
        na, nb = a.share_positive.n or 0, b.share_positive.n or 0
        xa = round((a.share_positive.value or 0) * na)
        xb = round((b.share_positive.value or 0) * nb)
        c = st.compare(xa, na, xb, nb)
        note = (
            "within the noise: the data cannot tell these apart"
            if c.within_noise
            else "difference is larger than chance would explain (p < 0.05)"
        )
        result.append(
            Comparison(
                a.key, b.key, c.difference, c.p_value, c.intervals_overlap, c.within_noise, note
            )
        )
    return result, skipped


def _dims(group_by: GroupBy | None) -> list[q.Dimension]:
    return [COLUMN[group_by]] if group_by else []


def _period(pattern: Pattern) -> q.Period:
    return "hour" if pattern == "hour" else "weekday"


class StatsController(Controller):
    """Each report twice: JSON, and the same table as CSV at the same URL plus ``.csv``."""

    path = "/api/v1/stats"
    tags = ["statistics"]
    guards = [requires(Role.MANAGER, Role.ADMIN)]
    dependencies = {"stats": Provide(provide_query)}
    before_request: BeforeRequestHookHandler | None = legacy_csv_redirect

    @get("/summary", operation_id="statsSummary", summary="Counts, shares and NPS")
    async def summary(
        self,
        services: ServicesDep,
        stats: StatsQueryDep,
        group_by: FromQuery[GroupBy | None] = None,
    ) -> st.Table:
        return await load_table(services, stats, _dims(group_by))

    @get(
        "/summary.csv",
        operation_id="statsSummaryCsv",
        summary="Counts, shares and NPS as CSV",
        media_type=CSV_MEDIA_TYPE,
    )
    async def summary_csv(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        stats: StatsQueryDep,
        group_by: FromQuery[GroupBy | None] = None,
    ) -> Response[str]:
        table = await load_table(services, stats, _dims(group_by))
        return await exported(request, services, table_csv(table), "summary")

    @get("/trend", operation_id="statsTrend", summary="Counts and shares per local period")
    async def trend(
        self,
        services: ServicesDep,
        stats: StatsQueryDep,
        interval: FromQuery[st.Interval] = "month",
    ) -> st.Table:
        return await load_table(services, stats, [], interval)

    @get(
        "/trend.csv",
        operation_id="statsTrendCsv",
        summary="Counts and shares per local period as CSV",
        media_type=CSV_MEDIA_TYPE,
    )
    async def trend_csv(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        stats: StatsQueryDep,
        interval: FromQuery[st.Interval] = "month",
    ) -> Response[str]:
        table = await load_table(services, stats, [], interval)
        return await exported(request, services, table_csv(table), f"trend-{interval}")

    @get("/patterns", operation_id="statsPatterns", summary="Hour-of-day or weekday pattern")
    async def patterns(
        self, services: ServicesDep, stats: StatsQueryDep, pattern: FromQuery[Pattern] = "hour"
    ) -> st.Table:
        return await load_table(services, stats, [], _period(pattern))

    @get(
        "/patterns.csv",
        operation_id="statsPatternsCsv",
        summary="Hour-of-day or weekday pattern as CSV",
        media_type=CSV_MEDIA_TYPE,
    )
    async def patterns_csv(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        stats: StatsQueryDep,
        pattern: FromQuery[Pattern] = "hour",
    ) -> Response[str]:
        table = await load_table(services, stats, [], _period(pattern))
        return await exported(request, services, table_csv(table), f"pattern-{pattern}")

    @get("/compare", operation_id="statsCompare", summary="Channel or contact mode compared")
    async def compare(
        self, services: ServicesDep, stats: StatsQueryDep, by: FromQuery[CompareBy] = "contact_mode"
    ) -> ComparisonTable:
        table = await load_table(services, stats, [COLUMN[by]])
        comparisons, skipped = compare_groups(table)
        return ComparisonTable(by, table, comparisons, skipped)

    @get(
        "/compare.csv",
        operation_id="statsCompareCsv",
        summary="The table behind a comparison as CSV",
        media_type=CSV_MEDIA_TYPE,
    )
    async def compare_csv(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        stats: StatsQueryDep,
        by: FromQuery[CompareBy] = "contact_mode",
    ) -> Response[str]:
        table = await load_table(services, stats, [COLUMN[by]])
        return await exported(request, services, table_csv(table, by), f"compare-{by}")

    @get("/export/nhs-fft", operation_id="statsExportNhsFft", summary="Monthly NHS FFT layout")
    async def nhs_fft(
        self, services: ServicesDep, stats: StatsQueryDep, month: FromQuery[str]
    ) -> list[NhsFftRow]:
        return await load_nhs_fft(services, stats, month)

    @get(
        "/export/nhs-fft.csv",
        operation_id="statsExportNhsFftCsv",
        summary="Monthly NHS FFT layout as CSV",
        media_type=CSV_MEDIA_TYPE,
    )
    async def nhs_fft_csv(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        stats: StatsQueryDep,
        month: FromQuery[str],
    ) -> Response[str]:
        rows = await load_nhs_fft(services, stats, month)
        return await exported(request, services, nhs_csv(rows), f"nhs-fft-{month}")

    @get("/export/nps", operation_id="statsExportNps", summary="THL-style NPS summary")
    async def nps_summary(self, services: ServicesDep, stats: StatsQueryDep) -> list[NpsSummaryRow]:
        return await load_nps(services, stats)

    @get(
        "/export/nps.csv",
        operation_id="statsExportNpsCsv",
        summary="THL-style NPS summary as CSV",
        media_type=CSV_MEDIA_TYPE,
    )
    async def nps_summary_csv(
        self, request: Request[Any, Any, Any], services: ServicesDep, stats: StatsQueryDep
    ) -> Response[str]:
        return await exported(
            request, services, _struct_csv(await load_nps(services, stats)), "nps-summary"
        )

    @get(
        "/response-rates",
        operation_id="statsResponseRates",
        summary="SMS invitations sent, delivered, failed, answered; response rate with 95 % CI",
    )
    async def response_rates(
        self, services: ServicesDep, stats: StatsQueryDep
    ) -> list[ResponseRateRow]:
        """Per path, step and contact mode; from/to select invitations sent in those days."""
        return await load_response_rates(services, stats)

    @get(
        "/response-rates.csv",
        operation_id="statsResponseRatesCsv",
        summary="SMS response rates as CSV",
        media_type=CSV_MEDIA_TYPE,
    )
    async def response_rates_csv(
        self, request: Request[Any, Any, Any], services: ServicesDep, stats: StatsQueryDep
    ) -> Response[str]:
        rows = await load_response_rates(services, stats)
        return await exported(request, services, _struct_csv(rows), "response-rates")

    @get(
        "/comments",
        operation_id="statsComments",
        summary="Scrubbed comments, newest first, a page at a time",
    )
    async def comments(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        stats: StatsQueryDep,
        review: FromQuery[bool] = False,
        cursor: Annotated[
            str | None, Parameter(min_length=1, max_length=cm.MAX_CURSOR_LENGTH)
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=cm.MAX_PAGE_SIZE)] = cm.DEFAULT_PAGE_SIZE,
    ) -> cm.CommentPage:
        """Comments flagged for review only with ``review=true``. Every page read is
        audited (``stats.comments``, with the filters, never the text)."""
        page = await cm.read_comments(
            services.engine,
            stats.filter,
            stats.catalog,
            services.settings.effective_secret_key,
            review=review,
            cursor=cursor,
            limit=limit,
        )
        filters = {k: v for k, v in request.query_params.items() if k != "cursor"}
        detail = {**filters, "next_page": cursor is not None, "items": len(page.items)}
        await audited(request, services, "stats.comments", "stats:comments", detail)
        return page


async def load_nhs_fft(services: ServicesDep, stats: StatsQuery, month: str) -> list[NhsFftRow]:
    """One calendar month (Helsinki days), whatever from/to say; a bad month is a 400."""
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise Problem(400, "bad-month", "month must look like 2026-10.") from None
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    start, end = st.local_day_bounds(first, last)
    month_filter = replace(stats.filter, start=start, end=end)
    async with services.engine.connect() as conn:
        rows = await q.grouped_counts(conn, month_filter, ["path_id", "channel"])
    return nhs_rows(rows, stats, month)


async def load_nps(services: ServicesDep, stats: StatsQuery) -> list[NpsSummaryRow]:
    async with services.engine.connect() as conn:
        rows = await q.grouped_counts(conn, stats.filter, ["path_id"])
    return nps_rows(rows, stats)


async def load_response_rates(services: ServicesDep, stats: StatsQuery) -> list[ResponseRateRow]:
    series = await response_rates(services.engine, services.catalog, stats.filter)
    return response_rate_rows(series, stats.threshold)


async def load_table(
    services: ServicesDep,
    stats: StatsQuery,
    dims: Sequence[q.Dimension],
    period: q.Period | None = None,
) -> st.Table:
    """Sum roll-ups by one dimension or one local period, and build the suppressed table."""
    async with services.engine.connect() as conn:
        rows = await q.grouped_counts(conn, stats.filter, dims, period=period)
    cells: dict[tuple[str, str], int] = defaultdict(int)
    questions = set()
    for row in rows:
        key = (
            group_label(dims[0], row[0], stats.catalog) if dims else (row.period if period else "")
        )
        cells[(key, row.option)] += int(row.count)
        questions.add(row.question)
    return st.build_table(
        cells, st.options_for(questions), stats.threshold, grouped=bool(dims) or bool(period)
    )


def nhs_rows(rows: Iterable[Any], stats: StatsQuery, month: str) -> list[NhsFftRow]:
    """FFT paths only; per path the options tree is suppressed, then modes given the total."""
    by_path: dict[int, dict[str, dict[str, int]]] = defaultdict(
        lambda: {"options": defaultdict(int), "modes": defaultdict(int)}
    )
    for row in rows:
        if row.question != "overall_experience":
            continue
        by_path[row.path_id]["options"][row.option] += int(row.count)
        by_path[row.path_id]["modes"][row.channel] += int(row.count)
    out = []
    for path_id, parts in sorted(by_path.items()):
        info = stats.catalog.paths_by_id.get(path_id)
        counts = {o: parts["options"].get(o, 0) for o in FFT_OPTIONS}
        total = sum(counts.values())
        shown = suppress_tree(
            CountNode("total", total, tuple(CountNode(o, n) for o, n in counts.items())),
            stats.threshold,
        )
        modes_in: dict[str, int] = {c: parts["modes"].get(c, 0) for c in CHANNELS}
        modes: dict[str, int | None] = (
            suppress_flat(modes_in, stats.threshold)
            if shown.count is not None
            else dict.fromkeys(modes_in)
        )
        out.append(
            NhsFftRow(
                period=month,
                unit=info.unit_code if info else "",
                path=info.code if info else f"#{path_id}",
                counts={c.key: c.count for c in shown.children},
                total=shown.count,
                response_rate=None,
                modes=modes,
            )
        )
    return out


def nhs_csv(rows: Sequence[NhsFftRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["period", "unit", "path", *FFT_OPTIONS, "total", "response_rate"]
        + [f"mode_{c}" for c in CHANNELS]
    )
    for r in rows:
        writer.writerow(
            [r.period, r.unit, r.path]
            + [_cell(r.counts[o]) for o in FFT_OPTIONS]
            + [_cell(r.total), _cell(r.response_rate, False)]
            + [_cell(r.modes[c]) for c in CHANNELS]
        )
    return out.getvalue()


def nps_rows(rows: Iterable[Any], stats: StatsQuery) -> list[NpsSummaryRow]:
    """Promoters/passives/detractors per 0–10 path, suppressed as one small tree."""
    groups: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        if row.question == "recommendation" and row.option in NPS_OPTIONS:
            value = int(row.option)
            kind = "promoters" if value >= 9 else "detractors" if value <= 6 else "passives"
            groups[row.path_id][kind] += int(row.count)
    out = []
    for path_id, kinds in sorted(groups.items()):
        info = stats.catalog.paths_by_id.get(path_id)
        parts = {k: kinds.get(k, 0) for k in ("promoters", "passives", "detractors")}
        total = sum(parts.values())
        shown = suppress_tree(
            CountNode("n", total, tuple(CountNode(k, v) for k, v in parts.items())),
            stats.threshold,
        )
        got = {c.key: c.count for c in shown.children}
        score = None
        if shown.count and got["promoters"] is not None and got["detractors"] is not None:
            score = st.nps(got["promoters"], got["detractors"], shown.count)
        out.append(
            NpsSummaryRow(
                unit=info.unit_code if info else "",
                path=info.code if info else f"#{path_id}",
                n=shown.count,
                promoters=got["promoters"],
                passives=got["passives"],
                detractors=got["detractors"],
                nps=score,
                suppressed=None in got.values() or shown.count is None,
            )
        )
    return out


def _struct_csv(rows: Sequence[msgspec.Struct]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if rows:
        writer.writerow(rows[0].__struct_fields__)
        for r in rows:
            writer.writerow(
                [
                    _cell(v) if not isinstance(v, (str, bool)) else str(v).lower()
                    for v in msgspec.structs.astuple(r)
                ]
            )
    return out.getvalue()
