"""The one query that reads clients' comments: a page of ``responses``, newest first.

Statistics read roll-ups only, but a comment is text, not a count, so no roll-up can hold
it: this module reads ``responses`` on purpose, always with a LIMIT. Its filter is the
statistics filter (:class:`~server.feedback.stats_queries.StatsFilter`) applied to
``answered_at``, so a comment list and a table for the same filters cover the same answers.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from server.feedback.models import Response
from server.feedback.stats_queries import StatsFilter

responses: Table = Response.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Position:
    """Where a page ended: the newest-first order is (answered_at, id) descending, so the
    next page starts strictly below this pair and new answers never shift it."""

    answered_at: dt.datetime
    id: uuid.UUID


async def comment_page(
    conn: AsyncConnection,
    where: StatsFilter,
    *,
    review: bool,
    after: Position | None,
    limit: int,
) -> list[Any]:
    """At most ``limit`` commented answers matching ``where``, newest first.

    ``review`` picks the comments flagged for review (True) or the rest (False). Rows carry
    ``id`` and the exact ``answered_at`` for the next page's position only; callers must
    not pass either on. ``ix_responses_commented`` (only rows with a comment, by
    answered_at and id) serves the order and the keyset bound, so a page costs ``limit``
    index entries plus those the other filters skip, not a scan and sort of every answer.
    """
    r = responses.c
    conditions = [
        *where.conditions(responses, time="answered_at"),
        r.comment.is_not(None),
        r.comment_review.is_(review),
    ]
    if after is not None:
        # One row comparison, not "a < t OR (a = t AND id < i)": PostgreSQL turns the OR
        # into two bitmap scans and a sort of everything older; this stays an ordered scan.
        conditions.append(tuple_(r.answered_at, r.id) < (after.answered_at, after.id))
    stmt = (
        select(
            r.id,
            r.answered_at,
            r.comment,
            r.comment_review,
            r.path_id,
            r.step_id,
            r.channel,
            r.contact_mode,
            r.option,
        )
        .where(*conditions)
        .order_by(r.answered_at.desc(), r.id.desc())
        .limit(limit)
    )
    return list(await conn.execute(stmt))
