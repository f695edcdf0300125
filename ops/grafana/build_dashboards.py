"""Generate Kaiku's Grafana dashboards (ops/grafana/dashboards/*.json) with Grafana's SDK.

Uses grafana-foundation-sdk (the 11.6 flavour, matching the Grafana image in compose.yaml).

Run ``python ops/grafana/build_dashboards.py`` after editing; ``--check`` fails when the
committed JSON differs from what this script produces (the tests do the same).

Every panel query is plain PromQL in ``targets[].expr`` with fixed range windows; the template
variables ``$unit`` and ``$path`` appear only inside label matchers, so a test can substitute
``.*`` and evaluate each query through Prometheus' HTTP API. Windows are an hour or longer
because Kaiku's counters move in privacy steps of five.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import barchart, bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import BarGaugeDisplayMode, VizOrientation
from grafana_foundation_sdk.models.dashboard import (
    DashboardLinkType,
    DataSourceRef,
    DataTransformerConfig,
    Threshold,
    ThresholdsMode,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

OUT = Path(__file__).parent / "dashboards"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="kaiku-prometheus")
DEDUP = "max without (instance, pod)"
"""Every replica reports the same database-backed counters: keep one, never sum them."""

FFT = "very_good|good|neither|poor|very_poor|dont_know"
POSITIVE = "very_good|good"
NEGATIVE = "poor|very_poor"
MIN_STEP_ANSWERS = 20
"""Steps with fewer answers in 28 days are left out of "worst steps": too noisy to rank."""

Panel = db.Panel | stat.Panel | timeseries.Panel | table.Panel | bargauge.Panel | barchart.Panel


# --- PromQL ---------------------------------------------------------------------------------


def matchers(*parts: str) -> str:
    return "{" + ", ".join(part for part in parts if part) + "}"


def raw_increase(by: str, window: str, *selector: str) -> str:
    """Responses per ``by`` labels over ``window`` from the raw counter, replicas de-duplicated."""
    inner = f"increase(kaiku_responses_total{matchers(*selector)}[{window}])"
    total = f"sum by ({by})" if by else "sum"
    return f"{total} ({DEDUP} ({inner}))"


def raw_share(options: str, by: str, window: str, *selector: str) -> str:
    """Share of ``options`` among all FFT answers per ``by`` labels, from the raw counter."""
    part = raw_increase(by, window, *selector, f'option=~"{options}"')
    whole = raw_increase(by, window, *selector, f'option=~"{FFT}"')
    return f"{part}\n/ ({whole} > 0)"


def recorded_share(options: str, window: str, *selector: str) -> str:
    """Share of ``options`` across everything the selector matches, from recorded counts."""
    metric = f"kaiku:responses_by_option:increase{window}"
    part = f"sum({metric}{matchers(*selector, f'option=~{json.dumps(options)}')})"
    whole = f"sum({metric}{matchers(*selector, f'option=~{json.dumps(FFT)}')})"
    return f"{part} / ({whole} > 0)"


def recorded_ratio(numerator: str, denominator: str, window: str, *selector: str) -> str:
    """SMS invitation ratio (e.g. answered / sent) across everything the selector matches."""
    metric = f"kaiku:invitations_by_state:increase{window}"
    top = f"sum({metric}{matchers(*selector, f'state={json.dumps(numerator)}')})"
    bottom = f"sum({metric}{matchers(*selector, f'state={json.dumps(denominator)}')})"
    return f"{top} / ({bottom} > 0)"


UNIT = 'unit=~"$unit"'
PATH = 'path=~"$path"'


# --- Builders -------------------------------------------------------------------------------


def query(
    expr: str, legend: str = "", *, instant: bool = False, table_format: bool = False
) -> prom.Dataquery:
    target = prom.Dataquery().expr(expr).datasource(DATASOURCE)
    if legend:
        target = target.legend_format(legend)
    if instant:
        target = target.instant()
    if table_format:
        target = target.format(PromQueryFormat.TABLE)
    return target


def thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    levels = [Threshold(value=value, color=color) for value, color in steps]
    return db.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(levels)


GOOD_IS_HIGH = thresholds((None, "red"), (0.6, "orange"), (0.8, "green"))
BAD_IS_HIGH = thresholds((None, "green"), (0.1, "orange"), (0.2, "red"))
PLAIN = thresholds((None, "blue"))


def stat_panel(
    title: str, expr: str, unit: str, colors: db.ThresholdsConfig, about: str
) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(about)
        .with_target(query(expr, instant=True))
        .unit(unit)
        .thresholds(colors)
        .span(6)
        .height(5)
    )


def bars(
    title: str, expr: str, legend: str, unit: str, colors: db.ThresholdsConfig, about: str
) -> bargauge.Panel:
    panel = (
        bargauge.Panel()
        .title(title)
        .description(about)
        .with_target(query(expr, legend, instant=True))
        .unit(unit)
        .thresholds(colors)
        .display_mode(BarGaugeDisplayMode.GRADIENT)
        .orientation(VizOrientation.HORIZONTAL)
        .min(0)
        .span(12)
        .height(9)
    )
    return panel.max(1) if unit == "percentunit" else panel


def trend(title: str, expr: str, legend: str, unit: str, about: str) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(about)
        .with_target(query(expr, legend))
        .unit(unit)
        .min(0)
        .interval("1h")
        .span(12)
        .height(9)
    )
    return panel.max(1) if unit == "percentunit" else panel


def unit_variable(metric: str) -> db.QueryVariable:
    return (
        db.QueryVariable("unit")
        .label("Yksikkö / Unit")
        .datasource(DATASOURCE)
        .query(f"label_values({metric}, unit)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )


def dashboard(
    uid: str, title: str, about: str, rows: list[tuple[str, list[Panel]]]
) -> db.Dashboard:
    """A Kaiku dashboard: shared tags, links, time zone; panels get stable ids in order."""
    ids = itertools.count(1)
    board = (
        db.Dashboard(title)
        .uid(uid)
        .description(about)
        .tags(["kaiku"])
        .timezone("Europe/Helsinki")
        .time("now-28d", "now")
        .refresh("5m")
        .readonly()
        .link(
            db.DashboardLink("Kaiku")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(["kaiku"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )
    for row_title, panels in rows:
        board = board.with_row(db.Row(row_title).id(next(ids)))
        for panel in panels:
            board = board.with_panel(panel.id(next(ids)).datasource(DATASOURCE))
    return board


# --- Dashboards -----------------------------------------------------------------------------


def overview() -> db.Dashboard:
    summary: list[Panel] = [
        stat_panel(
            "Vastauksia / Answers, 7 d",
            f"sum(kaiku:responses:increase7d{{{UNIT}}})",
            "short",
            PLAIN,
            "All answers in the selected units over the last 7 days.",
        ),
        stat_panel(
            "Myönteisten osuus / Share positive, 28 d",
            recorded_share(POSITIVE, "28d", UNIT),
            "percentunit",
            GOOD_IS_HIGH,
            "(Very good + good) / all answers incl. don't know, last 28 days.",
        ),
        stat_panel(
            "Kielteisten osuus / Share negative, 28 d",
            recorded_share(NEGATIVE, "28d", UNIT),
            "percentunit",
            BAD_IS_HIGH,
            "(Poor + very poor) / all answers incl. don't know, last 28 days.",
        ),
        stat_panel(
            "Vastausprosentti / SMS response rate, 28 d",
            recorded_ratio("answered", "sent", "28d", UNIT),
            "percentunit",
            GOOD_IS_HIGH,
            "Answered / sent SMS invitations, last 28 days.",
        ),
    ]
    paths: list[Panel] = [
        bars(
            "Myönteisten osuus poluittain / Share positive by path, 28 d",
            f"kaiku:share_positive:ratio_rate28d{{{UNIT}}}",
            "{{unit}} · {{path}}",
            "percentunit",
            GOOD_IS_HIGH,
            "Per service path, last 28 days. Paths using the 0-10 scale have no share.",
        ),
        bars(
            "Vastauksia poluittain / Answers by path, 28 d",
            f"kaiku:responses:increase28d{{{UNIT}}}",
            "{{unit}} · {{path}}",
            "short",
            PLAIN,
            "Volume per service path, last 28 days.",
        ),
        trend(
            "Trendi: myönteisten osuus / Trend: share positive (7-day window)",
            f"kaiku:share_positive:ratio_rate7d{{{UNIT}}}",
            "{{unit}} · {{path}}",
            "percentunit",
            "Each point is the share over the 7 days before it, so single days do not jump.",
        ),
        trend(
            "Vastauksia vuorokaudessa / Answers per day",
            f"kaiku:responses:increase1d{{{UNIT}}}",
            "{{unit}} · {{path}}",
            "short",
            "Answers in the 24 hours before each point.",
        ),
    ]
    worst_expr = (
        f"topk(10,\n{raw_share(NEGATIVE, 'unit, path, step', '28d', UNIT)}\n"
        f"and on (unit, path, step)\n"
        f"({raw_increase('unit, path, step', '28d', UNIT, f'option=~{json.dumps(FFT)}')}"
        f" >= {MIN_STEP_ANSWERS})\n)"
    )
    worst: list[Panel] = [
        table.Panel()
        .title("Heikoimmat vaiheet / Worst steps: share negative, 28 d")
        .description(
            f"The ten steps with the highest share of poor and very poor answers in the last "
            f"28 days, among steps with at least {MIN_STEP_ANSWERS} answers."
        )
        .with_target(query(worst_expr, instant=True, table_format=True))
        .unit("percentunit")
        .with_transformation(
            DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True},
                    "renameByName": {
                        "unit": "Yksikkö / Unit",
                        "path": "Polku / Path",
                        "step": "Vaihe / Step",
                        "Value": "Kielteisiä / Negative",
                    },
                },
            )
        )
        .span(24)
        .height(10)
    ]
    return dashboard(
        "kaiku-overview",
        "Kaiku — Yleiskuva / Overview",
        "All service paths: volume, share positive and negative, trend and the worst steps.",
        [
            ("Yhteenveto / Summary", summary),
            ("Palvelupolut / Service paths", paths),
            ("Heikoimmat vaiheet / Worst steps", worst),
        ],
    ).with_variable(unit_variable("kaiku_responses_total"))


def breakdown(label: str, finnish: str, english: str) -> list[Panel]:
    """Share positive and volume of the selected path split by one label (step, channel...)."""
    return [
        bars(
            f"Myönteisten osuus: {finnish} / Share positive by {english}, 28 d",
            raw_share(POSITIVE, label, "28d", UNIT, PATH),
            f"{{{{{label}}}}}",
            "percentunit",
            GOOD_IS_HIGH,
            f"(Very good + good) / all answers per {english}, last 28 days.",
        ),
        bars(
            f"Vastauksia: {finnish} / Answers by {english}, 28 d",
            raw_increase(label, "28d", UNIT, PATH),
            f"{{{{{label}}}}}",
            "short",
            PLAIN,
            f"Answers per {english}, last 28 days.",
        ),
    ]


def hour_of_day() -> barchart.Panel:
    """Answers per hour of day: hourly increases, grouped by Helsinki hour in Grafana."""
    answers = "Vastauksia / Answers"
    return (
        barchart.Panel()
        .title("Vastaukset kellonajoittain / Answers by hour of day, 28 d")
        .description(
            "Hourly answer counts over the last 28 days summed per hour of day (Helsinki "
            "time). The bar for 10 counts answers between 09:00 and 10:00."
        )
        .with_target(query(raw_increase("", "1h", UNIT, PATH), answers))
        .interval("1h")
        .time_from("28d")
        .with_transformation(
            DataTransformerConfig(
                id_val="formatTime",
                options={"timeField": "Time", "outputFormat": "HH", "useTimezone": True},
            )
        )
        .with_transformation(
            DataTransformerConfig(
                id_val="groupBy",
                options={
                    "fields": {
                        "Time": {"aggregations": [], "operation": "groupby"},
                        answers: {"aggregations": ["sum"], "operation": "aggregate"},
                    }
                },
            )
        )
        .with_transformation(
            DataTransformerConfig(id_val="sortBy", options={"sort": [{"field": "Time"}]})
        )
        .x_field("Time")
        .unit("short")
        .span(24)
        .height(9)
    )


def service_path() -> db.Dashboard:
    summary: list[Panel] = [
        stat_panel(
            "Myönteisten osuus / Share positive, 28 d",
            recorded_share(POSITIVE, "28d", UNIT, PATH),
            "percentunit",
            GOOD_IS_HIGH,
            "(Very good + good) / all answers incl. don't know, last 28 days.",
        ),
        stat_panel(
            "Kielteisten osuus / Share negative, 28 d",
            recorded_share(NEGATIVE, "28d", UNIT, PATH),
            "percentunit",
            BAD_IS_HIGH,
            "(Poor + very poor) / all answers incl. don't know, last 28 days.",
        ),
        stat_panel(
            "Vastauksia / Answers, 28 d",
            f"sum(kaiku:responses:increase28d{{{UNIT}, {PATH}}})",
            "short",
            PLAIN,
            "All answers on this path, last 28 days.",
        ),
        stat_panel(
            "Vastausprosentti / SMS response rate, 28 d",
            recorded_ratio("answered", "sent", "28d", UNIT, PATH),
            "percentunit",
            GOOD_IS_HIGH,
            "Answered / sent SMS invitations on this path, last 28 days.",
        ),
        trend(
            "Trendi / Trend: share positive and negative (7-day window)",
            f"kaiku:share_positive:ratio_rate7d{{{UNIT}, {PATH}}}",
            "myönteiset / positive · {{unit}}",
            "percentunit",
            "Each point is the share over the 7 days before it.",
        ).with_target(
            query(
                f"kaiku:share_negative:ratio_rate7d{{{UNIT}, {PATH}}}",
                "kielteiset / negative · {{unit}}",
            )
        ),
        bars(
            "Vastausjakauma / Answers by option, 28 d",
            f"sum by (option) (kaiku:responses_by_option:increase28d{{{UNIT}, {PATH}}})",
            "{{option}}",
            "short",
            PLAIN,
            "How many chose each answer option, last 28 days.",
        ),
    ]
    return (
        dashboard(
            "kaiku-service-path",
            "Kaiku — Palvelupolku / Service path",
            "One service path drilled down by step, channel, contact mode and hour of day.",
            [
                ("Yhteenveto / Summary", summary),
                ("Vaiheittain / By step", breakdown("step", "vaiheittain", "step")),
                ("Kanavittain / By channel", breakdown("channel", "kanavittain", "channel")),
                (
                    "Asiointitavoittain / By contact mode",
                    breakdown("contact_mode", "asiointitavoittain", "contact mode"),
                ),
                ("Kellonajoittain / By hour of day", [hour_of_day()]),
            ],
        )
        .with_variable(unit_variable("kaiku_responses_total"))
        .with_variable(
            db.QueryVariable("path")
            .label("Palvelupolku / Service path")
            .datasource(DATASOURCE)
            .query('label_values(kaiku_responses_total{unit=~"$unit"}, path)')
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
        )
    )


def kiosks_delivery() -> db.Dashboard:
    kiosks: list[Panel] = [
        bars(
            "Hiljaa / Kiosk silent for",
            f"time() - max by (unit, kiosk) (kaiku_kiosk_last_seen_timestamp_seconds{{{UNIT}}})",
            "{{unit}} · {{kiosk}}",
            "s",
            thresholds((None, "green"), (1800, "orange"), (7200, "red")),
            "Time since each kiosk last reached Kaiku. During opening hours (weekdays 08-16) "
            "more than 30 minutes raises the KioskSilent alert.",
        ),
        trend(
            "Kioskin lähtevät / Kiosk outbox pending",
            f"max by (unit, kiosk) (kaiku_kiosk_outbox_pending{{{UNIT}}})",
            "{{unit}} · {{kiosk}}",
            "short",
            "Answers a tablet holds until the server confirms them; a growing queue means "
            "the tablet cannot reach Kaiku.",
        ),
    ]
    sms: list[Panel] = [
        stat_panel(
            "SMS-jono / SMS outbox pending",
            f"{DEDUP} (kaiku_sms_outbox_pending)",
            "short",
            thresholds((None, "green"), (100, "orange"), (1000, "red")),
            "Messages waiting for the SMS gateway.",
        ),
        stat_panel(
            "Epäonnistuneet / Failed ÷ sent, 1 h",
            recorded_ratio("failed", "sent", "1h", UNIT),
            "percentunit",
            BAD_IS_HIGH,
            "Failed / sent SMS invitations in the last hour; above 10 % raises SmsFailuresHigh.",
        ),
        stat_panel(
            "Vastausprosentti / SMS response rate, 7 d",
            recorded_ratio("answered", "sent", "7d", UNIT),
            "percentunit",
            GOOD_IS_HIGH,
            "Answered / sent SMS invitations, last 7 days.",
        ),
        stat_panel(
            "Koosteen ikä / Roll-up snapshot age",
            f"{DEDUP} (kaiku_rollup_snapshot_age_seconds)",
            "s",
            thresholds((None, "green"), (300, "red")),
            "Age of the roll-up behind all numbers; over 5 minutes raises RollupSnapshotStale.",
        ),
        trend(
            "Tekstiviestikutsut / SMS invitations per hour",
            f"sum by (state) (kaiku:invitations_by_state:increase1h{{{UNIT}}})",
            "{{state}}",
            "short",
            "Invitations reaching each state (scheduled, skipped, sent, delivered, failed, "
            "answered) in the hour before each point.",
        ),
        bars(
            "Vastausprosentti poluittain / SMS response rate by path, 7 d",
            f"kaiku:sms_response_rate:ratio_rate7d{{{UNIT}}}",
            "{{unit}} · {{path}}",
            "percentunit",
            GOOD_IS_HIGH,
            "Answered / sent SMS invitations per service path, last 7 days.",
        ),
    ]
    return dashboard(
        "kaiku-kiosks-delivery",
        "Kaiku — Kioskit ja toimitus / Kiosks and delivery",
        "Are the tablets online, do SMS invitations go out, are clients answering them?",
        [("Kioskit / Kiosks", kiosks), ("Tekstiviestit / SMS", sms)],
    ).with_variable(unit_variable("kaiku_responses_total"))


def panel_recruitment() -> db.Dashboard:
    per_panel = f"{DEDUP} (kaiku_panel_members{{{UNIT}}})"
    columns = {
        "A": ("Paikat / Seats", f"max by (panel, unit) (kaiku_panel_seats{{{UNIT}}})"),
        "B": (
            "Hyväksyneet / Accepted",
            f'sum by (panel, unit) ({DEDUP} (kaiku_panel_members{{{UNIT}, status="accepted"}}))',
        ),
        "C": (
            "Vapaaehtoisia / Volunteers in pool",
            f"max by (panel, unit) (kaiku_panel_pool_volunteers{{{UNIT}}})",
        ),
        "D": (
            "Päiviä 1. kokoukseen / Days to first meeting",
            f"(max by (panel, unit) (kaiku_panel_first_meeting_timestamp_seconds{{{UNIT}}})"
            " - time()) / 86400",
        ),
    }
    overview_table = (
        table.Panel()
        .title("Raadit / Panels")
        .description(
            "Seats, accepted members, volunteers available and days until the first meeting. "
            "PanelUnderFilled alerts when a panel meeting within 14 days has empty seats."
        )
        .targets(
            [
                query(expr, instant=True, table_format=True).ref_id(ref)
                for ref, (_, expr) in columns.items()
            ]
        )
        .with_transformation(DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True},
                    "renameByName": {
                        "panel": "Raati / Panel",
                        "unit": "Yksikkö / Unit",
                        **{f"Value #{ref}": name for ref, (name, _) in columns.items()},
                    },
                },
            )
        )
        .decimals(0)
        .span(24)
        .height(9)
    )
    panels: list[Panel] = [
        overview_table,
        bars(
            "Täyttöaste / Seats filled",
            columns["B"][1] + f"\n/ on (panel, unit) ({columns['A'][1]} > 0)",
            "{{unit}} · {{panel}}",
            "percentunit",
            GOOD_IS_HIGH,
            "Accepted members / seats per panel.",
        ),
        bars(
            "Kutsujen tila / Invitations by status",
            f"sum by (panel, status) ({per_panel})",
            "{{panel}} · {{status}}",
            "short",
            PLAIN,
            "Panel invitations: invited, accepted, declined, no answer.",
        ),
        bars(
            "Poluittain / By service path",
            f"sum by (panel, path, status) ({DEDUP} (kaiku_panel_path_volunteers{{{UNIT}}}))",
            "{{panel}} · {{path}} · {{status}}",
            "short",
            PLAIN,
            "Per path of each panel: volunteers in the pool and members by invitation status "
            "(counts below 5 are not exported).",
        ),
        trend(
            "Hyväksyneet ajan mittaan / Accepted over time",
            columns["B"][1],
            "{{unit}} · {{panel}}",
            "short",
            "Accepted members per panel over time.",
        ),
    ]
    return dashboard(
        "kaiku-panel-recruitment",
        "Kaiku — Asiakasraatien rekrytointi / Panel recruitment",
        "Client panels (asiakasraati): how full they are and how recruitment is going.",
        [("Asiakasraadit / Client panels", panels)],
    ).with_variable(unit_variable("kaiku_panel_seats"))


DASHBOARDS: dict[str, Callable[[], db.Dashboard]] = {
    "overview": overview,
    "service-path": service_path,
    "kiosks-delivery": kiosks_delivery,
    "panel-recruitment": panel_recruitment,
}


def name_targets(model: Any) -> Any:
    """Give unnamed targets the refIds Grafana would assign (A, B, ...), so files are stable."""
    for panel in model.panels or []:
        for index, target in enumerate(getattr(panel, "targets", None) or []):
            target.ref_id = target.ref_id or chr(ord("A") + index)
    return model


def render(out: Path = OUT) -> Iterator[tuple[Path, str]]:
    """Each dashboard file and the exact text it must contain."""
    for name, build in DASHBOARDS.items():
        model = name_targets(build().build())
        text = json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False)
        yield out / f"{name}.json", text + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the JSON files are stale")
    parser.add_argument("--out", type=Path, default=OUT, help="directory of the JSON files")
    args = parser.parse_args(argv)
    stale = []
    for path, text in render(args.out):
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'}: {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
