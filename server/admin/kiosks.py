"""Kiosk administration: see each tablet's health, enrol it with a pairing code, revoke it.

A manager enrols a tablet without typing a key on it: this page shows a short
one-time code, the tablet's enrol screen exchanges it for a device key. Revoking
ends the tablet's keys at once in this process (others within ``auth_cache_seconds``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

import htpy as h
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import select

from server.auth import audit
from server.auth.controllers import PAGE_EXCEPTION_HANDLERS, page, requires_page
from server.auth.csrf import checked_form, issue
from server.auth.guards import current_principal
from server.auth.keys import revoke_kiosk_keys
from server.auth.pages import layout, post_button, sign_out_forms
from server.auth.roles import Role
from server.catalog.models import Kiosk, Unit
from server.errors import Problem
from server.feedback.kiosks import create_pairing_code, kiosk_by_code
from server.services import Services, ServicesDep

LIST_URL = "/admin/kiosks"


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def _unit_name(unit: Unit) -> str:
    return unit.names.get("fi") or next(iter(unit.names.values()), unit.code)


def kiosk_list_page(rows: list[tuple[Kiosk, Unit]], csrf: str, notice: str = "") -> str:
    base = f"{LIST_URL}/"
    body = [
        h.tr[
            h.th(scope="row")[kiosk.code],
            h.td[_unit_name(unit)],
            h.td[_when(kiosk.last_seen_at)],
            h.td[str(kiosk.outbox_pending)],
            h.td[
                post_button(f"{base}{quote(kiosk.code)}/pairing-code", "New pairing code", csrf),
                post_button(f"{base}{quote(kiosk.code)}/revoke", "Revoke device key", csrf),
            ],
        ]
        for kiosk, unit in rows
    ]
    return layout(
        "Kiosks",
        h.p(role="status")[notice] if notice else None,
        h.table[
            h.caption["Waiting-room tablets"],
            h.thead[
                h.tr[
                    h.th(scope="col")["Kiosk"],
                    h.th(scope="col")["Unit"],
                    h.th(scope="col")["Last seen"],
                    h.th(scope="col")["Answers waiting on the tablet"],
                    h.th(scope="col")["Actions"],
                ]
            ],
            h.tbody[body],
        ],
        h.h2["Session"],
        sign_out_forms(csrf),
    )


def pairing_page(kiosk: Kiosk, code: str, expires: dt.datetime, enrol_url: str) -> str:
    return layout(
        f"Pairing code for {kiosk.code}",
        h.p["On the tablet, open the enrolment address and type this code:"],
        h.p[h.span(".pairing-code")[code]],
        h.dl[
            h.dt["Enrolment address"],
            h.dd[h.a(href=enrol_url)[enrol_url]],
            h.dt["Valid until"],
            h.dd[_when(expires)],
        ],
        h.p["The code works once. Enrolling replaces the tablet's previous key."],
        h.p[h.a(href=LIST_URL)["Back to kiosks"]],
    )


async def _kiosk_or_404(services: Services, code: str) -> Kiosk:
    async with services.session() as session:
        kiosk = await kiosk_by_code(session, code)
    if kiosk is None:
        raise Problem(404, "not-found", f"There is no kiosk {code!r}.")
    return kiosk


async def _list(request: Request[Any, Any, Any], services: Services, notice: str) -> Response[str]:
    async with services.session() as session:
        result = await session.execute(
            select(Kiosk, Unit).join(Unit, Unit.id == Kiosk.unit_id).order_by(Kiosk.code)
        )
        listed = [(kiosk, unit) for kiosk, unit in result]
    csrf, cookies = issue(request, services.settings)
    return page(kiosk_list_page(listed, csrf, notice), cookies)


class AdminKiosksController(Controller):
    path = LIST_URL
    include_in_schema = False
    guards = [requires_page(Role.ADMIN, Role.MANAGER)]
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("/")
    async def list_kiosks(
        self, request: Request[Any, Any, Any], services: ServicesDep
    ) -> Response[str]:
        return await _list(request, services, "")

    @post("/{code:str}/pairing-code")
    async def pairing_code(
        self, request: Request[Any, Any, Any], services: ServicesDep, code: FromPath[str]
    ) -> Response[str]:
        await checked_form(request, services.settings)
        kiosk = await _kiosk_or_404(services, code)
        minutes = services.settings.pairing_code_minutes
        async with services.session() as session:
            pairing = await create_pairing_code(session, kiosk, minutes)
            await audit.record(
                session,
                audit.actor_of(current_principal(request)),
                "kiosk.pairing-code",
                f"kiosk:{kiosk.code}",
                {"minutes": minutes},
            )
            await session.commit()
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
        enrol_url = f"{services.settings.public_url}/k/{quote(kiosk.code)}"
        return page(pairing_page(kiosk, pairing, expires, enrol_url))

    @post("/{code:str}/revoke")
    async def revoke(
        self, request: Request[Any, Any, Any], services: ServicesDep, code: FromPath[str]
    ) -> Response[str]:
        await checked_form(request, services.settings)
        kiosk = await _kiosk_or_404(services, code)
        async with services.session() as session:
            revoked = await revoke_kiosk_keys(session, kiosk.id)
            await audit.record(
                session,
                audit.actor_of(current_principal(request)),
                "kiosk.keys-revoked",
                f"kiosk:{kiosk.code}",
                {"keys": revoked},
            )
            await session.commit()
        services.keys.forget()
        return await _list(request, services, f"Revoked {revoked} device key(s) of {kiosk.code}.")
