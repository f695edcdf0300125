"""SMS invitations: from "contact ended" to a scheduled text, and from the link to one answer.

Why it is built this way:

* Quarantine and opt-out compare keyed hashes of the number (``server.privacy.phone_hash``);
  the clear number goes only into the outbox row and is erased once the text is sent. The
  quarantine is one atomic claim (``server.feedback.quarantine``), and the daily purge
  erases every keyed hash that has served its purpose (``erase_spent_phone_hashes``).
* The link token is stored only as SHA-256. Submitting claims the invitation with one
  conditional UPDATE, so of many concurrent submits exactly one proceeds; the answer then
  goes through ``IngestService`` with an id derived from the invitation under the secret
  key (``tokens.answer_id``). Ingest commits in its own transaction, so a crash between the
  claim and the ingest leaves a claim without an answer: after ``CLAIM_LEASE`` the link can
  be submitted again, and the deterministic id makes a repeated ingest a duplicate, never
  a second answer. Nothing is lost and nothing is doubled.
* ``now`` comes from an injected clock so tests can move time instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import ColumnElement, case, false, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kiosk.i18n import localised
from server.catalog.lookup import CatalogCache, CatalogSnapshot, PathInfo, StepInfo
from server.feedback import delivery, do_not_contact, quarantine, tokens
from server.feedback.ingest import CONFLICT, IngestService, Origin
from server.feedback.invitation_models import Invitation
from server.feedback.schemas import ResponseIn
from server.feedback.stats_queries import StatsFilter
from server.messaging import outbox
from server.messaging.gsm7 import fits_single_sms
from server.messaging.sms import DeliveryReceipt
from server.privacy.phone_hash import InvalidPhone, normalise_mobile, phone_hash
from server.settings import Settings

HELSINKI = ZoneInfo("Europe/Helsinki")
CLAIM_LEASE = dt.timedelta(seconds=60)
Clock = Callable[[], dt.datetime]
ContactMode = Literal["in_person", "video", "phone", "chat", "home_visit"]
SmsLanguage = Literal["fi", "sv", "en"]
SkipReason = Literal["opted_out", "quarantined", "flagged"]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

TEXTS: dict[str, str] = {
    "fi": "{org}: Miten onnistuimme? Vastaa nimettömästi, vie 1 min: {link}",
    "sv": "{org}: Hur lyckades vi? Svara anonymt, det tar 1 min: {link}",
    "en": "{org}: How did we do? Answer anonymously, it takes 1 min: {link}",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ContactIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """ "A contact ended": the integrating system asks Kaiku to invite the client."""

    # Printable ASCII (ids, uuids): PostgreSQL refuses NUL in the text column it lands in.
    idempotency_key: Annotated[str, msgspec.Meta(min_length=8, max_length=128, pattern=r"^[ -~]*$")]
    unit: Code
    path: Code
    step: Code | None = None
    contact_mode: ContactMode
    phone: Annotated[str, msgspec.Meta(min_length=3, max_length=32)]
    language: SmsLanguage = "fi"
    contact_ended_at: dt.datetime
    do_not_survey: bool = False


class ContactOut(msgspec.Struct):
    id: uuid.UUID
    state: Literal["scheduled", "skipped"]
    skip_reason: SkipReason | None = None


class ContactRejected(Exception):
    """The contact cannot be accepted as sent (``status`` 422, or 409 for a reused key)."""

    def __init__(self, reason: str, status: int = 422) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Created:
    reply: ContactOut
    token: str | None  # only on first creation of a scheduled invitation (demo, tests)


@dataclass(frozen=True)
class LinkView:
    """What the answer page needs about the invitation behind a link."""

    token_hash: str
    language: str
    path: PathInfo
    step: StepInfo | None
    status: Literal["open", "used", "expired"]
    can_opt_out: bool  # False once the purge erased the number's hash (the link is over)


AnswerStatus = Literal["stored", "used", "expired", "unknown", "invalid"]
ReceiptOutcome = Literal["recorded", "early", "unknown"]


@dataclass(frozen=True)
class AnswerForm:
    rating: str
    reasons: Sequence[str] = ()
    comment: str | None = None


def compute_send_at(
    contact_ended_at: dt.datetime, now: dt.datetime, settings: Settings
) -> dt.datetime:
    """The first moment after the delay (and not before now) inside the local sending window."""
    earliest = max(contact_ended_at + dt.timedelta(minutes=settings.sms_delay_minutes), now)
    local = earliest.astimezone(HELSINKI)
    start, end = settings.sms_window_start_hour, settings.sms_window_end_hour
    if start <= local.hour < end:
        return earliest
    day = local.date() if local.hour < start else local.date() + dt.timedelta(days=1)
    opening = dt.datetime.combine(day, dt.time(start), tzinfo=HELSINKI)
    return opening.astimezone(dt.UTC)


def invitation_text(snapshot: CatalogSnapshot, language: str, link: str) -> str:
    """The SMS: organisation, one question, the link; one GSM-7 part if at all possible."""
    template = TEXTS.get(language, TEXTS["fi"])
    name = localised(snapshot.organisation_names, language) if snapshot.organisation_names else ""
    text = template.format(org=name or snapshot.sms_sender, link=link)
    if not fits_single_sms(text):
        text = template.format(org=snapshot.sms_sender, link=link)
    return text


class InvitationService:
    def __init__(
        self,
        engine: AsyncEngine,
        catalog: CatalogCache,
        settings: Settings,
        ingest: IngestService,
        clock: Clock = utcnow,
    ) -> None:
        self._engine = engine
        self._catalog = catalog
        self._settings = settings
        self._ingest = ingest
        self.clock = clock

    @property
    def _key(self) -> str:
        return self._settings.effective_secret_key

    def link(self, token: str) -> str:
        return f"{self._settings.public_url.rstrip('/')}/a/{token}"

    # --- contacts in -------------------------------------------------------------------
    async def create(self, data: ContactIn) -> Created:
        """Schedule (or skip, saying why) an invitation; idempotent on ``idempotency_key``."""
        snapshot = await self._catalog.get(self._engine)
        unit_id, path, step = _resolve(snapshot, data)
        if data.contact_ended_at.tzinfo is None:
            raise ContactRejected("contact_ended_at needs a time zone, e.g. 2026-05-04T09:30:00Z")
        try:
            number = normalise_mobile(data.phone)
        except InvalidPhone as exc:
            raise ContactRejected(str(exc)) from None
        hashed = phone_hash(number, self._key)
        masked = msgspec.structs.replace(data, phone=hashed)
        print_ = hashlib.sha256(msgspec.json.encode(masked)).hexdigest()
        try:
            async with self._engine.begin() as conn:
                replay = await self._replay(conn, data.idempotency_key, print_)
                if replay is not None:
                    return Created(replay, None)
                return await self._insert(
                    conn, snapshot, data, unit_id, path, step, number, hashed, print_
                )
        except IntegrityError:
            # A concurrent request with the same key won the insert: answer as a retry.
            async with self._engine.connect() as conn:
                replay = await self._replay(conn, data.idempotency_key, print_)
            if replay is None:
                raise
            return Created(replay, None)

    async def _replay(self, conn: AsyncConnection, key: str, print_: str) -> ContactOut | None:
        row = (
            await conn.execute(
                select(
                    Invitation.id,
                    Invitation.state,
                    Invitation.skip_reason,
                    Invitation.request_fingerprint,
                ).where(Invitation.idempotency_key == key)
            )
        ).first()
        if row is None:
            return None
        if row.request_fingerprint != print_:
            why = "for another contact" if row.request_fingerprint else "long ago; use a new one"
            raise ContactRejected(f"this idempotency_key was already used {why}", 409)
        if row.state == "skipped":
            return ContactOut(row.id, "skipped", row.skip_reason)
        return ContactOut(row.id, "scheduled", None)

    async def _insert(
        self,
        conn: AsyncConnection,
        snapshot: CatalogSnapshot,
        data: ContactIn,
        unit_id: int,
        path: PathInfo,
        step: StepInfo | None,
        number: str,
        hashed: str,
        print_: str,
    ) -> Created:
        now = self.clock()
        reason = await self._skip_reason(conn, data, hashed, now)
        invitation_id = uuid.uuid4()
        values: dict[str, Any] = {
            "id": invitation_id,
            "idempotency_key": data.idempotency_key,
            "request_fingerprint": print_,
            "unit_id": unit_id,
            "path_id": path.id,
            "step_id": step.id if step else None,
            "contact_mode": data.contact_mode,
            "language": data.language,
            "contact_ended_at": data.contact_ended_at.astimezone(dt.UTC),
            "created_at": now,
            "phone_hash": "" if reason else hashed,
            "state": "skipped" if reason else "scheduled",
            "skip_reason": reason,
        }
        if reason:
            await conn.execute(insert(Invitation).values(values))
            return Created(ContactOut(invitation_id, "skipped", reason), None)
        token, token_hash = tokens.new_token()
        send_at = compute_send_at(data.contact_ended_at, now, self._settings)
        expires = send_at + dt.timedelta(days=self._settings.invitation_ttl_days)
        values.update(token_hash=token_hash, send_at=send_at, expires_at=expires)
        await conn.execute(insert(Invitation).values(values))
        await outbox.enqueue(
            conn,
            to_number=number,
            text=invitation_text(snapshot, data.language, self.link(token)),
            send_at=send_at,
            invitation_id=invitation_id,
        )
        return Created(ContactOut(invitation_id, "scheduled", None), token)

    async def _skip_reason(
        self, conn: AsyncConnection, data: ContactIn, hashed: str, now: dt.datetime
    ) -> SkipReason | None:
        """Why not to text this number, if so; the quarantine is claimed last (atomically,
        ``server.feedback.quarantine``), so a flagged or opted-out contact starts no period."""
        if data.do_not_survey:
            return "flagged"
        if await do_not_contact.listed(conn, [hashed]):
            return "opted_out"
        period = dt.timedelta(days=self._settings.sms_quarantine_days)
        return None if await quarantine.claim(conn, hashed, now, period) else "quarantined"

    # --- the link ----------------------------------------------------------------------
    async def view(self, token: str) -> LinkView | None:
        """The invitation behind a link, for rendering; opening never uses the link up."""
        token_hash = tokens.hash_token(token)
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        Invitation.language,
                        Invitation.path_id,
                        Invitation.step_id,
                        Invitation.expires_at,
                        Invitation.answer_claimed_at,
                        Invitation.phone_hash,
                    ).where(Invitation.token_hash == token_hash)
                )
            ).first()
        if row is None:
            return None
        snapshot = await self._catalog.get(self._engine)
        path = snapshot.paths_by_id.get(row.path_id)
        if path is None:
            return None
        step = next((s for s in path.steps.values() if s.id == row.step_id), None)
        status: Literal["open", "used", "expired"] = "open"
        if row.answer_claimed_at is not None:
            status = "used"
        elif row.expires_at is None or row.expires_at <= self.clock():
            status = "expired"
        return LinkView(token_hash, row.language, path, step, status, bool(row.phone_hash))

    async def answer(self, token: str, form: AnswerForm, language: str) -> AnswerStatus:
        """Store the link's one answer: claim atomically, then ingest with a keyed id."""
        token_hash = tokens.hash_token(token)
        now = self.clock()
        claim = (
            update(Invitation)
            .where(
                Invitation.token_hash == token_hash,
                Invitation.answered_at.is_(None),
                Invitation.expires_at > now,
                (Invitation.answer_claimed_at.is_(None))
                | (Invitation.answer_claimed_at < now - CLAIM_LEASE),
            )
            .values(answer_claimed_at=now)
            .returning(
                Invitation.id, Invitation.unit_id, Invitation.contact_mode, Invitation.path_id
            )
        )
        async with self._engine.begin() as conn:
            won = (await conn.execute(claim)).first()
        if won is None:
            return await self._why_not(token_hash)
        try:
            status = await self._store(won, form, language)
        except BaseException:
            await self._release(won.id)
            raise
        if status == "invalid":
            await self._release(won.id)
            return status
        async with self._engine.begin() as conn:
            await conn.execute(
                update(Invitation).where(Invitation.id == won.id).values(answered_at=self.clock())
            )
        return status

    async def _store(self, won: Any, form: AnswerForm, language: str) -> AnswerStatus:
        snapshot = await self._catalog.get(self._engine)
        path = snapshot.paths_by_id[won.path_id]
        step_code = await self._step_code(won.id, path)
        item = ResponseIn(
            id=tokens.answer_id(self._key, won.id),
            path=path.code,
            step=step_code,
            rating=form.rating,
            reasons=list(form.reasons),
            comment=form.comment or None,
            language=language,  # type: ignore[arg-type]
            answered_at=utcnow(),
        )
        origin = Origin(unit_id=won.unit_id, channel="sms", contact_mode=won.contact_mode)
        [result] = await self._ingest.ingest(origin, [item])
        if result.status == "rejected":
            # A recovered claim racing the original submit: the answer is already stored.
            return "used" if result.reason == CONFLICT else "invalid"
        return "stored"

    async def _step_code(self, invitation_id: uuid.UUID, path: PathInfo) -> str | None:
        async with self._engine.connect() as conn:
            step_id = await conn.scalar(
                select(Invitation.step_id).where(Invitation.id == invitation_id)
            )
        return next((s.code for s in path.steps.values() if s.id == step_id), None)

    async def _release(self, invitation_id: uuid.UUID) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(Invitation)
                .where(Invitation.id == invitation_id, Invitation.answered_at.is_(None))
                .values(answer_claimed_at=None)
            )

    async def _why_not(self, token_hash: str) -> AnswerStatus:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(Invitation.answer_claimed_at, Invitation.expires_at).where(
                        Invitation.token_hash == token_hash
                    )
                )
            ).first()
        if row is None:
            return "unknown"
        return "used" if row.answer_claimed_at is not None else "expired"

    async def opt_out(self, token: str) -> bool:
        """Put the link's number (its keyed hash) on the do-not-contact list.

        False when the link is unknown or so old that its hash has been purged.
        """
        async with self._engine.begin() as conn:
            hashed = await conn.scalar(
                select(Invitation.phone_hash).where(
                    Invitation.token_hash == tokens.hash_token(token)
                )
            )
            if not hashed:
                return False
            await self._do_not_contact(conn, hashed, "answer_page")
        return True

    async def opt_out_number(self, phone: str) -> bool:
        """A STOP reply: list the sender's keyed hash; the number itself is never stored.

        False when the sender is no mobile number (nothing could be sent to it anyway).
        """
        try:
            number = normalise_mobile(phone)
        except InvalidPhone:
            return False
        async with self._engine.begin() as conn:
            await self._do_not_contact(conn, phone_hash(number, self._key), "sms_reply")
        return True

    async def _do_not_contact(self, conn: AsyncConnection, hashed: str, source: str) -> None:
        await do_not_contact.add(conn, hashed, source, self.clock())

    # --- delivery receipts -------------------------------------------------------------
    async def apply_receipt(self, receipt: DeliveryReceipt) -> ReceiptOutcome:
        """Record a provider's delivery report; the invitation's state only moves forward.

        ``recorded`` also when the report changes nothing (a repeat, a stale failure after
        delivery, a text that is no answer invitation). ``early`` when the id is unknown while
        some text's send is not recorded yet: the report may have overtaken it, so the
        provider should send it again later. ``unknown`` otherwise.
        """
        if not receipt.final:
            return "recorded"
        async with self._engine.begin() as conn:
            message = await outbox.sent_message(conn, receipt.provider_id)
            if message is None:
                return "early" if await outbox.awaiting_outcome(conn) else "unknown"
            if message.invitation_id is not None:
                event = (
                    delivery.REPORTED_DELIVERED if receipt.delivered else delivery.REPORTED_FAILED
                )
                await delivery.advance(
                    conn, message.invitation_id, event, receipt.at or self.clock()
                )
        return "recorded"


