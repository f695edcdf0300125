"""Liveness and readiness for load balancers."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, Response, get

from server.migrations_runner import current_revision, head_revision
from server.services import ServicesDep


class Health(msgspec.Struct):
    status: str
    detail: str = ""


class HealthController(Controller):
    tags = ["health"]

    @get("/healthz", operation_id="healthz", summary="Process is alive", sync_to_thread=False)
    def healthz(self) -> Health:
        return Health("ok")

    @get("/readyz", operation_id="readyz", summary="Database reachable and migrations current")
    async def readyz(self, services: ServicesDep) -> Response[Health]:
        try:
            async with asyncio.timeout(2):
                async with services.engine.connect() as conn:
                    revision = await current_revision(conn)
        except Exception as exc:  # any failure means "not ready", never a 500
            return Response(
                Health("unavailable", f"database: {type(exc).__name__}"),
                status_code=503,
                headers={"Retry-After": "5"},
            )
        if revision != head_revision():
            return Response(
                Health("unavailable", f"migrations: at {revision}, need {head_revision()}"),
                status_code=503,
            )
        return Response(Health("ok"))
