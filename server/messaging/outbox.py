"""The SMS outbox worker: claim due texts, send them, record the outcome.

Claims are leases (``claimed_by``/``claimed_until``) so a worker that dies mid-batch only
delays its messages. On PostgreSQL due rows are picked with ``FOR UPDATE SKIP LOCKED``, so
workers in several processes or replicas never pick the same row; SQLite serialises
writers, so one ``UPDATE … RETURNING`` claims atomically there. The clear number and the
text (which carries the answer link) are erased once the gateway accepts the message or it
finally fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.feedback import delivery
from server.feedback.tokens import receipt_secret
from server.messaging.models import MAX_TEXT_CHARS, OutboxMessage
from server.messaging.sms import (
    OutgoingSms,
    SendOutcome,
    SendResult,
    SmsGateway,
    build_gateway,
)
from server.settings import Settings

log = logging.getLogger("kaiku.outbox")
LEASE = dt.timedelta(seconds=120)
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=2)
BATCH = 20
Clock = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def backoff(attempts: int, rng: random.Random | None = None) -> dt.timedelta:
    """30 s, 60 s, 120 s … capped at 2 h, with ±20 % jitter so retries do not stampede."""
    base = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return dt.timedelta(seconds=base.total_seconds() * (rng or random).uniform(0.8, 1.2))


async def enqueue(
    conn: AsyncConnection,
    *,
    to_number: str,
    text: str,
    send_at: dt.datetime,
    invitation_id: uuid.UUID | None = None,
) -> int:
    """Queue one text in the caller's transaction; returns its outbox id.

    Every sender goes through here, so every text gets the same leases, retries with
    backoff and erasure of the number and text after sending.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"an SMS text is at most {MAX_TEXT_CHARS} characters")
    message_id = await conn.scalar(
        insert(OutboxMessage)
        .values(
            invitation_id=invitation_id,
            to_number=to_number,
            text=text,
            send_at=send_at,
            next_attempt_at=send_at,
            state="queued",
            attempts=0,
        )
        .returning(OutboxMessage.id)
    )
    return int(message_id or 0)


@dataclass(frozen=True)
class Claimed:
    id: int
    invitation_id: uuid.UUID | None
    to_number: str
    text: str
    attempts: int


