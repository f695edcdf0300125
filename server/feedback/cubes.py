"""Which coarser roll-up ("cube") answers a statistics query with the fewest rows.

The hourly roll-up has every dimension, and at realistic volumes most of its cells hold
one answer: a year of one path is as many rows as answers. A cube keeps fewer dimensions
at a coarser grain (a Helsinki day or month), so a year of one path by step is a few
thousand rows whatever the volume. Every answer is counted in every cube in the same
transaction as the hourly roll-up (see ``repository.insert_counted``), and a query
picks the cheapest cube that has its dimensions, whose grain is no coarser than the
periods it groups by, and whose buckets line up with its time window.

"Cheapest" is a static estimate of rows per month of one path: buckets per month (about
200 opening hours, 22 days, 1 month) times the spread the kept dimensions add (about 5
steps, 3 channels, 3 contact modes). It only has to rank the cubes, not be exact.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, NamedTuple

from server.feedback.models import NO_STEP
from server.feedback.statistics import HELSINKI

Grain = Literal["hour", "day", "month"]
GRAIN_ORDER: dict[Grain, int] = {"hour": 0, "day": 1, "month": 2}
ALL_DIMENSIONS = ("unit_id", "path_id", "step_id", "channel", "contact_mode")
#: The finest grain each kind of period can be computed from.
PERIOD_GRAIN: dict[str, Grain] = {
    "hour": "hour",
    "weekday": "day",
    "day": "day",
    "week": "day",
    "month": "month",
}


BUCKETS_PER_MONTH: dict[Grain, int] = {"hour": 200, "day": 22, "month": 1}
OPENING_HOURS_PER_DAY = 9
NO_SLOT = -1
SPREAD = {"unit_id": 1, "path_id": 1, "step_id": 5, "channel": 3, "contact_mode": 3}


@dataclass(frozen=True)
class Cube:
    """``hour_slots``: each bucket is split by the Helsinki hour of day (``slot``), so
    hour-of-day patterns over whole months read a month's 24 slots, not its hours."""

    number: int
    grain: Grain
    dimensions: frozenset[str]
    hour_slots: bool = False

    @property
    def cost(self) -> int:
        """Estimated rows per month of one path (for ranking cubes only)."""
        slots = OPENING_HOURS_PER_DAY if self.hour_slots else 1
        spread = math.prod(SPREAD[d] for d in self.dimensions)
        return BUCKETS_PER_MONTH[self.grain] * slots * spread

    def answers(self, period: str | None) -> bool:
        """Whether this cube can group by ``period`` (slots serve hour-of-day only)."""
        if self.hour_slots:
            return period == "hour"
        return GRAIN_ORDER[self.grain] <= GRAIN_ORDER[PERIOD_GRAIN.get(period or "", "month")]


PATH = frozenset({"unit_id", "path_id"})
CUBES = (
    Cube(1, "hour", PATH),  # hour-of-day patterns
    Cube(2, "day", PATH),  # overviews, daily and weekly trends, weekday patterns
    Cube(3, "day", PATH | {"step_id"}),  # a path by step
    Cube(4, "day", PATH | {"channel", "contact_mode"}),  # channels and contact modes
    Cube(5, "month", frozenset(ALL_DIMENSIONS)),  # monthly exports with every dimension
    Cube(6, "month", PATH),  # long monthly trends
    Cube(7, "month", PATH, hour_slots=True),  # hour-of-day patterns over months
)


class CubeKey(NamedTuple):
    cube: int
    bucket: dt.datetime
    slot: int
    unit_id: int
    path_id: int
    step_id: int
    channel: str
    contact_mode: str
    question: str
    option: str
    misuse: bool


def grain_start(instant: dt.datetime, grain: Grain) -> dt.datetime:
    """UTC instant at which the Helsinki hour, day or month holding ``instant`` starts."""
    if grain == "hour":
        return instant.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    local = instant.astimezone(HELSINKI)
    day = 1 if grain == "month" else local.day
    return dt.datetime(local.year, local.month, day, tzinfo=HELSINKI).astimezone(dt.UTC)


#: What a cube stores for a dimension it leaves out.
EMPTY: dict[str, int | str] = {
    "unit_id": 0,
    "path_id": 0,
    "step_id": NO_STEP,
    "channel": "",
    "contact_mode": "",
}


def choose(
    dimensions: Collection[str],
    period: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> Cube | None:
    """The cheapest cube that can answer exactly; None means the full hourly roll-up."""
    fitting = [
        cube
        for cube in CUBES
        if cube.dimensions >= set(dimensions)
        and cube.answers(period)
        and all(_aligned(edge, cube.grain) for edge in (start, end))
    ]
    return min(fitting, key=lambda cube: cube.cost, default=None)


Window = tuple[dt.datetime | None, dt.datetime | None]


def plan(
    dimensions: Collection[str],
    period: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> list[tuple[Cube | None, Window]]:
    """Which cube reads which part of the window.

    A window that does not start and end on month boundaries could only use daily or
    hourly cubes; when the periods allow (none, months, or hours of the day), its whole
    months are read from a monthly cube and only the partial months at its edges from
    finer ones.
    """
    whole: list[tuple[Cube | None, Window]] = [
        (choose(dimensions, period, start, end), (start, end))
    ]
    if period not in (None, "month", "hour"):
        return whole
    first = start if start is None or _aligned(start, "month") else next_month_start(start)
    last = end if end is None or _aligned(end, "month") else grain_start(end, "month")
    if (first, last) == (start, end) or (first and last and first >= last):
        return whole
    windows: list[Window] = [(start, first), (first, last), (last, end)]
    return [
        (choose(dimensions, period, low, high), (low, high)) for low, high in windows if low != high
    ]


def next_month_start(instant: dt.datetime) -> dt.datetime:
    """UTC instant the Helsinki month after the one holding ``instant`` starts."""
    return grain_start(grain_start(instant, "month") + dt.timedelta(days=32), "month")


def _aligned(edge: dt.datetime | None, grain: Grain) -> bool:
    return edge is None or grain_start(edge, grain) == edge.astimezone(dt.UTC)