def _resolve(snapshot: CatalogSnapshot, data: ContactIn) -> tuple[int, PathInfo, StepInfo | None]:
    unit_id = snapshot.unit_id(data.unit)
    if unit_id is None:
        raise ContactRejected(f"unknown unit {data.unit!r}")
    path = snapshot.path(unit_id, data.path)
    if path is None:
        raise ContactRejected(f"unknown path {data.path!r} for unit {data.unit!r}")
    step = None
    if data.step is not None:
        step = path.steps.get(data.step)
        if step is None:
            raise ContactRejected(f"unknown step {data.step!r} on path {data.path!r}")
    return unit_id, path, step


# --- retention -----------------------------------------------------------------------
def _spent(now: dt.datetime, link_ttl: dt.timedelta) -> ColumnElement[bool]:
    """Invitations still holding a phone-derived value whose link is over (or, for a
    skipped contact without a link, would be)."""
    holds = (Invitation.phone_hash != "") | (Invitation.request_fingerprint != "")
    over = (Invitation.expires_at <= now) | (
        Invitation.expires_at.is_(None) & (Invitation.created_at <= now - link_ttl)
    )
    return holds & over


async def erase_spent_phone_hashes(
    conn: AsyncConnection, now: dt.datetime, link_ttl: dt.timedelta, *, dry_run: bool = False
) -> int:
    """Erase the keyed phone hash, and the request fingerprint computed from it, of
    invitations whose link is over; returns how many (with ``dry_run``, only counts).

    The hash serves the link's opt-out page and the fingerprint the integrating system's
    retries. After the link's lifetime neither has a use, while either would still confirm
    a guessed number to someone holding the secret key. The quarantine keeps its own rows.
    """
    if dry_run:
        counted = await conn.scalar(
            select(func.count()).select_from(Invitation).where(_spent(now, link_ttl))
        )
        return int(counted or 0)
    erased = await conn.execute(
        update(Invitation)
        .where(_spent(now, link_ttl))
        .values(phone_hash="", request_fingerprint="")
    )
    return int(erased.rowcount)