class OutboxWorker:
    """One worker; run several (processes or instances) on one database safely."""

    def __init__(
        self,
        engine: AsyncEngine,
        gateway: SmsGateway,
        *,
        max_attempts: int,
        poll_seconds: float,
        clock: Clock = _utcnow,
        name: str | None = None,
    ) -> None:
        self._engine = engine
        self._gateway = gateway
        self._max_attempts = max_attempts
        self._poll = poll_seconds
        self.clock = clock
        self.name = name or f"worker-{uuid.uuid4().hex[:12]}"
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name=f"kaiku-outbox-{self.name}")

    async def stop(self, grace: float = 15.0) -> None:
        """Finish the message in hand, then hand back unsent claims to other workers."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, grace)
            except TimeoutError:
                log.warning("outbox worker %s did not stop within %s s", self.name, grace)
            self._task = None
        try:
            await self.release()
        except Exception as exc:  # the database may be down; claims expire by themselves
            log.warning(
                "outbox worker %s could not release its claims: %s", self.name, type(exc).__name__
            )

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("outbox worker %s: round failed; retrying", self.name)
                handled = 0
            if handled < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._poll)

    # --- one round -----------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim due messages and send them; returns how many were handled."""
        claimed = await self.claim(BATCH)
        handled = 0
        for message in claimed:
            if self._stopping.is_set():
                break
            await self._deliver(message)
            handled += 1
        return handled

    async def claim(self, limit: int) -> list[Claimed]:
        now = self.clock()
        due = ((OutboxMessage.state == "queued") & (OutboxMessage.next_attempt_at <= now)) | (
            (OutboxMessage.state == "sending") & (OutboxMessage.claimed_until < now)
        )
        async with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                ids = list(
                    await conn.scalars(
                        select(OutboxMessage.id)
                        .where(due)
                        .order_by(OutboxMessage.next_attempt_at)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                )
                if not ids:
                    return []
                target = OutboxMessage.id.in_(ids)
            else:
                target = OutboxMessage.id.in_(
                    select(OutboxMessage.id)
                    .where(due)
                    .order_by(OutboxMessage.next_attempt_at)
                    .limit(limit)
                    .scalar_subquery()
                )
            rows = await conn.execute(
                update(OutboxMessage)
                .where(target, due)
                .values(
                    state="sending",
                    claimed_by=self.name,
                    claimed_until=now + LEASE,
                    attempts=OutboxMessage.attempts + 1,
                )
                .returning(
                    OutboxMessage.id,
                    OutboxMessage.invitation_id,
                    OutboxMessage.to_number,
                    OutboxMessage.text,
                    OutboxMessage.attempts,
                )
            )
            return [
                Claimed(r.id, r.invitation_id, r.to_number or "", r.text or "", r.attempts)
                for r in rows
            ]

    async def _deliver(self, message: Claimed) -> None:
        try:
            result = await self._gateway.send(
                OutgoingSms(to=message.to_number, text=message.text, reference=str(message.id))
            )
        except Exception as exc:  # a gateway bug must not kill the worker or lose the text
            log.exception("outbox message %s: gateway raised", message.id)
            result = SendResult(SendOutcome.RETRY, detail=f"gateway raised {type(exc).__name__}")
        async with self._engine.begin() as conn:
            await self._record(conn, message, result)

    async def _record(self, conn: AsyncConnection, message: Claimed, result: SendResult) -> None:
        now = self.clock()
        mine = (OutboxMessage.id == message.id) & (OutboxMessage.claimed_by == self.name)
        erased = {"to_number": None, "text": None, "claimed_by": None, "claimed_until": None}
        if result.outcome is SendOutcome.ACCEPTED:
            await conn.execute(
                update(OutboxMessage)
                .where(mine)
                .values(state="sent", provider_id=result.provider_id, last_error=None, **erased)
            )
            await _mark(conn, message.invitation_id, delivery.ACCEPTED, now)
            return
        final = result.outcome is SendOutcome.FAILED or message.attempts >= self._max_attempts
        if final:
            why = result.detail or result.outcome.value
            if result.outcome is SendOutcome.RETRY:
                why = f"gave up after {message.attempts} attempts: {why}"
            await conn.execute(
                update(OutboxMessage)
                .where(mine)
                .values(state="failed", last_error=why[:300], **erased)
            )
            await _mark(conn, message.invitation_id, delivery.GAVE_UP, now)
            return
        await conn.execute(
            update(OutboxMessage)
            .where(mine)
            .values(
                state="queued",
                next_attempt_at=now + backoff(message.attempts),
                last_error=(result.detail or "retry")[:300],
                claimed_by=None,
                claimed_until=None,
            )
        )

    async def release(self) -> None:
        """Give back messages claimed but not sent (graceful stop)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.claimed_by == self.name, OutboxMessage.state == "sending")
                .values(
                    state="queued",
                    claimed_by=None,
                    claimed_until=None,
                    attempts=OutboxMessage.attempts - 1,
                )
            )


async def _mark(
    conn: AsyncConnection, invitation_id: uuid.UUID | None, event: delivery.Event, at: dt.datetime
) -> None:
    if invitation_id is None:  # not an answer invitation: nothing to mark
        return
    # Guarded by state: a worker whose lease ran out may record after another worker did.
    await delivery.advance(conn, invitation_id, event, at)


@dataclass(frozen=True)
class SentMessage:
    id: int
    invitation_id: uuid.UUID | None


async def sent_message(conn: AsyncConnection, provider_id: str) -> SentMessage | None:
    """The text the provider knows as ``provider_id``, for its delivery reports."""
    row = (
        await conn.execute(
            select(OutboxMessage.id, OutboxMessage.invitation_id)
            .where(OutboxMessage.provider_id == provider_id)
            .limit(1)
        )
    ).first()
    return SentMessage(row.id, row.invitation_id) if row else None


async def awaiting_outcome(conn: AsyncConnection) -> bool:
    """True while some text is with the gateway and its provider id is not recorded yet.

    A delivery report can overtake the worker's record of the send; while this is true, a
    report for an id we do not know yet may be for that text.
    """
    claimed = await conn.scalar(
        select(OutboxMessage.id).where(OutboxMessage.state == "sending").limit(1)
    )
    return claimed is not None


async def pending_count(conn: AsyncConnection) -> int:
    """Messages waiting to be sent (queued or being sent), for the operations gauge."""
    return int(
        await conn.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.state.in_(("queued", "sending")))
        )
        or 0
    )


RECEIPT_PATH = "/api/v1/sms/receipts/46elks"


def gateway_from_settings(settings: Settings) -> SmsGateway:
    """The configured gateway; 46elks reports deliveries to our secret-bearing callback."""
    if settings.sms_gateway == "console":
        # Answer links are credentials: production never writes them to the log.
        return build_gateway("console", reveal_text="no" if settings.is_production else "yes")
    secret = receipt_secret(settings.effective_secret_key)
    return build_gateway(
        "46elks",
        username=settings.sms_46elks_username,
        password=settings.sms_46elks_password,
        sender=settings.sms_46elks_sender,
        base_url=settings.sms_46elks_base_url,
        delivery_callback_url=f"{settings.public_url.rstrip('/')}{RECEIPT_PATH}?secret={secret}",
    )
