"""Ingest and kiosk-device endpoints. Thin: validation and storage live in services."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.params import JSONBody

from server.auth.guards import current_principal, requires
from server.auth.roles import Role
from server.compression import SKIP_COMPRESSION
from server.errors import Problem
from server.feedback.ingest import CONFLICT, Origin
from server.feedback.kiosks import PairingFailed, record_heartbeat, redeem_pairing_code
from server.feedback.schemas import (
    ItemResult,
    ResponseBatchIn,
    ResponseBatchOut,
    ResponseIn,
    ResponseOut,
)
from server.ratelimit import RateLimiter, pairing_limits
from server.services import ServicesDep

ERRORS = {400, 401, 403, 409, 413, 422, 503}


async def kiosk_origin(request: Request[Any, Any, Any], services: ServicesDep) -> Origin:
    principal = current_principal(request)
    catalog = await services.catalog.get(services.engine)
    kiosk = catalog.kiosks.get(principal.kiosk_id or -1)
    if kiosk is None:
        services.catalog.invalidate()
        raise Problem(403, "unknown-kiosk", "This device key belongs to no known kiosk.")
    return Origin(
        unit_id=kiosk.unit_id, channel="kiosk", contact_mode="in_person", kiosk_id=kiosk.id
    )


class ResponsesController(Controller):
    path = "/api/v1/responses"
    tags = ["responses"]
    guards = [requires(Role.KIOSK)]

    @post(
        "/",
        operation_id="createResponse",
        summary="Store one answer (idempotent on its id)",
        status_code=201,
        opt={SKIP_COMPRESSION: True},  # a reply of ~70 bytes: nothing to compress
    )
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[ResponseIn], services: ServicesDep
    ) -> Response[ResponseOut]:
        origin = await kiosk_origin(request, services)
        result = await services.ingest.ingest_one(origin, data)
        if result.status == "rejected":
            conflict = result.reason == CONFLICT
            raise Problem(
                409 if conflict else 422,
                "id-conflict" if conflict else "invalid-answer",
                result.reason or "rejected",
            )
        status = 201 if result.status == "stored" else 200
        return Response(ResponseOut(result.id, result.status), status_code=status)

    @post(
        "/batch",
        operation_id="createResponseBatch",
        summary="Store up to KAIKU_MAX_BATCH_ITEMS answers; a result per item",
        status_code=200,
    )
    async def create_batch(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ResponseBatchIn],
        services: ServicesDep,
    ) -> ResponseBatchOut:
        limit = services.settings.max_batch_items
        if len(data.items) > limit:
            raise Problem(413, "batch-too-large", f"A batch holds at most {limit} items; split it.")
        origin = await kiosk_origin(request, services)
        results = await services.ingest.ingest(origin, data.items)
        return _batch_out(results)


def _batch_out(results: list[ItemResult]) -> ResponseBatchOut:
    counts = {"stored": 0, "duplicate": 0, "rejected": 0}
    for result in results:
        counts[result.status] += 1
    return ResponseBatchOut(
        results=results,
        stored=counts["stored"],
        duplicates=counts["duplicate"],
        rejected=counts["rejected"],
    )


class PairingIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=4, max_length=32)]


class PairingOut(msgspec.Struct):
    kiosk: str
    device_key: str


class HeartbeatIn(msgspec.Struct, forbid_unknown_fields=True):
    outbox_pending: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
    # Printable ASCII: a version label, and PostgreSQL refuses NUL in text columns.
    app_version: Annotated[str, msgspec.Meta(max_length=32, pattern=r"^[ -~]*$")] = ""


class KioskDeviceController(Controller):
    path = "/api/v1/kiosks"
    tags = ["kiosks"]

    @post("/pair", operation_id="pairKiosk", summary="Exchange a pairing code for a device key")
    async def pair(
        self, request: Request[Any, Any, Any], data: JSONBody[PairingIn], services: ServicesDep
    ) -> Response[PairingOut]:
        """The code is the only credential, so wrong codes are rate limited (no guessing)."""
        limiter: RateLimiter = request.app.state.rate_limiter
        limits = pairing_limits(request, services.settings)
        async with limiter.failures(limits), services.session() as session:
            try:
                kiosk, secret = await redeem_pairing_code(session, data.code)
            except PairingFailed as exc:
                raise Problem(422, "pairing-failed", str(exc)) from None
            await session.commit()
        return Response(
            PairingOut(kiosk.code, secret), status_code=200, headers={"Cache-Control": "no-store"}
        )

    @post(
        "/heartbeat",
        operation_id="kioskHeartbeat",
        summary="Report outbox length and app version",
        status_code=204,
        guards=[requires(Role.KIOSK)],
        opt={SKIP_COMPRESSION: True},  # no body
    )
    async def heartbeat(
        self, request: Request[Any, Any, Any], data: JSONBody[HeartbeatIn], services: ServicesDep
    ) -> None:
        principal = current_principal(request)
        assert principal.kiosk_id is not None
        async with services.session() as session:
            await record_heartbeat(
                session, principal.kiosk_id, data.outbox_pending, data.app_version
            )
            await session.commit()
