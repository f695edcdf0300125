"""Public panel routes: join (opt-in), decline, withdraw, RSVP. No sign-in, no JavaScript."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from server.auth.csrf import checked_form, issue
from server.panels import context, join_form, public_pages, rsvp, volunteers
from server.panels.crypto import cipher_from_settings
from server.panels.texts import t
from server.panels.volunteers import BackgroundField
from server.services import Services, ServicesDep

HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _lang(value: str | None) -> str:
    return value if value in public_pages.LANG_NAMES else "fi"


def _html(body: str, cookies: Any = (), status: int = 200) -> Response[str]:
    return Response(
        body,
        status_code=status,
        media_type="text/html; charset=utf-8",
        headers=HEADERS,
        cookies=list(cookies),
    )


async def _asked(
    services: Services, ctx: context.JoinContext
) -> dict[BackgroundField, join_form.Mode]:
    """The background questions of the unit the answer was given in."""
    catalog = await services.catalog.get(services.engine)
    unit_id = catalog.unit_id(ctx.unit)
    if unit_id is None:
        return {}
    async with services.session() as session:
        return await join_form.modes(session, unit_id)


class PanelPublicController(Controller):
    path = "/panels"
    include_in_schema = False

    @get("/join", operation_id="panelJoinPage")
    async def join_page(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        ctx: FromQuery[str] = "",
        lang: FromQuery[str | None] = None,
    ) -> Response[str]:
        language = _lang(lang)
        parsed = context.verify(services.settings.effective_secret_key, ctx)
        if parsed is None:
            return _html(public_pages.message_page(language, "invalid"), status=404)
        asked = await _asked(services, parsed)
        csrf, cookies = issue(request, services.settings)
        page = public_pages.join_page(
            language, ctx, csrf, parsed.sentiment is not None, asked=asked
        )
        return _html(page, cookies)

    @post("/join", operation_id="panelJoin", status_code=200)
    async def join(self, request: Request[Any, Any, Any], services: ServicesDep) -> Response[str]:
        settings = services.settings
        form = await checked_form(request, settings)
        language = _lang(str(form.get("language", "")))
        raw_ctx = str(form.get("ctx", ""))
        parsed = context.verify(settings.effective_secret_key, raw_ctx)
        if parsed is None:
            return _html(public_pages.message_page(language, "invalid"), status=404)
        opt_in = volunteers.OptIn(
            first_name=str(form.get("first_name", "")),
            phone=str(form.get("phone", "")),
            email=str(form.get("email", "")),
            language=language,
            background={k: str(form.get(k, "")) for k in volunteers.BACKGROUND_FIELDS},
            share_sentiment=form.get("share_sentiment") == "yes",
        )
        catalog = await services.catalog.get(services.engine)
        asked = await _asked(services, parsed)
        async with services.session() as session:
            try:
                token = await volunteers.opt_in(
                    session,
                    cipher_from_settings(settings),
                    catalog,
                    parsed,
                    opt_in,
                    dt.datetime.now(dt.UTC),
                    asked,
                )
            except volunteers.OptInError as exc:
                csrf, cookies = issue(request, settings)
                error = "error_background" if str(exc) == "background" else "error"
                page = public_pages.join_page(
                    language, raw_ctx, csrf, parsed.sentiment is not None, error, asked
                )
                return _html(page, cookies, status=422)
            await session.commit()
        url = f"{settings.public_url}/panels/withdraw/{token}"
        return _html(public_pages.joined_page(language, url))

    @get("/declined", operation_id="panelDeclined")
    async def declined(self, lang: FromQuery[str | None] = None) -> Response[str]:
        return _html(public_pages.message_page(_lang(lang), "declined"))

    @get("/withdraw/{token:str}", operation_id="panelWithdrawPage")
    async def withdraw_page(
        self,
        request: Request[Any, Any, Any],
        token: FromPath[str],
        services: ServicesDep,
        lang: FromQuery[str | None] = None,
    ) -> Response[str]:
        language = _lang(lang)
        csrf, cookies = issue(request, services.settings)
        page = public_pages.one_button_page(
            language,
            t("withdraw_q", language),
            f"/panels/withdraw/{token}",
            csrf,
            [("withdraw", t("withdraw", language))],
        )
        return _html(page, cookies)

    @post("/withdraw/{token:str}", operation_id="panelWithdraw", status_code=200)
    async def withdraw(
        self, request: Request[Any, Any, Any], token: FromPath[str], services: ServicesDep
    ) -> Response[str]:
        await checked_form(request, services.settings)
        async with services.session() as session:
            language = await volunteers.withdraw(session, token, dt.datetime.now(dt.UTC))
            await session.commit()
        if language is None:
            return _html(public_pages.message_page("fi", "invalid"), status=404)
        return _html(public_pages.message_page(_lang(language), "withdrawn"))

    @get("/rsvp/{token:str}", operation_id="panelRsvpPage")
    async def rsvp_page(
        self, request: Request[Any, Any, Any], token: FromPath[str], services: ServicesDep
    ) -> Response[str]:
        async with services.session() as session:
            found = await rsvp.lookup(session, token)
        if found is None:
            return _html(public_pages.message_page("fi", "invalid"), status=404)
        lang = found.language
        csrf, cookies = issue(request, services.settings)
        question = t("rsvp_q", lang).format(topic=found.topic, dates=", ".join(found.dates))
        page = public_pages.one_button_page(
            lang,
            question,
            f"/panels/rsvp/{token}",
            csrf,
            [
                ("accepted", t("accept", lang)),
                ("declined", t("decline_rsvp", lang)),
                ("withdraw", t("withdraw", lang)),
            ],
        )
        return _html(page, cookies)

    @post("/rsvp/{token:str}", operation_id="panelRsvp", status_code=200)
    async def rsvp_answer(
        self, request: Request[Any, Any, Any], token: FromPath[str], services: ServicesDep
    ) -> Response[str]:
        form = await checked_form(request, services.settings)
        choice = str(form.get("choice", ""))
        async with services.session() as session:
            outcome = await rsvp.answer(session, token, choice, dt.datetime.now(dt.UTC))
            await session.commit()
        if outcome is None:
            return _html(public_pages.message_page("fi", "invalid"), status=404)
        key = {"accepted": "accepted", "declined": "rsvp_declined", "withdraw": "withdrawn"}
        return _html(public_pages.message_page(outcome, key[choice]))
