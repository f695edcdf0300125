"""Sending panel invitations by SMS (the configured gateway) and e-mail (SMTP).

Sending needs the clear contact details, so it is a contact read like any other: it is
written to ``contact_reads`` and the audit log with the reason "invitation".
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from server.messaging.mail import MailError, OutgoingMail, send_mail
from server.messaging.sms import OutgoingSms, SendOutcome, SmsGateway
from server.panels import volunteers
from server.panels.crypto import ContactCipher
from server.panels.models import Panel, Volunteer
from server.panels.service import Invited
from server.panels.texts import t
from server.settings import Settings

log = logging.getLogger("kaiku.panels")


def invitation_text(panel: Panel, lang: str, link: str) -> str:
    question = t("rsvp_q", lang).format(topic=panel.topic, dates=", ".join(panel.meeting_dates))
    return f"{question} {link}"


async def send_invitations(
    session: AsyncSession,
    settings: Settings,
    cipher: ContactCipher,
    gateway: SmsGateway,
    actor: str,
    panel: Panel,
    invited: list[Invited],
    now: dt.datetime,
) -> dict[str, int]:
    """Send each invitation by SMS if there is a phone, else by e-mail; count outcomes."""
    tokens = {i.volunteer_id: i.token for i in invited}
    contacts = await volunteers.read_contacts(
        session, cipher, actor, list(tokens), f"invitation to panel {panel.code}", now
    )
    outcome = {"sms": 0, "email": 0, "failed": 0}
    for contact in contacts:
        volunteer = await session.get(Volunteer, contact.volunteer_id)
        lang = volunteer.preferred_language if volunteer else "fi"
        link = f"{settings.public_url}/panels/rsvp/{tokens[contact.volunteer_id]}"
        text = invitation_text(panel, lang, link)
        if contact.phone:
            sms = OutgoingSms(to=contact.phone, text=text, reference=f"panel-{panel.id}")
            result = await gateway.send(sms)
            outcome["sms" if result.outcome == SendOutcome.ACCEPTED else "failed"] += 1
        elif contact.email:
            try:
                await send_mail(settings, OutgoingMail(contact.email, t("title", lang), text))
                outcome["email"] += 1
            except MailError as exc:
                log.warning("panel invitation e-mail failed: %s", exc)
                outcome["failed"] += 1
    return outcome