# --- counting ------------------------------------------------------------------------
STATES = ("scheduled", "skipped", "sent", "delivered", "failed", "answered")


@dataclass(frozen=True)
class InvitationCounts:
    """How many invitations of one path/step/contact mode reached each state (a funnel)."""

    unit: str
    path: str
    step: str
    contact_mode: str
    counts: dict[str, int]

    @property
    def response_rate(self) -> float | None:
        """answered / sent; None before anything was sent."""
        sent = self.counts["sent"]
        return self.counts["answered"] / sent if sent else None


def invitation_conditions(where: StatsFilter) -> list[ColumnElement[bool]]:
    """The statistics filter applied to invitations.

    The date range selects invitations *sent* in it (the cohort a response rate is
    about); every invitation is channel ``sms``, so another channel matches nothing.
    """
    out: list[ColumnElement[bool]] = []
    for column, value in (
        (Invitation.unit_id, where.unit_id),
        (Invitation.path_id, where.path_id),
        (Invitation.step_id, where.step_id),
        (Invitation.contact_mode, where.contact_mode),
    ):
        if value is not None:
            out.append(column == value)
    if where.start is not None:
        out.append(Invitation.sent_at >= where.start)
    if where.end is not None:
        out.append(Invitation.sent_at < where.end)
    if where.channel not in (None, "sms"):
        out.append(false())
    return out


