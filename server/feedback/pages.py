"""Client-facing kiosk page and its service worker (rendered by ``kiosk.pages``)."""

from __future__ import annotations

from functools import partial

from litestar import Controller, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import File

from kiosk.i18n import DEFAULT_LANGUAGE, LANGUAGES
from kiosk.pages import SERVICE_WORKER_PATH, KioskConfig, ServiceChoice, render_kiosk_page
from server.catalog.lookup import CatalogSnapshot, KioskInfo
from server.errors import Problem
from server.panels.context import join_url
from server.panels.public_pages import kiosk_invite_block
from server.services import ServicesDep


def kiosk_config(catalog: CatalogSnapshot, kiosk: KioskInfo, services: ServicesDep) -> KioskConfig:
    """What the tablet needs to know: its services in client language, and its timings."""
    choices = []
    for service in kiosk.services:
        path = catalog.path(kiosk.unit_id, str(service["path"]))
        if path is None:
            continue
        step = path.steps.get(str(service.get("step"))) if service.get("step") else None
        names = {
            lang: f"{path.names[lang]} – {step.names[lang]}" if step else path.names[lang]
            for lang in path.names
        }
        choices.append(
            ServiceChoice(
                path=path.code,
                step=step.code if step else None,
                names=names,
                icon=step.icon if step else "info",
                scale="nps" if path.scale == "nps" else "fft",
                reasons=path.reasons,
                comments=path.comments,
            )
        )
    settings = services.settings
    single = choices[0] if len(choices) == 1 else None
    join = join_url(
        settings.effective_secret_key,
        catalog.units.get(kiosk.unit_id, ""),
        "kiosk",
        single.path if single else None,
        single.step if single else None,
    )
    return KioskConfig(
        kiosk=kiosk.code,
        organisation=catalog.organisation_names,
        services=tuple(choices),
        inactivity_seconds=settings.kiosk_inactivity_seconds,
        thank_you_seconds=settings.kiosk_thank_you_seconds,
        thanks_extra=partial(kiosk_invite_block, settings.public_url + join),
    )


class KioskPageController(Controller):
    path = "/k"
    tags = ["kiosk pages"]
    include_in_schema = False

    @get("/sw.js", operation_id="kioskServiceWorker", sync_to_thread=False)
    def service_worker(self) -> File:
        return File(
            SERVICE_WORKER_PATH,
            content_disposition_type="inline",
            media_type="text/javascript",
            headers={"Service-Worker-Allowed": "/k/", "Cache-Control": "no-cache"},
        )

    @get("/{kiosk_code:str}", operation_id="kioskPage")
    async def page(
        self,
        kiosk_code: FromPath[str],
        services: ServicesDep,
        lang: FromQuery[str] = DEFAULT_LANGUAGE,
    ) -> Response[str]:
        catalog = await services.catalog.get(services.engine)
        kiosk = catalog.kiosks_by_code.get(kiosk_code)
        if kiosk is None:
            raise Problem(404, "unknown-kiosk", f"No kiosk {kiosk_code!r} in the catalog.")
        if lang not in LANGUAGES:
            lang = DEFAULT_LANGUAGE
        html = render_kiosk_page(kiosk_config(catalog, kiosk, services), lang)
        return Response(
            html, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"}
        )
