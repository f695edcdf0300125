"""The audit log for admins: a page (newest first, filter by action) and CSV/JSON exports.

Exports are audited themselves, so taking the log away leaves a trace in it.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Literal

import htpy as h
import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import FromQuery
from sqlalchemy import select

from server.auth import audit
from server.auth.controllers import PAGE_EXCEPTION_HANDLERS, page, requires_page
from server.auth.guards import current_principal
from server.auth.models import AuditEvent
from server.auth.pages import layout
from server.auth.roles import Role
from server.services import Services, ServicesDep

AUDIT_URL = "/admin/audit"
PAGE_ROWS = 500
COLUMNS = ("id", "at", "actor", "action", "subject", "detail")


class AuditRow(msgspec.Struct):
    """One event as exported (``at`` in ISO 8601 UTC, ``detail`` as stored)."""

    id: int
    at: str
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


def _row(event: AuditEvent) -> AuditRow:
    return AuditRow(
        event.id, event.at.isoformat(), event.actor, event.action, event.subject, event.detail
    )


async def _events(services: Services, action: str | None, limit: int | None) -> list[AuditRow]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action == action)
    if limit is not None:
        query = query.limit(limit)
    async with services.session() as session:
        return [_row(event) for event in await session.scalars(query)]


async def _actions(services: Services) -> list[str]:
    async with services.session() as session:
        found = await session.scalars(select(AuditEvent.action).distinct())
        return sorted(found)


def audit_page(rows: list[AuditRow], actions: list[str], action: str | None) -> str:
    options = [h.option(value="", selected=not action)["All actions"]] + [
        h.option(value=name, selected=name == action)[name] for name in actions
    ]
    export = f"?action={action}&" if action else "?"
    return layout(
        "Audit log",
        h.form(method="get", action=AUDIT_URL)[
            h.label(for_="action")["Action"],
            " ",
            h.select(id="action", name="action")[options],
            " ",
            h.button(type="submit")["Filter"],
        ],
        h.p[
            h.a(href=f"{AUDIT_URL}/export{export}format=csv")["Export CSV"],
            " · ",
            h.a(href=f"{AUDIT_URL}/export{export}format=json")["Export JSON"],
        ],
        h.table[
            h.caption[f"Newest first, at most {PAGE_ROWS} events"],
            h.thead[h.tr[[h.th(scope="col")[name] for name in COLUMNS]]],
            h.tbody[
                (
                    h.tr[
                        h.td[str(row.id)],
                        h.td[row.at],
                        h.td[row.actor],
                        h.td[row.action],
                        h.td[row.subject],
                        h.td[msgspec.json.encode(row.detail).decode()],
                    ]
                    for row in rows
                )
            ],
        ],
    )


def to_csv(rows: list[AuditRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        detail = msgspec.json.encode(row.detail).decode()
        writer.writerow([row.id, row.at, row.actor, row.action, row.subject, detail])
    return out.getvalue()


class AuditPagesController(Controller):
    path = AUDIT_URL
    include_in_schema = False
    guards = [requires_page(Role.ADMIN)]
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("/")
    async def show(
        self, services: ServicesDep, action: FromQuery[str | None] = None
    ) -> Response[str]:
        rows = await _events(services, action, PAGE_ROWS)
        return page(audit_page(rows, await _actions(services), action))

    @get("/export")
    async def export(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        format: FromQuery[Literal["csv", "json"]] = "csv",
        action: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """The whole (filtered) log; the export is recorded before it is handed out."""
        async with services.session() as session:
            await audit.record(
                session,
                audit.actor_of(current_principal(request)),
                "audit.export",
                "audit-log",
                {"format": format, "action": action or ""},
            )
            await session.commit()
        rows = await _events(services, action, None)
        if format == "json":
            body, media = msgspec.json.encode(rows), "application/json"
        else:
            body, media = to_csv(rows).encode(), "text/csv; charset=utf-8"
        return Response(
            body,
            media_type=media,
            headers={
                "Cache-Control": "no-store",
                "Content-Disposition": f'attachment; filename="kaiku-audit.{format}"',
            },
        )
