"""Organiser routes: pages under /staff/panels and the same operations under /api/v1/panels.

Both need the organiser (or admin) role. Contact details are never part of a normal
view; they come only from the explicit "contacts" action with a reason, which is recorded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, JSONBody, PathParameter
from litestar.response import Redirect

from server.auth import audit
from server.auth.audit import actor_of
from server.auth.controllers import PAGE_EXCEPTION_HANDLERS, page, requires_page
from server.auth.csrf import checked_form, issue
from server.auth.guards import current_principal, requires
from server.auth.roles import Role
from server.errors import Problem
from server.panels import invite, join_form, service, volunteers
from server.panels.crypto import cipher_from_settings
from server.panels.organiser_pages import (
    JOIN_FORM_URL,
    LIST_URL,
    join_form_page,
    list_page,
    panel_page,
)
from server.panels.schemas import (
    ContactOut,
    ContactScope,
    ContactsRequest,
    Figures,
    JoinFormOut,
    JoinFormUpdate,
    PanelCreate,
    SelectionOut,
    StaffUpdate,
    VolunteerStaffOut,
)
from server.panels.volunteers import BackgroundField
from server.services import Services, ServicesDep

ROLES = (Role.ORGANISER, Role.ADMIN)
MAX_ID = 2**31 - 1  # an integer column on both databases; larger ids cannot exist


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _figures(services: Services, code: str | None = None) -> list[Figures]:
    catalog = await services.catalog.get(services.engine)
    async with services.session() as session:
        panels = (
            [await service.panel_by_code(session, code)]
            if code
            else await service.all_panels(session)
        )
        threshold = services.settings.suppression_threshold
        return [await service.figures(session, catalog, p, _now(), threshold) for p in panels]


async def _create(services: Services, actor: str, data: PanelCreate) -> None:
    catalog = await services.catalog.get(services.engine)
    async with services.session() as session:
        panel = await service.create_panel(session, catalog, data, _now())
        await audit.record(session, actor, "panels.create", f"panel:{panel.code}")
        await session.commit()


async def _invite(services: Services, actor: str, code: str) -> SelectionOut:
    """Members, the audited contact read and the queued texts commit together."""
    settings = services.settings
    now = _now()
    async with services.session() as session:
        panel = await service.panel_by_code(session, code)
        result, invited = await service.select_and_invite(
            session, panel, settings.panel_invites_per_year, now
        )
        cipher = cipher_from_settings(settings)
        queued = await invite.queue(session, settings, cipher, actor, panel, invited, now)
        await session.commit()
    await invite.send_mails(settings, queued.mails)
    return SelectionOut(
        len(invited), [q.label() for q in result.unmet], result.excluded, queued.not_texted
    )


async def _contacts(
    services: Services, actor: str, code: str, reason: str, scope: ContactScope
) -> list[ContactOut]:
    async with services.session() as session:
        panel = await service.panel_by_code(session, code)
        ids = await service.contact_ids(session, panel, scope, _now())
        try:
            found = await volunteers.read_contacts(
                session, cipher_from_settings(services.settings), actor, ids, reason, _now()
            )
        except volunteers.OptInError:
            raise Problem(400, "reason-required", "Say why you need the contact details.") from None
        await session.commit()
    return [ContactOut(c.volunteer_id, c.first_name, c.phone, c.email, c.staff) for c in found]


async def _set_staff(
    services: Services, actor: str, volunteer_id: int, staff: bool, panel: str | None = None
) -> VolunteerStaffOut:
    """``panel``: the page the organiser acts from, which must exist (else 404)."""
    async with services.session() as session:
        if panel is not None:
            await service.panel_by_code(session, panel)
        if not await volunteers.set_staff(session, actor, volunteer_id, staff):
            raise Problem(404, "unknown-volunteer", f"no volunteer {volunteer_id}")
        await session.commit()
    return VolunteerStaffOut(volunteer_id, staff)


async def _join_forms(services: Services) -> list[JoinFormOut]:
    catalog = await services.catalog.get(services.engine)
    async with services.session() as session:
        return [
            JoinFormOut(code, await join_form.modes(session, unit_id))
            for unit_id, code in sorted(catalog.units.items(), key=lambda item: item[1])
        ]


async def _configure(
    services: Services, actor: str, unit: str, wanted: Mapping[BackgroundField, join_form.Mode]
) -> JoinFormOut:
    catalog = await services.catalog.get(services.engine)
    unit_id = catalog.unit_id(unit)
    if unit_id is None:
        raise Problem(404, "unknown-unit", f"no unit {unit!r}")
    async with services.session() as session:
        fields = await join_form.configure(session, actor, unit_id, unit, wanted)
        await session.commit()
    return JoinFormOut(unit, fields)


def _form_modes(form: Any) -> dict[BackgroundField, join_form.Mode]:
    """The radio buttons of the join-form page; a field not sent keeps its mode."""
    wanted: dict[BackgroundField, join_form.Mode] = {}
    for name in volunteers.BACKGROUND_FIELDS:
        raw = form.get(name)
        if raw is None:
            continue
        mode = next((m for m in join_form.MODES if m == raw), None)
        if mode is None:
            raise Problem(
                400, "invalid-mode", f"{name} must be one of {', '.join(join_form.MODES)}"
            )
        wanted[name] = mode
    return wanted


def _split(raw: str) -> list[str]:
    return [p.strip() for p in raw.split(",") if p.strip()]


def _number(raw: object, default: int = 0) -> int:
    text = str(raw or "").strip()
    return int(text) if re.fullmatch(r"\d{1,3}", text) else default


def _form_to_create(form: Any) -> PanelCreate:
    """The create form as the API body, so both are validated by the same struct."""
    bands = {}
    for item in _split(str(form.get("age_bands", ""))):
        band, _, count = item.partition("=")
        bands[band.strip()] = _number(count, 1)
    raw = {
        "code": str(form.get("code", "")).strip(),
        "topic": str(form.get("topic", "")).strip(),
        "unit": str(form.get("unit", "")).strip(),
        "seats": _number(form.get("seats")),
        "paths": _split(str(form.get("paths", ""))),
        "meeting_dates": _split(str(form.get("meeting_dates", ""))),
        "targets": {
            "min_negative": _number(form.get("min_negative")),
            "languages": _split(str(form.get("languages", ""))),
            "age_bands": bands,
        },
    }
    return msgspec.convert(raw, PanelCreate)


class PanelPagesController(Controller):
    path = LIST_URL
    include_in_schema = False
    guards = [requires_page(*ROLES)]
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("/")
    async def index(self, request: Request[Any, Any, Any], services: ServicesDep) -> Response[str]:
        csrf, cookies = issue(request, services.settings)
        return page(list_page(await _figures(services), csrf), cookies)

    @post("/")
    async def create(self, request: Request[Any, Any, Any], services: ServicesDep) -> Response[Any]:
        form = await checked_form(request, services.settings)
        actor = actor_of(current_principal(request))
        try:
            data = _form_to_create(form)
            await _create(services, actor, data)
        except (msgspec.ValidationError, service.PanelError) as exc:
            csrf, cookies = issue(request, services.settings)
            return page(list_page(await _figures(services), csrf, str(exc)), cookies, 422)
        return Redirect(f"{LIST_URL}/{data.code}", status_code=303)

    @get("/{code:str}")
    async def detail(
        self, request: Request[Any, Any, Any], code: FromPath[str], services: ServicesDep
    ) -> Response[str]:
        [figures] = await _guarded(_figures(services, code))
        csrf, cookies = issue(request, services.settings)
        return page(panel_page(figures, csrf), cookies)

    @post("/{code:str}/invite")
    async def invite(
        self, request: Request[Any, Any, Any], code: FromPath[str], services: ServicesDep
    ) -> Response[str]:
        await checked_form(request, services.settings)
        result = await _guarded(_invite(services, actor_of(current_principal(request)), code))
        unmet = "; not met: " + ", ".join(result.unmet_targets) if result.unmet_targets else ""
        unreached = (
            f" {result.not_reached} of them asked for no text messages and left no e-mail "
            "address: contact them another way."
            if result.not_reached
            else ""
        )
        [figures] = await _figures(services, code)
        csrf, cookies = issue(request, services.settings)
        message = f"Invited {result.invited}{unmet}.{unreached}"
        return page(panel_page(figures, csrf, message), cookies)

    @post("/{code:str}/contacts")
    async def contacts(
        self, request: Request[Any, Any, Any], code: FromPath[str], services: ServicesDep
    ) -> Response[str]:
        form = await checked_form(request, services.settings)
        actor = actor_of(current_principal(request))
        scope: ContactScope = "pool" if form.get("scope") == "pool" else "members"
        reason = str(form.get("reason", ""))
        found = await _guarded(_contacts(services, actor, code, reason, scope))
        [figures] = await _figures(services, code)
        csrf, cookies = issue(request, services.settings)
        return page(panel_page(figures, csrf, contacts=found, scope=scope), cookies)

    @post("/{code:str}/staff")
    async def staff(
        self, request: Request[Any, Any, Any], code: FromPath[str], services: ServicesDep
    ) -> Response[str]:
        form = await checked_form(request, services.settings)
        raw_id = str(form.get("volunteer_id", ""))
        if not re.fullmatch(r"[0-9]{1,10}", raw_id) or not 1 <= int(raw_id) <= MAX_ID:
            raise Problem(400, "invalid-volunteer", "volunteer_id must be a volunteer's number")
        staff = form.get("staff") == "yes"
        actor = actor_of(current_principal(request))
        await _guarded(_set_staff(services, actor, int(raw_id), staff, code))
        [figures] = await _figures(services, code)
        notice = f"Volunteer {raw_id} is {'now marked' if staff else 'no longer marked'} as staff."
        csrf, cookies = issue(request, services.settings)
        return page(panel_page(figures, csrf, notice), cookies)


class JoinFormPagesController(Controller):
    path = JOIN_FORM_URL
    include_in_schema = False
    guards = [requires_page(*ROLES)]
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("/")
    async def show(self, request: Request[Any, Any, Any], services: ServicesDep) -> Response[str]:
        csrf, cookies = issue(request, services.settings)
        return page(join_form_page(await _join_forms(services), csrf), cookies)

    @post("/")
    async def save(self, request: Request[Any, Any, Any], services: ServicesDep) -> Response[str]:
        form = await checked_form(request, services.settings)
        unit = str(form.get("unit", ""))
        actor = actor_of(current_principal(request))
        await _configure(services, actor, unit, _form_modes(form))
        csrf, cookies = issue(request, services.settings)
        notice = f"Saved the join form questions of {unit}."
        return page(join_form_page(await _join_forms(services), csrf, notice), cookies)


async def _guarded(work: Any) -> Any:
    try:
        return await work
    except service.PanelError as exc:
        raise Problem(404, "unknown-panel", str(exc)) from None


class PanelApiController(Controller):
    path = "/api/v1/panels"
    tags = ["panels"]
    guards = [requires(*ROLES)]

    @get("/", operation_id="listPanels")
    async def list_panels(self, services: ServicesDep) -> list[Figures]:
        return await _figures(services)

    @post("/", operation_id="createPanel", status_code=201)
    async def create_panel(
        self, request: Request[Any, Any, Any], data: JSONBody[PanelCreate], services: ServicesDep
    ) -> Figures:
        try:
            await _create(services, actor_of(current_principal(request)), data)
        except service.PanelError as exc:
            raise Problem(400, "invalid-panel", str(exc)) from None
        [figures] = await _figures(services, data.code)
        return figures

    @get("/{code:str}", operation_id="getPanel")
    async def get_panel(self, code: FromPath[str], services: ServicesDep) -> Figures:
        found: list[Figures] = await _guarded(_figures(services, code))
        return found[0]

    @post("/{code:str}/invitations", operation_id="invitePanel", status_code=200)
    async def invite(
        self, request: Request[Any, Any, Any], code: FromPath[str], services: ServicesDep
    ) -> SelectionOut:
        result: SelectionOut = await _guarded(
            _invite(services, actor_of(current_principal(request)), code)
        )
        return result

    @post("/{code:str}/contacts", operation_id="readPanelContacts", status_code=200)
    async def contacts(
        self,
        request: Request[Any, Any, Any],
        code: FromPath[str],
        data: JSONBody[ContactsRequest],
        services: ServicesDep,
    ) -> list[ContactOut]:
        found: list[ContactOut] = await _guarded(
            _contacts(services, actor_of(current_principal(request)), code, data.reason, data.scope)
        )
        return found


class VolunteerApiController(Controller):
    path = "/api/v1/volunteers"
    tags = ["panels"]
    guards = [requires(*ROLES)]

    @put("/{volunteer_id:int}/staff", operation_id="setVolunteerStaff")
    async def set_staff(
        self,
        request: Request[Any, Any, Any],
        volunteer_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)],
        data: JSONBody[StaffUpdate],
        services: ServicesDep,
    ) -> VolunteerStaffOut:
        """Mark a volunteer as staff (or not): selection never invites staff. Audited."""
        actor = actor_of(current_principal(request))
        return await _set_staff(services, actor, volunteer_id, data.staff)


class JoinFormApiController(Controller):
    path = "/api/v1/join-form"
    tags = ["panels"]
    guards = [requires(*ROLES)]

    @get("/", operation_id="listJoinForms")
    async def list_forms(self, services: ServicesDep) -> list[JoinFormOut]:
        """Every unit's join form: which background questions it asks and requires."""
        return await _join_forms(services)

    @put("/{unit:str}", operation_id="setJoinForm")
    async def set_form(
        self,
        request: Request[Any, Any, Any],
        unit: FromPath[str],
        data: JSONBody[JoinFormUpdate],
        services: ServicesDep,
    ) -> JoinFormOut:
        """Set background questions off, optional or required for a unit. Audited."""
        actor = actor_of(current_principal(request))
        return await _configure(services, actor, unit, data.fields.given())
