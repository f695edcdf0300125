"""Volunteers: opt-in with consent, withdrawal, audited contact reads, key rotation, purge.

Contact details are encrypted before they reach the session and decrypted only in
:func:`read_contacts`, which writes a ``contact_reads`` row and an audit event in the same
transaction: a read that is not recorded does not happen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import audit
from server.catalog.lookup import CatalogSnapshot
from server.panels import consent
from server.panels.context import JoinContext
from server.panels.crypto import ContactCipher
from server.panels.models import (
    Consent,
    ContactRead,
    PanelMember,
    Volunteer,
    VolunteerExperience,
)
from server.privacy.phone_hash import InvalidPhone, normalise_mobile

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}")
BackgroundField = Literal["age_band", "municipality"]
BACKGROUND_FIELDS: dict[BackgroundField, tuple[str, ...]] = {
    "age_band": ("under-25", "25-44", "45-64", "65+"),
    "municipality": (),  # free text
}
MAX_NAME = 60


class OptInError(ValueError):
    """The form cannot be accepted; the message is shown to the person."""


@dataclass(frozen=True)
class OptIn:
    first_name: str
    phone: str = ""
    email: str = ""
    language: str = "fi"
    background: dict[str, str] = field(default_factory=dict)
    share_sentiment: bool = False


@dataclass(frozen=True)
class Contact:
    volunteer_id: int
    first_name: str | None
    phone: str | None
    email: str | None
    staff: bool = False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _clean(
    form: OptIn, asked: Mapping[BackgroundField, str]
) -> tuple[str, str | None, str | None, dict[str, str]]:
    name = form.first_name.strip()[:MAX_NAME]
    if not name:
        raise OptInError("name")
    phone = None
    if form.phone.strip():
        try:
            phone = normalise_mobile(form.phone.strip())
        except InvalidPhone:
            raise OptInError("phone") from None
    email = form.email.strip() or None
    if email is not None and not EMAIL.fullmatch(email):
        raise OptInError("email")
    if phone is None and email is None:
        raise OptInError("contact")
    background: dict[str, str] = {}
    for key, allowed in BACKGROUND_FIELDS.items():
        mode = asked.get(key, "optional")
        value = form.background.get(key, "").strip()[:80]
        if mode == "off":
            continue  # not asked, so not kept even if sent
        if value and (not allowed or value in allowed):
            background[key] = value
        elif mode == "required":
            raise OptInError("background")
    return name, phone, email, background


async def opt_in(
    session: AsyncSession,
    cipher: ContactCipher,
    catalog: CatalogSnapshot,
    ctx: JoinContext,
    form: OptIn,
    now: dt.datetime,
    asked: Mapping[BackgroundField, str] | None = None,
) -> str:
    """Store the volunteer, experience and consent; returns the one-tap withdraw token.

    ``asked``: the unit's background fields and their modes (off, optional, required).
    """
    name, phone, email, background = _clean(form, asked or {})
    unit_id = catalog.unit_id(ctx.unit)
    if unit_id is None:
        raise OptInError("context")
    language = form.language if form.language in consent.LANGUAGES else "fi"
    path = catalog.path(unit_id, ctx.path) if ctx.path else None
    step = path.steps.get(ctx.step) if path and ctx.step else None
    token = secrets.token_urlsafe(24)
    volunteer = Volunteer(
        first_name_enc=cipher.encrypt(name),
        phone_enc=cipher.encrypt(phone),
        email_enc=cipher.encrypt(email),
        preferred_language=language,
        background=background,
        staff=False,
        withdraw_token_hash=token_hash(token),
        created_at=now,
        last_activity_at=now,
    )
    session.add(volunteer)
    await session.flush()
    session.add(
        VolunteerExperience(
            volunteer_id=volunteer.id,
            unit_id=unit_id,
            path_id=path.id if path else None,
            step_id=step.id if step else None,
            channel=ctx.channel,
            sentiment=ctx.sentiment if form.share_sentiment else None,
        )
    )
    await consent.ensure_stored(session, consent.CURRENT_VERSION, language)
    session.add(
        Consent(
            volunteer_id=volunteer.id,
            consent_version=consent.CURRENT_VERSION,
            language=language,
            text_sha256=consent.text_sha256(consent.consent_text(language)),
            channel=ctx.channel,
            given_at=now,
        )
    )
    await session.flush()
    return token


async def erase(session: AsyncSession, volunteer_ids: list[int], now: dt.datetime) -> None:
    """Erase contact details and mark consent withdrawn (the statistics rows stay)."""
    if not volunteer_ids:
        return
    await session.execute(
        update(Volunteer)
        .where(Volunteer.id.in_(volunteer_ids))
        .values(
            first_name_enc=None, phone_enc=None, email_enc=None, background={}, withdrawn_at=now
        )
    )
    await session.execute(
        update(Consent)
        .where(Consent.volunteer_id.in_(volunteer_ids), Consent.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )


async def withdraw(session: AsyncSession, token: str, now: dt.datetime) -> str | None:
    """Erase the volunteer of a withdraw link; returns their language to answer in, or
    ``None`` for an unknown link."""
    found = (
        await session.execute(
            select(Volunteer.id, Volunteer.preferred_language).where(
                Volunteer.withdraw_token_hash == token_hash(token)
            )
        )
    ).one_or_none()
    if found is None:
        return None
    await erase(session, [found.id], now)
    return str(found.preferred_language)


async def read_contacts(
    session: AsyncSession,
    cipher: ContactCipher,
    actor: str,
    volunteer_ids: list[int],
    reason: str,
    now: dt.datetime,
) -> list[Contact]:
    """Decrypt contacts for an organiser, recording who, when, whom and why."""
    reason = reason.strip()[:500]
    if not reason:
        raise OptInError("reason")
    rows = list(
        await session.scalars(
            select(Volunteer)
            .where(Volunteer.id.in_(volunteer_ids), Volunteer.withdrawn_at.is_(None))
            .order_by(Volunteer.id)
        )
    )
    ids = [v.id for v in rows]
    session.add(ContactRead(at=now, actor=actor, volunteer_ids=ids, reason=reason))
    await audit.record(
        session,
        actor,
        "panels.contacts-read",
        f"volunteers:{len(ids)}",
        {"ids": ids, "reason": reason},
    )
    return [
        Contact(
            v.id,
            cipher.decrypt(v.first_name_enc),
            cipher.decrypt(v.phone_enc),
            cipher.decrypt(v.email_enc),
            v.staff,
        )
        for v in rows
    ]


async def set_staff(session: AsyncSession, actor: str, volunteer_id: int, staff: bool) -> bool:
    """Mark or unmark a volunteer as staff (selection never picks staff), audited.

    False if there is no such volunteer or they have withdrawn.
    """
    changed = await session.execute(
        update(Volunteer)
        .where(Volunteer.id == volunteer_id, Volunteer.withdrawn_at.is_(None))
        .values(staff=staff)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        return False
    await audit.record(
        session, actor, "panels.volunteer-staff", f"volunteer:{volunteer_id}", {"staff": staff}
    )
    return True


async def rotate_keys(session: AsyncSession, cipher: ContactCipher) -> int:
    """Re-encrypt every stored contact under the current key; returns volunteers touched."""
    count = 0
    for v in await session.scalars(select(Volunteer).where(Volunteer.withdrawn_at.is_(None))):
        v.first_name_enc = cipher.rotate(v.first_name_enc)
        v.phone_enc = cipher.rotate(v.phone_enc)
        v.email_enc = cipher.rotate(v.email_enc)
        count += 1
    await session.flush()
    return count


def retention_cutoff(now: dt.datetime, months: int) -> dt.datetime:
    return now - dt.timedelta(days=round(months * 30.44))


async def purge(session: AsyncSession, months: int, now: dt.datetime, *, dry_run: bool) -> int:
    """Delete volunteers inactive for ``months`` (with experiences, consents, memberships)."""
    stale = select(Volunteer.id).where(Volunteer.last_activity_at < retention_cutoff(now, months))
    ids = list(await session.scalars(stale))
    if not dry_run and ids:
        await session.execute(
            delete(VolunteerExperience).where(VolunteerExperience.volunteer_id.in_(ids))
        )
        await session.execute(delete(Consent).where(Consent.volunteer_id.in_(ids)))
        await session.execute(delete(PanelMember).where(PanelMember.volunteer_id.in_(ids)))
        await session.execute(delete(Volunteer).where(Volunteer.id.in_(ids)))
        await audit.record(
            session, "system", "panels.purge", f"volunteers:{len(ids)}", {"months": months}
        )
    return len(ids)
