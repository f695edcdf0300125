"""SMS gateways: how an invitation text leaves Kaiku.

The outbox worker calls ``SmsGateway.send`` and acts on the outcome: ACCEPTED (store the
provider id to match delivery reports), RETRY (try again later, message kept) or FAILED
(permanent; drop the number). Phone numbers and message texts are personal data and the
text carries a single-use answer link, so neither ever appears in ``SendResult.detail``,
in log records, or in the ``repr`` of an ``OutgoingSms``.

46elks REST API, as documented by the provider:

* send: https://46elks.se/docs (``POST https://api.46elks.com/a1/sms``, HTTP basic auth,
  form fields ``from``, ``to``, ``message``; JSON reply with ``id``, ``status``, ``parts``…)
* fields of a sent SMS, incl. ``dontlog=message``: https://www.46elks.se/docs/show-sms-id
* delivery reports: https://46elks.se/docs/sms-delivery-reports (form POST to the
  ``whendelivered`` URL with ``id``, ``status`` = sent/delivered/failed, ``delivered``
  in UTC; anything but HTTP 200-204 makes 46elks retry for at least 6 hours)
* text sender rules: https://46elks.com/kb/text-sender-id (A-Z a-z 0-9, 3-11 characters,
  not starting with a digit)

How provider replies map to outcomes (decided here, see ``_outcome_for_status``):

* 2xx → ACCEPTED (FAILED if the reply itself says ``"status": "failed"``).
* 400, 413, 422 → FAILED: the provider rejected *this* message (bad number, empty or too
  long text); sending it again cannot help.
* 401, 403 → RETRY: the credentials or the account are wrong. That is an operator's mistake, not the
  client's, so the message waits until credentials are fixed instead of being lost.
* 402 → RETRY: the account is out of credit.
* 429, 5xx, timeouts, connection errors and any other reply → RETRY.

A timeout after the request was sent may mean the SMS did go out, so RETRY can produce a
duplicate; delivery is at least once, which beats losing an invitation.
"""

from __future__ import annotations

import enum
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, quote_plus

import httpx

logger = logging.getLogger(__name__)

DEFAULT_46ELKS_URL = "https://api.46elks.com/a1"
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_TEXT_SENDER = re.compile(r"[A-Za-z][A-Za-z0-9]{2,10}")
_DIGIT_RUN = re.compile(r"\+?[0-9][0-9 ()-]{3,}[0-9]")
_LONG_QUOTE = re.compile(r"\"[^\"]{21,}\"|'[^']{21,}'")
_MAX_EXCERPT = 80
_RECEIPT_STATUSES = frozenset({"sent", "delivered", "failed"})


def is_e164(number: str) -> bool:
    """True for '+' and 7-15 digits without a leading zero (ITU-T E.164 as 46elks wants)."""
    return _E164.fullmatch(number) is not None


def mask_number(number: str) -> str:
    """Hide every digit but the last two: '+358401234567' → '+**********67'."""
    digits_seen = sum(c.isdigit() for c in number)
    out, seen = [], 0
    for char in number:
        if char.isdigit():
            seen += 1
            out.append(char if seen > digits_seen - 2 else "*")
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True)
class OutgoingSms:
    """One text to send; ``reference`` is our outbox id, safe to log."""

    to: str = field(repr=False)  # E.164
    text: str = field(repr=False)
    reference: str


class SendOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    RETRY = "retry"
    FAILED = "failed"  # permanent: do not retry


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    provider_id: str | None = None
    detail: str = ""  # for operators; never the phone number or the text


@runtime_checkable
class SmsGateway(Protocol):
    name: str

    async def send(self, sms: OutgoingSms) -> SendResult: ...

    async def aclose(self) -> None: ...


