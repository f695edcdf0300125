"""Stratified random selection: meet the composition targets where the pool allows.

Each target is a quota "at least N members whose <attribute> is <value>". Selection is
random among equals (so the eager are not always first), greedy on how many unmet quotas
a person helps with, then repaired by swaps; a quota still unmet is reported, never
hidden. Staff and people invited too often in the last year are never chosen.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

ATTRIBUTES = ("sentiment", "language", "age_band")


@dataclass(frozen=True)
class Candidate:
    id: int
    sentiment: str | None = None
    language: str = "fi"
    age_band: str | None = None
    staff: bool = False
    invites_last_year: int = 0

    def value(self, attribute: str) -> str | None:
        value: str | None = getattr(self, attribute)
        return value


@dataclass(frozen=True)
class Quota:
    attribute: str
    value: str
    minimum: int

    def matches(self, candidate: Candidate) -> bool:
        return candidate.value(self.attribute) == self.value

    def label(self) -> str:
        return f"at least {self.minimum} with {self.attribute} {self.value}"


@dataclass(frozen=True)
class Selection:
    chosen: list[int]
    unmet: list[Quota] = field(default_factory=list)
    excluded: int = 0


def eligible(candidate: Candidate, max_invites: int) -> bool:
    return not candidate.staff and candidate.invites_last_year < max_invites


def _deficits(chosen: Sequence[Candidate], quotas: Sequence[Quota]) -> list[int]:
    return [max(0, q.minimum - sum(1 for c in chosen if q.matches(c))) for q in quotas]


def _shortfall(chosen: Sequence[Candidate], quotas: Sequence[Quota]) -> int:
    return sum(_deficits(chosen, quotas))


def _gain(candidate: Candidate, quotas: Sequence[Quota], deficits: Sequence[int]) -> int:
    return sum(1 for q, d in zip(quotas, deficits, strict=True) if d and q.matches(candidate))


def _repair(
    chosen: list[Candidate], rest: list[Candidate], quotas: Sequence[Quota]
) -> list[Candidate]:
    """Swap one member for one outsider while that lowers the total shortfall."""
    improved = True
    while improved and _shortfall(chosen, quotas):
        improved = False
        current = _shortfall(chosen, quotas)
        for i, member in enumerate(chosen):
            for j, outsider in enumerate(rest):
                trial = [*chosen[:i], outsider, *chosen[i + 1 :]]
                if _shortfall(trial, quotas) < current:
                    chosen, rest = trial, [*rest[:j], member, *rest[j + 1 :]]
                    improved = True
                    break
            if improved:
                break
    return chosen


def select(
    pool: Sequence[Candidate],
    seats: int,
    quotas: Sequence[Quota],
    *,
    max_invites: int,
    rng: random.Random | None = None,
) -> Selection:
    """Choose at most ``seats`` eligible candidates, quotas first, then at random."""
    rng = rng or random.Random()  # noqa: S311 -- fairness, not secrecy
    ok = [c for c in pool if eligible(c, max_invites)]
    rng.shuffle(ok)
    chosen: list[Candidate] = []
    rest = list(ok)
    while rest and len(chosen) < seats:
        deficits = _deficits(chosen, quotas)
        if not any(deficits):
            break
        best = max(range(len(rest)), key=lambda i: _gain(rest[i], quotas, deficits))
        if _gain(rest[best], quotas, deficits) == 0:
            break
        chosen.append(rest.pop(best))
    chosen = _repair(chosen, rest, quotas)
    picked = {c.id for c in chosen}
    rest = [c for c in ok if c.id not in picked]
    chosen += rest[: max(0, seats - len(chosen))]
    unmet = [q for q, d in zip(quotas, _deficits(chosen, quotas), strict=True) if d]
    return Selection([c.id for c in chosen], unmet, len(pool) - len(ok))
