"""Sending panel invitations and reminders: SMS through the messaging outbox, else e-mail.

A number on the do-not-contact list (a STOP reply, or the answer page's opt-out) gets
no text: the volunteer is invited by e-mail if they gave one, else not at all this time.

Sending needs the clear contact details, so it is a contact read like any other: it is
written to ``contact_reads`` and the audit log with the reason. Texts are queued in the
outbox in the caller's transaction, together with the membership rows they announce, so
a text leaves only if its invitation was recorded, and the outbox's workers give it the
same retries with backoff and once-only claiming across processes as answer invitations.
E-mail goes over SMTP after the commit: at most once, a failure is logged and counted.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.feedback import do_not_contact
from server.messaging import outbox
from server.messaging.mail import MailError, OutgoingMail, send_mail
from server.messaging.models import MAX_TEXT_CHARS
from server.panels import volunteers
from server.panels.crypto import ContactCipher
from server.panels.models import Panel, Volunteer
from server.panels.service import Invited
from server.panels.texts import t
from server.privacy.phone_hash import phone_hash
from server.settings import Settings

log = logging.getLogger("kaiku.panels")


def invitation_text(panel: Panel, lang: str, link: str, *, reminder: bool = False) -> str:
    """The message; for SMS the question is shortened if needed, never the link."""
    question = t("rsvp_q", lang).format(topic=panel.topic, dates=", ".join(panel.meeting_dates))
    if reminder:
        question = f"{t('reminder', lang)} {question}"
    room = MAX_TEXT_CHARS - len(link) - 1
    if len(question) > room:
        question = question[: room - 1].rstrip() + "…"
    return f"{question} {link}"


@dataclass(frozen=True)
class Queued:
    """What :func:`queue` did: texts in the outbox, and mails to send after commit."""

    texts: int
    mails: list[OutgoingMail] = field(default_factory=list, repr=False)
    not_texted: int = 0
    """Recipients whose number asked for no texts and who left no e-mail address."""


async def queue(
    session: AsyncSession,
    settings: Settings,
    cipher: ContactCipher,
    actor: str,
    panel: Panel,
    recipients: Sequence[Invited],
    now: dt.datetime,
    *,
    reminder: bool = False,
) -> Queued:
    """Queue an SMS for each recipient with a phone; prepare an e-mail for the others."""
    if not recipients:
        return Queued(0)
    tokens = {r.volunteer_id: r.token for r in recipients}
    why = "reminder" if reminder else "invitation"
    contacts = await volunteers.read_contacts(
        session, cipher, actor, list(tokens), f"{why} to panel {panel.code}", now
    )
    languages = dict(
        (
            await session.execute(
                select(Volunteer.id, Volunteer.preferred_language).where(
                    Volunteer.id.in_(list(tokens))
                )
            )
        ).all()
    )
    conn = await session.connection()
    key = settings.effective_secret_key
    hashed = {c.volunteer_id: phone_hash(c.phone, key) for c in contacts if c.phone}
    stopped = await do_not_contact.listed(conn, hashed.values())
    texts, mails, not_texted = 0, [], 0
    for contact in contacts:
        lang = languages.get(contact.volunteer_id, "fi")
        link = f"{settings.public_url.rstrip('/')}/panels/rsvp/{tokens[contact.volunteer_id]}"
        text = invitation_text(panel, lang, link, reminder=reminder)
        if contact.phone and hashed[contact.volunteer_id] not in stopped:
            await outbox.enqueue(conn, to_number=contact.phone, text=text, send_at=now)
            texts += 1
        elif contact.email:
            mails.append(OutgoingMail(contact.email, t("title", lang), text))
        else:
            not_texted += 1
    return Queued(texts, mails, not_texted)


async def send_mails(settings: Settings, mails: Sequence[OutgoingMail]) -> int:
    """Send prepared e-mails; returns how many the SMTP server took."""
    sent = 0
    for mail in mails:
        try:
            await send_mail(settings, mail)
            sent += 1
        except MailError as exc:
            log.warning("panel e-mail failed: %s", exc)
    return sent
