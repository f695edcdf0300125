"""Integration endpoints: "a contact ended" in, delivery receipts from the SMS provider."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.params import FromQuery, JSONBody

from server.auth.guards import requires
from server.auth.roles import Role
from server.errors import Problem
from server.feedback.invitations import ContactIn, ContactOut, ContactRejected
from server.feedback.tokens import receipt_secret
from server.messaging.outbox import RECEIPT_PATH
from server.messaging.sms import parse_46elks_receipt
from server.services import ServicesDep


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

    @post("/", operation_id="smsReceipt46elks", status_code=200)
    async def receipt(
        self, request: Request[Any, Any, Any], services: ServicesDep, secret: FromQuery[str] = ""
    ) -> Response[str]:
        """46elks does not sign callbacks, so the URL carries a secret derived from our key."""
        expected = receipt_secret(services.settings.effective_secret_key)
        if not hmac.compare_digest(secret.encode(), expected.encode()):
            raise Problem(403, "forbidden", "Unknown receipt callback.")
        form = await request.form()
        try:
            receipt = parse_46elks_receipt({k: str(v) for k, v in form.items()})
        except ValueError as exc:
            raise Problem(400, "invalid-receipt", str(exc)) from None
        # Unknown ids are acknowledged too: 46elks would otherwise retry for hours.
        await services.invitations.apply_receipt(receipt)
        return Response("ok", media_type="text/plain")
