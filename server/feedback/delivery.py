"""An invitation's delivery state only moves forward, whatever order the news comes in.

Three sources report on one text: the outbox worker (the gateway accepted it, or the worker
gave up) and the provider's delivery reports. 46elks retries reports until we acknowledge
them, so they arrive late, twice or out of order, and a worker whose lease ran out can
record its send after another worker already did. Each event is therefore one UPDATE that
applies only in the states it may follow; an event arriving in any other state changes
nothing, and the final state is the same in every order of arrival::

    scheduled ──accepted──▶ sent ──reported delivered──▶ delivered
        │                    │                              ▲
        └──gave up──▶ failed ◀── reported failed     reported delivered
                        └───────────────────────────────────┘

* A late or repeated ``sent`` never moves a text back, and ``sent_at`` keeps the first send.
* ``delivered`` wins over ``failed`` in either order: the handset's report proves the text
  arrived, so a failure report after it is stale, and one before it was premature. A
  delivered text is not also counted as failed (``failed_at`` is cleared).
* The first delivery time is kept; repeated reports change nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.feedback.invitation_models import Invitation


@dataclass(frozen=True)
class Event:
    """Move to ``state`` from one of ``after``, stamping ``stamp`` and clearing ``clears``."""

    state: str
    after: tuple[str, ...]
    stamp: str
    clears: tuple[str, ...] = ()


ACCEPTED = Event("sent", ("scheduled",), "sent_at")
GAVE_UP = Event("failed", ("scheduled",), "failed_at")
REPORTED_FAILED = Event("failed", ("sent",), "failed_at")
REPORTED_DELIVERED = Event("delivered", ("sent", "failed"), "delivered_at", ("failed_at",))


async def advance(
    conn: AsyncConnection, invitation_id: uuid.UUID, event: Event, at: dt.datetime
) -> bool:
    """Apply ``event`` if the invitation's current state allows it; True if it did.

    The state check is in the UPDATE's WHERE, so two reports racing for one invitation are
    decided by the database (PostgreSQL re-checks the row after waiting for its lock).
    """
    values: dict[str, dt.datetime | str | None] = {"state": event.state, event.stamp: at}
    values.update(dict.fromkeys(event.clears))
    result = await conn.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.state.in_(event.after))
        .values(values)
    )
    return bool(result.rowcount)
