"""Response rate of SMS invitations per path, step and contact mode, safe to show staff.

The counts come from ``invitations.invitation_counts`` (the one place with that SQL).
Here they are suppressed like every other statistic: delivered and answered are parts of
sent, so each is suppressed as a two-part split of sent (a small part, or a small rest
that would give the part back by subtraction, hides it); a small sent hides the whole row.
The rate and its 95 % Wilson interval are shown only when sent and answered both are.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from server.feedback.invitations import InvitationCounts
from server.feedback.statistics import wilson
from server.privacy.suppression import CountNode, suppress_tree


class ResponseRateRow(msgspec.Struct):
    unit: str
    path: str
    step: str
    contact_mode: str
    sent: int | None
    delivered: int | None
    failed: int | None
    answered: int | None
    response_rate: float | None
    response_rate_low: float | None
    response_rate_high: float | None
    suppressed: bool


def _part_of_sent(sent: int, part: int, threshold: int) -> tuple[int | None, int | None]:
    """(sent, part) as they may be shown, ``part`` suppressed as one half of a split."""
    part = min(part, sent)  # a late receipt never makes a part larger than its whole
    shown = suppress_tree(
        CountNode("sent", sent, (CountNode("part", part), CountNode("rest", sent - part))),
        threshold,
    )
    return shown.count, shown.children[0].count


def response_rate_row(counts: InvitationCounts, threshold: int) -> ResponseRateRow:
    c = counts.counts
    sent, delivered = _part_of_sent(c["sent"], c["delivered"], threshold)
    _, answered = _part_of_sent(c["sent"], c["answered"], threshold)
    # Failures include texts the gateway never accepted, which are no part of sent (and
    # sent ones reported undeliverable), so failed is suppressed on its own.
    failed = suppress_tree(CountNode("failed", c["failed"]), threshold).count
    if sent is None:
        delivered = answered = None
    rate = wilson(answered, sent) if sent and answered is not None else None
    return ResponseRateRow(
        unit=counts.unit,
        path=counts.path,
        step=counts.step,
        contact_mode=counts.contact_mode,
        sent=sent,
        delivered=delivered,
        failed=failed,
        answered=answered,
        response_rate=rate.value if rate else None,
        response_rate_low=rate.low if rate else None,
        response_rate_high=rate.high if rate else None,
        suppressed=None in (sent, delivered, failed, answered),
    )


def response_rate_rows(series: Iterable[InvitationCounts], threshold: int) -> list[ResponseRateRow]:
    """Only series with something sent or failed: skipped-only series have no rate."""
    rows = [
        response_rate_row(s, threshold) for s in series if s.counts["sent"] or s.counts["failed"]
    ]
    return sorted(rows, key=lambda r: (r.unit, r.path, r.step, r.contact_mode))