class ConsoleGateway:
    """Development default: writes the text to the log instead of sending it.

    The text holds the answer link, a credential to answer in the client's name, so
    it is logged only with ``reveal_text`` (development and tests). In production the
    gateway stands for "no gateway configured": every message fails permanently and
    visibly (invitation state, SMS failure metrics and alert) and the log holds no link.
    """

    name = "console"

    def __init__(self, *, reveal_text: bool = True) -> None:
        self._reveal_text = reveal_text

    async def send(self, sms: OutgoingSms) -> SendResult:
        if not self._reveal_text:
            logger.warning(
                "SMS to %s (ref %s) not sent: no SMS gateway configured (KAIKU_SMS_GATEWAY)",
                mask_number(sms.to),
                sms.reference,
            )
            return SendResult(SendOutcome.FAILED, None, "no SMS gateway configured")
        provider_id = f"console-{uuid.uuid4().hex}"
        logger.info("SMS to %s (ref %s): %s", mask_number(sms.to), sms.reference, sms.text)
        return SendResult(SendOutcome.ACCEPTED, provider_id, "written to the log, not sent")

    async def aclose(self) -> None:
        return None


class FortySixElksGateway:
    """Sends through the 46elks REST API with httpx."""

    name = "46elks"

    def __init__(
        self,
        *,
        username: str,
        password: str,
        sender: str,
        base_url: str = DEFAULT_46ELKS_URL,
        delivery_callback_url: str | None = None,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not username or not password:
            raise ValueError("46elks needs an API username and password")
        if not (is_e164(sender) or _TEXT_SENDER.fullmatch(sender)):
            raise ValueError(
                f"46elks sender {sender!r} must be an E.164 number or 3-11 letters and "
                "digits starting with a letter"
            )
        if timeout <= 0:
            raise ValueError("46elks timeout must be positive")
        self._url = base_url.rstrip("/") + "/sms"
        self._auth = httpx.BasicAuth(username, password)
        self._sender = sender
        self._callback = delivery_callback_url or None
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient()

    async def send(self, sms: OutgoingSms) -> SendResult:
        result = await self._send(sms)
        level = logging.INFO if result.outcome is SendOutcome.ACCEPTED else logging.WARNING
        logger.log(
            level, "SMS ref %s via 46elks: %s (%s)", sms.reference, result.outcome, result.detail
        )
        return result

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _send(self, sms: OutgoingSms) -> SendResult:
        if not is_e164(sms.to):
            return SendResult(SendOutcome.FAILED, detail="recipient is not an E.164 number")
        if not sms.text.strip():
            return SendResult(SendOutcome.FAILED, detail="message text is empty")
        form = {"from": self._sender, "to": sms.to, "message": sms.text, "dontlog": "message"}
        if self._callback:
            form["whendelivered"] = self._callback
        try:
            response = await self._client.post(
                self._url, data=form, auth=self._auth, timeout=self._timeout
            )
        except httpx.ConnectTimeout:
            return SendResult(SendOutcome.RETRY, detail="timed out connecting to 46elks; not sent")
        except httpx.TimeoutException:
            return SendResult(
                SendOutcome.RETRY,
                detail=f"no reply from 46elks within {self._timeout:g} s; it may have been sent",
            )
        except httpx.TransportError as exc:
            return SendResult(
                SendOutcome.RETRY, detail=f"could not reach 46elks ({type(exc).__name__})"
            )
        return _interpret(response, sms)


def _interpret(response: httpx.Response, sms: OutgoingSms) -> SendResult:
    code = response.status_code
    if response.is_success:
        return _accepted(response)
    outcome, reason = _outcome_for_status(code)
    excerpt = _scrub(response.text, sms)
    detail = f"{reason} (HTTP {code})" + (f": {excerpt}" if excerpt else "")
    retry_after = response.headers.get("retry-after", "")
    if retry_after.isdigit():
        detail += f"; retry after {retry_after} s"
    return SendResult(outcome, detail=detail)


def _outcome_for_status(code: int) -> tuple[SendOutcome, str]:
    if code in (400, 413, 422):
        return SendOutcome.FAILED, "46elks rejected the message"
    if code == 401:
        return SendOutcome.RETRY, "46elks refused the API credentials; fix them, message kept"
    if code == 403:
        return SendOutcome.RETRY, "46elks refused the account (credit or settings); message kept"
    if code == 402:
        return SendOutcome.RETRY, "46elks account is out of credit; message kept"
    if code == 429:
        return SendOutcome.RETRY, "46elks rate limit"
    if code >= 500:
        return SendOutcome.RETRY, "46elks server error"
    return SendOutcome.RETRY, "unexpected reply from 46elks; check the base URL, message kept"


def _accepted(response: httpx.Response) -> SendResult:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        # Accepted but unidentifiable: re-sending would duplicate the SMS.
        return SendResult(SendOutcome.ACCEPTED, detail="46elks accepted it but sent no id")
    status = str(body.get("status", ""))[:20]
    if status == "failed":
        return SendResult(SendOutcome.FAILED, body["id"], "46elks reported status failed")
    parts = body.get("parts")
    detail = f"46elks status {status or 'unknown'}"
    if isinstance(parts, int):
        detail += f", {parts} part{'s' if parts != 1 else ''}"
    return SendResult(SendOutcome.ACCEPTED, body["id"], detail)


def _scrub(body: str, sms: OutgoingSms) -> str:
    """A short excerpt of a provider error body with anything personal removed.

    46elks answers errors with a short sentence ("Invalid to number"); a longer body
    might echo the request, so it is left out rather than trimmed.
    """
    text = body[:2000]
    private = (sms.text, quote_plus(sms.text), quote(sms.text), sms.to, sms.to.lstrip("+"))
    for value in private:
        if value:
            text = text.replace(value, "[redacted]")
    text = _LONG_QUOTE.sub("[redacted]", text)
    text = _DIGIT_RUN.sub("[number]", text)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_EXCERPT else "[long reply omitted]"


@dataclass(frozen=True)
class DeliveryReceipt:
    """A 46elks delivery report. ``final`` is False for 'sent' (handed to the operator)."""

    provider_id: str
    delivered: bool
    at: datetime | None
    detail: str  # the 46elks status: sent, delivered or failed
    final: bool = True


def parse_46elks_receipt(form: Mapping[str, str]) -> DeliveryReceipt:
    """Read the form 46elks POSTs to ``whendelivered``; ValueError names what is wrong."""
    provider_id = (form.get("id") or "").strip()
    if not provider_id:
        raise ValueError("delivery report has no 'id'")
    status = (form.get("status") or "").strip()
    if status not in _RECEIPT_STATUSES:
        raise ValueError(
            f"delivery report has status {status[:20]!r}; expected sent, delivered or failed"
        )
    at = None
    if status == "delivered" and form.get("delivered"):
        at = _parse_utc(form["delivered"])
    return DeliveryReceipt(
        provider_id=provider_id,
        delivered=status == "delivered",
        at=at,
        detail=status,
        final=status != "sent",
    )


def _parse_utc(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"delivery report 'delivered' is not a timestamp: {value[:40]!r}"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_46ELKS_OPTIONS = ("username", "password", "sender", "base_url", "delivery_callback_url", "timeout")


def build_gateway(kind: str, **options: str) -> SmsGateway:
    """Make the configured gateway: 'console' (option ``reveal_text``, default yes) or '46elks'.

    Unknown option names are refused so a typo cannot silently drop, say, the callback URL.
    """
    if kind == "console":
        unknown = sorted(set(options) - {"reveal_text"})
        if unknown:
            raise ValueError(f"the console SMS gateway takes only reveal_text (got {unknown})")
        return ConsoleGateway(reveal_text=options.get("reveal_text", "yes") == "yes")
    if kind == "46elks":
        unknown = sorted(set(options) - set(_46ELKS_OPTIONS))
        if unknown:
            raise ValueError(f"unknown 46elks option(s) {unknown}; known: {list(_46ELKS_OPTIONS)}")
        missing = [name for name in ("username", "password", "sender") if not options.get(name)]
        if missing:
            raise ValueError(f"46elks SMS gateway needs option(s) {missing}")
        return FortySixElksGateway(
            username=options["username"],
            password=options["password"],
            sender=options["sender"],
            base_url=options.get("base_url") or DEFAULT_46ELKS_URL,
            delivery_callback_url=options.get("delivery_callback_url") or None,
            timeout=_parse_timeout(options.get("timeout")),
        )
    raise ValueError(f"unknown SMS gateway {kind!r}; use 'console' or '46elks'")


def _parse_timeout(raw: str | None) -> float:
    if not raw:
        return 10.0
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"46elks timeout must be a number of seconds (got {raw!r})") from None
