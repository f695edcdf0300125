"""Outgoing e-mail over SMTP (aiosmtplib). Without ``KAIKU_SMTP_HOST`` mail is only logged,
so development needs no mail server; the recipient is never logged."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib

from server.settings import Settings

log = logging.getLogger("kaiku.mail")


@dataclass(frozen=True)
class OutgoingMail:
    to: str = field(repr=False)
    subject: str
    body: str = field(repr=False)


class MailError(RuntimeError):
    """The SMTP server refused the message or could not be reached."""


async def send_mail(settings: Settings, mail: OutgoingMail) -> None:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    if not settings.smtp_host:
        log.info("mail (not sent, no KAIKU_SMTP_HOST): %s", mail.subject)
        return
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            start_tls=settings.smtp_starttls,
            timeout=settings.db_statement_timeout_seconds,
        )
    except aiosmtplib.SMTPException as exc:
        raise MailError(type(exc).__name__) from None
