"""QR-code posters per service path, and the phone answer page they open (channel ``qr``).

A poster in the waiting room or on a door links to ``/q/{unit}/{path}[?step=…]``. The
page is the SMS answer page without a link token: it needs no JavaScript, carries a
CSRF token and a fresh answer id (so a double tap stores one answer), and allows one
answer per phone per path per day through a signed cookie — nothing that identifies
the phone is stored on the server.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import segno
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery

from kiosk.answer_page import AnswerPage, render_answer_page, render_notice
from kiosk.i18n import DEFAULT_LANGUAGE, LANGUAGES
from server.auth.controllers import PAGE_EXCEPTION_HANDLERS, requires_page
from server.auth.csrf import CSRF_FIELD, checked_form, issue
from server.auth.roles import Role
from server.catalog.lookup import CatalogSnapshot, PathInfo, StepInfo
from server.errors import Problem
from server.feedback.answer_pages import html_page
from server.feedback.ingest import Origin
from server.feedback.schemas import ResponseIn
from server.panels.context import join_url
from server.panels.public_pages import invite_block
from server.services import Services, ServicesDep
from server.settings import Settings

HELSINKI = ZoneInfo("Europe/Helsinki")


def _target(
    catalog: CatalogSnapshot, unit: str, path: str, step: str | None
) -> tuple[int, PathInfo, StepInfo | None]:
    unit_id = catalog.unit_id(unit)
    info = catalog.path(unit_id, path) if unit_id is not None else None
    if unit_id is None or info is None:
        raise Problem(404, "unknown-path", f"No service path {unit}/{path}.")
    step_info = info.steps.get(step) if step else None
    if step and step_info is None:
        raise Problem(404, "unknown-step", f"No step {step!r} on {unit}/{path}.")
    return unit_id, info, step_info


def answer_url(settings: Settings, unit: str, path: str, step: str | None) -> str:
    return f"{settings.public_url}/q/{unit}/{path}" + (f"?step={step}" if step else "")


def _today() -> str:
    return dt.datetime.now(HELSINKI).date().isoformat()


def _cookie_name(unit: str, path: str) -> str:
    return "kaiku_qr_" + hashlib.sha256(f"{unit}/{path}".encode()).hexdigest()[:12]


def _day_mark(settings: Settings, unit: str, path: str, day: str) -> str:
    key = settings.effective_secret_key.encode()
    digest = hmac.new(key, f"qr:{unit}/{path}:{day}".encode(), hashlib.sha256).hexdigest()
    return f"{day}.{digest[:24]}"


def answered_today(
    request: Request[Any, Any, Any], settings: Settings, unit: str, path: str
) -> bool:
    presented = request.cookies.get(_cookie_name(unit, path), "")
    return hmac.compare_digest(presented, _day_mark(settings, unit, path, _today()))


def _language(requested: str | None) -> str:
    return requested if requested in LANGUAGES else DEFAULT_LANGUAGE


class QrAnswerController(Controller):
    path = "/q"
    tags = ["answer pages"]
    include_in_schema = False

    async def _page(
        self,
        services: Services,
        request: Request[Any, Any, Any],
        unit: str,
        path: str,
        step: str | None,
        lang: str,
        error: bool = False,
    ) -> Response[str]:
        catalog = await services.catalog.get(services.engine)
        _, info, step_info = _target(catalog, unit, path, step)
        organisation = dict(catalog.organisation_names)
        if answered_today(request, services.settings, unit, path):
            return html_page(render_notice("answered_today", organisation, lang), 409)
        csrf, cookies = issue(request, services.settings)
        service = {
            code: f"{name} – {step_info.names[code]}" if step_info else name
            for code, name in info.names.items()
        }
        page = AnswerPage(
            organisation=organisation,
            service=service,
            scale="nps" if info.scale == "nps" else "fft",
            reasons=info.reasons,
            comments=info.comments,
            nonce=csrf,
            nonce_field=CSRF_FIELD,
            action=answer_url(services.settings, unit, path, step).removeprefix(
                services.settings.public_url
            ),
            answer_id=str(uuid.uuid4()),
            error=error,
        )
        response = html_page(render_answer_page(page, lang), 422 if error else 200)
        response.cookies.extend(cookies)
        return response

    @get("/{unit:str}/{path:str}", operation_id="qrAnswerPage")
    async def show(
        self,
        request: Request[Any, Any, Any],
        unit: FromPath[str],
        path: FromPath[str],
        services: ServicesDep,
        step: FromQuery[str | None] = None,
        lang: FromQuery[str | None] = None,
    ) -> Response[str]:
        return await self._page(services, request, unit, path, step, _language(lang))

    @post("/{unit:str}/{path:str}", operation_id="qrAnswerSubmit", status_code=200)
    async def submit(
        self,
        request: Request[Any, Any, Any],
        unit: FromPath[str],
        path: FromPath[str],
        services: ServicesDep,
        step: FromQuery[str | None] = None,
    ) -> Response[str]:
        settings = services.settings
        form = await checked_form(request, settings)
        lang = _language(str(form.get("lang", "")))
        catalog = await services.catalog.get(services.engine)
        unit_id, info, step_info = _target(catalog, unit, path, step)
        organisation = dict(catalog.organisation_names)
        if answered_today(request, settings, unit, path):
            return html_page(render_notice("answered_today", organisation, lang), 409)
        try:
            item = msgspec.convert(
                {
                    "id": str(form.get("answer_id", "")),
                    "path": info.code,
                    "step": step_info.code if step_info else None,
                    "rating": str(form.get("rating", "")),
                    "reasons": [str(r) for r in form.getall("reason", [])],
                    "comment": str(form.get("comment", "")) or None,
                    "language": lang,
                    "answered_at": dt.datetime.now(dt.UTC),
                },
                ResponseIn,
            )
        except msgspec.ValidationError:
            return await self._page(services, request, unit, path, step, lang, error=True)
        origin = Origin(unit_id=unit_id, channel="qr", contact_mode="in_person")
        [result] = await services.ingest.ingest(origin, [item])
        if result.status == "rejected":
            return await self._page(services, request, unit, path, step, lang, error=True)
        step_code = step_info.code if step_info else None
        join = join_url(
            settings.effective_secret_key, unit, "qr", info.code, step_code, item.rating
        )
        panel = invite_block(lang, join)
        response = html_page(render_notice("thanks", organisation, lang, panel))
        response.cookies.append(
            Cookie(
                key=_cookie_name(unit, path),
                value=_day_mark(settings, unit, path, _today()),
                max_age=36 * 3600,
                path=f"/q/{unit}/{path}",
                httponly=True,
                samesite="lax",
                secure=settings.public_url.startswith("https"),
            )
        )
        return response


def poster_svg(url: str, names: dict[str, str], step_names: dict[str, str] | None) -> str:
    """An A4 poster: the question in fi/sv/en, the service, the QR code and its address."""
    qr = segno.make(url, error="m")
    modules = "".join(
        f"M{x},{y}h1v1h-1z" for y, row in enumerate(qr.matrix) for x, dark in enumerate(row) if dark
    )
    size = len(qr.matrix)
    scale = 150 / size
    lines = [
        ("Kerro kokemuksesi", 24, 12),
        ("Berätta om din upplevelse · Tell us about your experience", 34, 6),
    ]
    for offset, code in enumerate(("fi", "sv", "en")):
        label = names.get(code, "")
        if step_names and step_names.get(code):
            label = f"{label} – {step_names[code]}"
        lines.append((label, 48 + offset * 8, 6))
    text = "".join(
        f'<text x="105" y="{y}" font-size="{fs}" text-anchor="middle">{escape(t)}</text>'
        for t, y, fs in lines
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" '
        'viewBox="0 0 210 297" role="img" aria-label="Feedback QR code poster">'
        '<rect width="210" height="297" fill="#fff"/>'
        f'<g font-family="sans-serif" fill="#111">{text}</g>'
        f'<g transform="translate(30,80) scale({scale:.5f})">'
        f'<path d="{modules}" fill="#000"/></g>'
        f'<text x="105" y="250" font-size="5" text-anchor="middle" '
        f'font-family="monospace">{escape(url)}</text>'
        "</svg>"
    )


class QrPosterController(Controller):
    path = "/admin/qr"
    tags = ["admin"]
    include_in_schema = False
    guards = [requires_page(Role.ADMIN, Role.MANAGER)]
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("/{unit:str}/{path:str}", operation_id="qrPoster")
    async def poster(
        self,
        unit: FromPath[str],
        path: FromPath[str],
        services: ServicesDep,
        step: FromQuery[str | None] = None,
    ) -> Response[str]:
        catalog = await services.catalog.get(services.engine)
        _, info, step_info = _target(catalog, unit, path, step)
        url = answer_url(services.settings, unit, path, step)
        svg = poster_svg(url, dict(info.names), dict(step_info.names) if step_info else None)
        return Response(
            svg,
            media_type="image/svg+xml",
            headers={
                "Content-Disposition": f'inline; filename="kaiku-{unit}-{path}.svg"',
                "Cache-Control": "no-store",
            },
        )
