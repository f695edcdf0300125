"""Pure statistics over answer counts: FFT shares, NPS, intervals, comparisons, calendars.

Nothing here touches the database, so every function is easy to property-test. Counts
arrive already summed from the hourly roll-up; local calendars (Europe/Helsinki, weeks
starting on Monday) are derived from the UTC hour of each roll-up bucket.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec

from server.feedback.scales import FFT_NEGATIVE, FFT_OPTIONS, FFT_POSITIVE, NPS_OPTIONS
from server.privacy.suppression import CountNode, ShownNode, suppress_tree

HELSINKI = ZoneInfo("Europe/Helsinki")
Z95 = 1.959963984540054
Interval = Literal["day", "week", "month"]
INTERVALS: tuple[Interval, ...] = ("day", "week", "month")
NPS_PROMOTERS = frozenset({"9", "10"})
NPS_DETRACTORS = frozenset(str(n) for n in range(7))


@dataclass(frozen=True)
class Proportion:
    """A share with its 95 % Wilson score interval."""

    value: float
    low: float
    high: float


def wilson(successes: int, n: int, z: float = Z95) -> Proportion:
    """Wilson score interval: unlike the normal approximation it stays inside [0, 1] and
    behaves at small n and at 0 % or 100 %, which small service paths see all the time."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes}/{n}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if successes == 0 else max(0.0, min(p, centre - half))
    high = 1.0 if successes == n else min(1.0, max(p, centre + half))
    return Proportion(p, low, high)


def fft_counts(counts: Mapping[str, int]) -> tuple[int, int, int]:
    """(positive, negative, all FFT answers); "don't know" counts in the denominator."""
    total = sum(counts.get(o, 0) for o in FFT_OPTIONS)
    positive = sum(counts.get(o, 0) for o in FFT_POSITIVE)
    negative = sum(counts.get(o, 0) for o in FFT_NEGATIVE)
    return positive, negative, total


def nps_counts(counts: Mapping[str, int]) -> tuple[int, int, int]:
    """(promoters 9–10, detractors 0–6, all 0–10 answers)."""
    total = sum(counts.get(o, 0) for o in NPS_OPTIONS)
    promoters = sum(counts.get(o, 0) for o in NPS_PROMOTERS)
    detractors = sum(counts.get(o, 0) for o in NPS_DETRACTORS)
    return promoters, detractors, total


def nps(promoters: int, detractors: int, total: int) -> float:
    """Net Promoter Score in points (−100…100)."""
    if total <= 0:
        raise ValueError("NPS needs at least one answer")
    return 100.0 * (promoters - detractors) / total


@dataclass(frozen=True)
class Comparison:
    """Two shares side by side; ``within_noise`` when the data cannot tell them apart."""

    difference: float
    p_value: float
    intervals_overlap: bool
    within_noise: bool


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both groups need answers")
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = abs(x1 / n1 - x2 / n2) / se
    return math.erfc(z / math.sqrt(2))


def compare(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05) -> Comparison:
    """Compare share 1 with share 2. A difference counts as real only when the z-test is
    significant; overlapping Wilson intervals are reported too since managers read them."""
    a, b = wilson(x1, n1), wilson(x2, n2)
    p = two_proportion_p(x1, n1, x2, n2)
    overlap = a.low <= b.high and b.low <= a.high
    return Comparison(a.value - b.value, p, overlap, p >= alpha)


def local_date(bucket: dt.datetime) -> dt.date:
    """The Helsinki calendar day an hour bucket (aware, UTC) belongs to."""
    if bucket.tzinfo is None:
        raise ValueError("bucket must be timezone-aware")
    return bucket.astimezone(HELSINKI).date()


def period_start(day: dt.date, interval: Interval) -> dt.date:
    """First local day of the day/week (Monday)/month containing ``day``."""
    if interval == "day":
        return day
    if interval == "week":
        return day - dt.timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown interval {interval!r}")


def period_of(bucket: dt.datetime, interval: Interval) -> dt.date:
    return period_start(local_date(bucket), interval)


def hour_and_weekday(bucket: dt.datetime) -> tuple[int, int]:
    """Local hour of day (0–23) and ISO weekday (1 = Monday) of an hour bucket."""
    local = bucket.astimezone(HELSINKI)
    return local.hour, local.isoweekday()


def local_day_bounds(first: dt.date | None, last: dt.date | None) -> tuple[dt.datetime | None, ...]:
    """UTC instants [start of ``first``, start of the day after ``last``) in Helsinki time."""

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), HELSINKI).astimezone(dt.UTC)

    return (
        midnight(first) if first else None,
        midnight(last + dt.timedelta(days=1)) if last else None,
    )


