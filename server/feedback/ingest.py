"""Store answers exactly once and roll them up in the same transaction.

The client generates each answer's id. A retry with the same body is a duplicate
(nothing new is stored); the same id with a different body is a conflict. The raw row
and its roll-up increment commit together, so the roll-up always equals a recount.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.catalog.lookup import CatalogCache, CatalogSnapshot
from server.feedback import repository
from server.feedback.coalesce import Coalescer
from server.feedback.repository import RollupKey, TapWindow
from server.feedback.scales import QUESTION, is_valid_rating
from server.feedback.schemas import ItemResult, ResponseIn
from server.privacy.scrub import scrub_comment
from server.settings import Settings

MAX_CLOCK_SKEW = dt.timedelta(minutes=10)
CONFLICT = "this id was already used for a different answer"
_CONTROL_CHARS = dict.fromkeys(
    [c for c in range(0x20) if chr(c) not in "\n\t"] + list(range(0x7F, 0xA0))
)
MAX_AGE = dt.timedelta(days=366)


@dataclass(frozen=True)
class Origin:
    """Where answers come from; decided by authentication, never by the body."""

    unit_id: int
    channel: str
    contact_mode: str
    kiosk_id: int | None = None


class Rejected(Exception):
    """An item that can never be stored as sent; ``reason`` tells the client why."""

    def __init__(self, reason: str, *, conflict: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.conflict = conflict


@dataclass
class NewResponse:
    """A validated answer ready to insert (column names match ``responses``)."""

    id: uuid.UUID
    fingerprint: str
    unit_id: int
    path_id: int
    step_id: int | None
    kiosk_id: int | None
    channel: str
    contact_mode: str
    question: str
    option: str
    reasons: list[str]
    comment: str | None
    comment_review: bool
    language: str
    answered_at: dt.datetime
    received_at: dt.datetime
    misuse: bool = False

    def rollup_key(self) -> RollupKey:
        return repository.rollup_key(
            self.answered_at,
            self.unit_id,
            self.path_id,
            self.step_id,
            self.channel,
            self.contact_mode,
            self.question,
            self.option,
            self.misuse,
        )


def fingerprint(item: ResponseIn) -> str:
    """Digest of the answer as sent, to tell a retry from a different answer with the same id."""
    return hashlib.sha256(msgspec.json.encode(item)).hexdigest()


class IngestService:
    def __init__(self, engine: AsyncEngine, catalog: CatalogCache, settings: Settings) -> None:
        self._engine = engine
        self._catalog = catalog
        self._settings = settings
        self._pending: Coalescer[tuple[Origin, ResponseIn], ItemResult] = Coalescer(
            self._ingest, max_items=settings.max_batch_items
        )

    async def ingest_one(self, origin: Origin, item: ResponseIn) -> ItemResult:
        """Store one answer (see :meth:`ingest`)."""
        (result,) = await self._pending.submit([(origin, item)])
        return result

    async def ingest(self, origin: Origin, items: Sequence[ResponseIn]) -> list[ItemResult]:
        """Validate, store new items, count duplicates; one result per item, in order.

        Concurrent calls, from any kiosk, share one statement (group commit).
        """
        return await self._pending.submit([(origin, item) for item in items])

    async def _ingest(self, items: Sequence[tuple[Origin, ResponseIn]]) -> list[ItemResult]:
        snapshot = await self._catalog.get(self._engine)
        now = dt.datetime.now(dt.UTC)
        results: dict[int, ItemResult] = {}
        rows: dict[uuid.UUID, NewResponse] = {}
        first_index: dict[uuid.UUID, int] = {}
        repeats: list[tuple[int, uuid.UUID, str]] = []
        for index, (origin, item) in enumerate(items):
            print_ = fingerprint(item)
            try:
                row = self._row(snapshot, origin, item, print_, now)
            except Rejected as exc:
                results[index] = ItemResult(item.id, "rejected", exc.reason)
                continue
            if item.id in rows:
                repeats.append((index, item.id, print_))
                continue
            rows[item.id] = row
            first_index[item.id] = index

        if rows:
            outcome, kept = await self._store(list(rows.values()))
            for item_id, index in first_index.items():
                results[index] = outcome[item_id]
            # A repeated id within the batch is judged like a retry: against what is stored.
            for index, item_id, print_ in repeats:
                results[index] = (
                    ItemResult(item_id, "duplicate")
                    if kept.get(item_id) == print_
                    else ItemResult(item_id, "rejected", CONFLICT)
                )
        return [results[i] for i in range(len(items))]

    def _row(
        self,
        snapshot: CatalogSnapshot,
        origin: Origin,
        item: ResponseIn,
        print_: str,
        now: dt.datetime,
    ) -> NewResponse:
        path = snapshot.path(origin.unit_id, item.path)
        if path is None:
            raise Rejected(f"unknown path {item.path!r} for this unit")
        step_id = None
        if item.step is not None:
            step = path.steps.get(item.step)
            if step is None:
                raise Rejected(f"unknown step {item.step!r} on path {item.path!r}")
            step_id = step.id
        if not is_valid_rating(path.scale, item.rating):
            raise Rejected(f"rating {item.rating!r} is not on the {path.scale} scale of this path")
        unknown_reasons = set(item.reasons) - set(path.reasons)
        if unknown_reasons:
            raise Rejected(
                f"reasons not offered on this path: {', '.join(sorted(unknown_reasons))}"
            )
        answered_at = item.answered_at
        if answered_at.tzinfo is None:
            raise Rejected("answered_at needs a time zone, e.g. 2026-05-04T09:30:00Z")
        if answered_at > now + MAX_CLOCK_SKEW:
            raise Rejected("answered_at is in the future")
        if answered_at < now - MAX_AGE:
            raise Rejected("answered_at is more than a year old")
        comment = None
        review = False
        text = item.comment.translate(_CONTROL_CHARS).strip() if item.comment else ""
        if text:
            if not path.comments:
                raise Rejected("this path does not take comments")
            if len(text) > self._settings.max_comment_chars:
                raise Rejected(f"comment longer than {self._settings.max_comment_chars} characters")
            scrubbed = scrub_comment(text)
            comment, review = scrubbed.text, scrubbed.needs_review
        return NewResponse(
            id=item.id,
            fingerprint=print_,
            unit_id=origin.unit_id,
            path_id=path.id,
            step_id=step_id,
            kiosk_id=origin.kiosk_id,
            channel=origin.channel,
            contact_mode=origin.contact_mode,
            question=QUESTION[path.scale],
            option=item.rating,
            reasons=sorted(set(item.reasons)),
            comment=comment,
            comment_review=review,
            language=item.language,
            answered_at=answered_at.astimezone(dt.UTC),
            received_at=now,
        )

    async def _store(
        self, rows: list[NewResponse]
    ) -> tuple[dict[uuid.UUID, ItemResult], dict[uuid.UUID, str]]:
        """Insert new rows; return each row's result and the fingerprint stored per id."""
        # Sorted by id: concurrent batches with overlapping ids lock in the same order.
        rows.sort(key=lambda row: str(row.id))
        async with repository.ingest_connection(self._engine) as conn:
            await self._flag_repeat_taps(conn, rows)
            inserted = await repository.insert_counted(
                conn, [vars(row) for row in rows], [row.rollup_key() for row in rows]
            )
            existing = await repository.fingerprints(
                conn, (row.id for row in rows if row.id not in inserted)
            )
        outcome: dict[uuid.UUID, ItemResult] = {}
        kept = dict(existing)
        for row in rows:
            if row.id in inserted:
                outcome[row.id] = ItemResult(row.id, "stored")
                kept[row.id] = row.fingerprint
            elif existing.get(row.id) == row.fingerprint:
                outcome[row.id] = ItemResult(row.id, "duplicate")
            else:
                outcome[row.id] = ItemResult(row.id, "rejected", CONFLICT)
        return outcome, kept

    async def _flag_repeat_taps(self, conn: AsyncConnection, rows: list[NewResponse]) -> None:
        """Flag answers that follow another on the same kiosk within the misuse interval.

        Flagged answers are stored and counted separately, never deleted, and left out of
        statistics by default. One query covers every kiosk in the transaction.
        """
        interval = dt.timedelta(seconds=self._settings.misuse_interval_seconds)
        if interval <= dt.timedelta(0):
            return
        by_kiosk: dict[int, list[NewResponse]] = {}
        for row in rows:
            if row.kiosk_id is not None:
                by_kiosk.setdefault(row.kiosk_id, []).append(row)
        for taps in by_kiosk.values():
            taps.sort(key=lambda row: row.answered_at)
        # A tap's verdict needs only the latest stored time in the interval before it: one
        # index probe per distinct moment. (Reading every stored time across a batch's span
        # read a retried or overlapping queue row by row: most of PostgreSQL's time.)
        windows = [
            TapWindow(kiosk_id, moment - interval, moment)
            for kiosk_id, taps in by_kiosk.items()
            for moment in dict.fromkeys(row.answered_at for row in taps)  # sorted above
        ]
        stored = await repository.stored_tap_times(conn, windows)
        for kiosk_id, taps in by_kiosk.items():
            seen = sorted(stored.get(kiosk_id, []))
            for row in taps:
                position = bisect.bisect_right(seen, row.answered_at)
                if position and row.answered_at - seen[position - 1] < interval:
                    row.misuse = True
                bisect.insort(seen, row.answered_at)