async def invitation_counts(
    conn: AsyncConnection, snapshot: CatalogSnapshot, where: StatsFilter | None = None
) -> list[InvitationCounts]:
    """Per path, step and contact mode: invitations scheduled, skipped, sent, … answered.

    One grouped query; the statistics and the metrics both read it. Callers apply
    small-cell rules before showing the numbers to staff.
    """
    skipped = func.sum(case((Invitation.state == "skipped", 1), else_=0))
    rows = await conn.execute(
        select(
            Invitation.path_id,
            Invitation.step_id,
            Invitation.contact_mode,
            func.count().label("total"),
            skipped.label("skipped"),
            func.count(Invitation.sent_at).label("sent"),
            func.count(Invitation.delivered_at).label("delivered"),
            func.count(Invitation.failed_at).label("failed"),
            func.count(Invitation.answered_at).label("answered"),
        )
        .where(*invitation_conditions(where or StatsFilter()))
        .group_by(Invitation.path_id, Invitation.step_id, Invitation.contact_mode)
    )
    out = []
    for row in rows:
        path = snapshot.paths_by_id.get(row.path_id)
        if path is None:
            continue
        counts = {
            "scheduled": int(row.total) - int(row.skipped or 0),
            "skipped": int(row.skipped or 0),
            "sent": int(row.sent),
            "delivered": int(row.delivered),
            "failed": int(row.failed),
            "answered": int(row.answered),
        }
        step = snapshot.step_codes.get(row.step_id, "") if row.step_id else ""
        out.append(InvitationCounts(path.unit_code, path.code, step, row.contact_mode, counts))
    return out