# --- Published tables -------------------------------------------------------------------
#
# Every number staff see comes out of ``build_table``: counts go through the suppression
# tree (total → groups → options), and anything computed from counts (option totals,
# shares, NPS) is published only when it can already be worked out from the shown cells,
# so derived figures never leak a suppressed count.


class Cell(msgspec.Struct):
    count: int | None
    suppressed: bool = False


class Share(msgspec.Struct):
    """A share with its 95 % Wilson interval; all None when not applicable or suppressed."""

    value: float | None
    low: float | None = None
    high: float | None = None
    n: int | None = None
    suppressed: bool = False


class Row(msgspec.Struct):
    key: str
    n: Cell
    options: dict[str, Cell]
    share_positive: Share
    share_negative: Share
    nps: Share


class Table(msgspec.Struct):
    threshold: int
    total: Row
    groups: list[Row]


def options_for(questions: set[str]) -> tuple[str, ...]:
    """Answer options to list, so zero counts show as 0 rather than missing."""
    found: tuple[str, ...] = ()
    if "overall_experience" in questions:
        found += FFT_OPTIONS
    if "recommendation" in questions:
        found += NPS_OPTIONS
    return found


def build_table(
    cells: Mapping[tuple[str, str], int],
    options: tuple[str, ...],
    threshold: int,
    grouped: bool,
) -> Table:
    """Suppress and summarise counts keyed by (group, option); group is "" when not grouped."""
    groups = sorted({g for g, _ in cells}) if grouped else [""]
    options = tuple(dict.fromkeys(options + tuple(sorted({o for _, o in cells}))))
    tree = CountNode(
        "total",
        sum(cells.values()),
        tuple(
            CountNode(
                g,
                sum(cells.get((g, o), 0) for o in options),
                tuple(CountNode(o, cells.get((g, o), 0)) for o in options),
            )
            for g in groups
        ),
    )
    if not grouped:
        tree = CountNode("total", tree.count, tree.children[0].children)
    shown = suppress_tree(tree, threshold)
    if not grouped:
        return Table(threshold, _row("total", shown.count, _leaves(shown)), [])
    rows = [_row(g.key, g.count, _leaves(g)) for g in shown.children]
    totals = {o: _sum_shown([r.options[o] for r in rows]) for o in options}
    return Table(threshold, _row("total", shown.count, totals), rows)


def _leaves(node: ShownNode) -> dict[str, int | None]:
    return {child.key: child.count for child in node.children}


def _sum_shown(cells: list[Cell]) -> int | None:
    counts = [c.count for c in cells]
    return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)


def derivable(
    total: int | None, leaves: Mapping[str, int | None], subset: frozenset[str]
) -> int | None:
    """The sum of ``subset``'s leaves if shown numbers already give it away, else None."""
    inside = [v for k, v in leaves.items() if k in subset]
    outside = [v for k, v in leaves.items() if k not in subset]
    if all(v is not None for v in inside):
        return sum(v for v in inside if v is not None)
    if total is not None and all(v is not None for v in outside):
        return total - sum(v for v in outside if v is not None)
    return None


def _share(numerator: int | None, n: int | None, applicable: bool, *, scale: float = 1.0) -> Share:
    if not applicable:
        return Share(None)
    if numerator is None or n is None:
        return Share(None, suppressed=True)
    if n == 0:
        return Share(None, n=0)
    w = wilson(numerator, n)
    return Share(w.value * scale, w.low * scale, w.high * scale, n)


def _row(key: str, count: int | None, leaves: Mapping[str, int | None]) -> Row:
    fft, nps_all = frozenset(FFT_OPTIONS), frozenset(NPS_OPTIONS)
    present = {k for k, v in leaves.items() if v != 0}
    fft_n = derivable(count, leaves, fft)
    nps_n = derivable(count, leaves, nps_all)
    pos = derivable(count, leaves, FFT_POSITIVE)
    neg = derivable(count, leaves, FFT_NEGATIVE)
    promoters = derivable(count, leaves, NPS_PROMOTERS)
    detractors = derivable(count, leaves, NPS_DETRACTORS)
    nps_share = Share(None) if not present & nps_all else Share(None, suppressed=True)
    if nps_n and promoters is not None and detractors is not None:
        nps_share = Share(nps(promoters, detractors, nps_n), n=nps_n)
    return Row(
        key=key,
        n=Cell(count, count is None),
        options={k: Cell(v, v is None) for k, v in leaves.items()},
        share_positive=_share(pos, fft_n, bool(present & fft)),
        share_negative=_share(neg, fft_n, bool(present & fft)),
        nps=nps_share,
    )
