"""A built-in overview per service path for those without Grafana: /overview.

Server-rendered htpy with inline SVG bars and no JavaScript. The numbers are the same
suppressed table the statistics API returns, and every bar has its figures in a table
next to it (WCAG: the chart is decoration, the table is the content).
"""

from __future__ import annotations

import htpy as h
from litestar import Controller, Response, get
from litestar.di import Provide

from server.auth.guards import requires
from server.auth.roles import Role
from server.feedback import statistics as st
from server.feedback.stats_controller import StatsQueryDep, load_table, provide_query
from server.services import ServicesDep

BAR_WIDTH = 200
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1b1b;max-width:60rem}
table{border-collapse:collapse;width:100%}th,td{padding:.4rem .6rem;text-align:left;
border-bottom:1px solid #bbb}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pos{fill:#1d6b34}.neg{fill:#a4262c}.rest{fill:#d0d0d0}
"""


def percent(share: st.Share) -> str:
    if share.value is None:
        return "suppressed" if share.suppressed else "–"
    low, high = share.low or 0.0, share.high or 0.0
    return f"{share.value:.0%} ({low:.0%}–{high:.0%})"


def bar(row: st.Row) -> h.Node:
    """Positive / negative / rest as one horizontal bar; nothing when shares are hidden."""
    pos, neg = row.share_positive.value, row.share_negative.value
    if pos is None or neg is None:
        return None
    widths = [round(pos * BAR_WIDTH), round(neg * BAR_WIDTH)]
    rest = BAR_WIDTH - sum(widths)
    return h.svg(
        width=str(BAR_WIDTH), height="16", role="img", aria_hidden="true", focusable="false"
    )[
        h.rect(class_="pos", x="0", y="0", width=str(widths[0]), height="16"),
        h.rect(class_="neg", x=str(widths[0]), y="0", width=str(widths[1]), height="16"),
        h.rect(class_="rest", x=str(sum(widths)), y="0", width=str(max(rest, 0)), height="16"),
    ]


def count(cell: st.Cell) -> str:
    return "suppressed" if cell.count is None else str(cell.count)


def render_overview(table: st.Table) -> str:
    rows = [
        h.tr[
            h.th(scope="row")[row.key],
            h.td(class_="num")[count(row.n)],
            h.td(class_="num")[percent(row.share_positive)],
            h.td(class_="num")[percent(row.share_negative)],
            h.td[bar(row)],
        ]
        for row in table.groups
    ]
    return str(
        h.html(lang="en")[
            h.head[
                h.meta(charset="utf-8"),
                h.meta(name="viewport", content="width=device-width, initial-scale=1"),
                h.title["Kaiku – overview"],
                h.style[STYLE],
            ],
            h.body[
                h.main[
                    h.h1["Overview per service path"],
                    h.p[
                        f"Counts below {table.threshold} are suppressed, and so is any "
                        "figure that would reveal them. Shares show a 95 % interval."
                    ],
                    h.table[
                        h.caption["Answers, share positive and share negative per path"],
                        h.thead[
                            h.tr[
                                h.th(scope="col")["Path"],
                                h.th(scope="col")["Answers"],
                                h.th(scope="col")["Positive"],
                                h.th(scope="col")["Negative"],
                                h.th(scope="col")["Positive / negative"],
                            ]
                        ],
                        h.tbody[rows or h.tr[h.td(colspan="5")["No answers in this period."]]],
                    ],
                ]
            ],
        ]
    )


class OverviewPageController(Controller):
    path = "/overview"
    guards = [requires(Role.MANAGER, Role.ADMIN)]
    dependencies = {"stats": Provide(provide_query)}
    include_in_schema = False

    @get("/", operation_id="overviewPage")
    async def overview(self, services: ServicesDep, stats: StatsQueryDep) -> Response[str]:
        table = await load_table(services, stats, ["path_id"])
        return Response(render_overview(table), media_type="text/html; charset=utf-8")
