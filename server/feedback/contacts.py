"""Integration endpoints: contacts in; delivery receipts and replies from the SMS provider."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.params import JSONBody
from litestar.types import Guard

from server.auth.guards import requires
from server.auth.roles import Role
from server.errors import Problem
from server.feedback.invitations import ContactIn, ContactOut, ContactRejected
from server.feedback.sms_replies import is_stop_message
from server.feedback.tokens import receipt_secret
from server.messaging.outbox import RECEIPT_PATH
from server.messaging.sms import parse_46elks_receipt
from server.ratelimit import RateLimiter
from server.services import Services, ServicesDep

INBOUND_PATH = "/api/v1/sms/inbound/46elks"


def sms_callback_guard(kind: str) -> Guard:
    """46elks does not sign callbacks, so their URLs carry a secret derived from our key.
    Callers without it are refused before anything is counted, so strangers cannot use up
    the gateway's budget; then each kind of callback has its own per-minute limit (a 429
    only delays it: 46elks retries for at least six hours)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        services: Services = connection.app.state.services
        expected = receipt_secret(services.settings.effective_secret_key)
        secret = str(connection.query_params.get("secret", ""))
        if not hmac.compare_digest(secret.encode(), expected.encode()):
            raise Problem(403, "forbidden", "Unknown SMS callback.")
        limiter: RateLimiter = connection.app.state.rate_limiter
        limit = services.settings.rate_limit_sms_callbacks_per_minute
        await limiter.hit(f"sms-{kind}:46elks", limit)

    return guard


class ContactsController(Controller):
    path = "/api/v1/contacts"
    tags = ["invitations"]
    guards = [requires(Role.INTEGRATION)]

    @post(
        "/",
        operation_id="createContact",
        summary="A contact ended: schedule an SMS invitation (idempotent on idempotency_key)",
        status_code=202,
    )
    async def create(self, data: JSONBody[ContactIn], services: ServicesDep) -> ContactOut:
        try:
            created = await services.invitations.create(data)
        except ContactRejected as exc:
            code = "idempotency-conflict" if exc.status == 409 else "invalid-contact"
            raise Problem(exc.status, code, exc.reason) from None
        return created.reply


class SmsReceiptsController(Controller):
    path = RECEIPT_PATH
    tags = ["invitations"]
    include_in_schema = False
    guards = [sms_callback_guard("receipts")]

    @post("/", operation_id="smsReceipt46elks", status_code=200)
    async def receipt(
        self, request: Request[Any, Any, Any], services: ServicesDep
    ) -> Response[str]:
        form = await request.form()
        try:
            receipt = parse_46elks_receipt({k: str(v) for k, v in form.items()})
        except ValueError as exc:
            raise Problem(400, "invalid-receipt", str(exc)) from None
        outcome = await services.invitations.apply_receipt(receipt)
        if outcome == "early":
            # The report overtook our record of the send: 46elks retries anything but 2xx.
            raise Problem(
                503,
                "receipt-too-early",
                "This message's send is not recorded yet; send the report again later.",
                headers={"Retry-After": "30"},
            )
        # Unknown ids are acknowledged too: 46elks would otherwise retry for hours.
        return Response("ok", media_type="text/plain")


class SmsInboundController(Controller):
    """Texts clients send to our number; a STOP-type reply opts the sender out."""

    path = INBOUND_PATH
    tags = ["invitations"]
    include_in_schema = False
    guards = [sms_callback_guard("inbound")]

    @post("/", operation_id="smsInbound46elks", status_code=200)
    async def inbound(
        self, request: Request[Any, Any, Any], services: ServicesDep
    ) -> Response[bytes]:
        """Always an empty 200: 46elks texts any reply body back to the sender, and retries
        anything else. The sender's number is hashed for the list and never stored."""
        form = await request.form()
        if is_stop_message(str(form.get("message", ""))):
            await services.invitations.opt_out_number(str(form.get("from", "")))
        return Response(b"", media_type="text/plain")