async def response_rates(
    engine: AsyncEngine, catalog: CatalogCache, where: StatsFilter | None = None
) -> list[InvitationCounts]:
    """For the statistics: the invitation funnel with ``response_rate`` per series."""
    snapshot = await catalog.get(engine)
    async with engine.connect() as conn:
        return await invitation_counts(conn, snapshot, where)


async def demo_link(settings: Settings) -> str | None:
    """Create one invitation for ``kaiku serve --demo`` and return its answer link.

    Only with the console gateway: the demo must never text a real person.
    """
    if settings.sms_gateway != "console":
        return None
    from server.database import create_engine

    engine = create_engine(settings)
    try:
        catalog = CatalogCache(ttl=0)
        ingest = IngestService(engine, catalog, settings)
        service = InvitationService(engine, catalog, settings, ingest)
        snapshot = await catalog.get(engine)
        path = next(iter(snapshot.paths.values()))
        created = await service.create(
            ContactIn(
                idempotency_key=f"demo-{uuid.uuid4()}",
                unit=path.unit_code,
                path=path.code,
                contact_mode="video",
                phone=f"+35850{secrets.randbelow(10**7):07d}",
                contact_ended_at=utcnow(),
            )
        )
    finally:
        await engine.dispose()
    return service.link(created.token) if created.token else None
