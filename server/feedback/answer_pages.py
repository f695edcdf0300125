"""The pages behind SMS links: answer once, or stop further messages.

Pages are never cached or referred onwards (the URL holds the link token). Forms carry a
nonce derived from the token under the secret key, so only a page Kaiku rendered for this
link can post to it; the token in the path already keeps cross-site forms out.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from kiosk.answer_page import AnswerPage, render_answer_page, render_notice, render_opt_out_page
from kiosk.i18n import DEFAULT_LANGUAGE, LANGUAGES
from server.feedback import tokens
from server.feedback.invitations import AnswerForm, LinkView
from server.panels.context import join_url
from server.panels.public_pages import invite_block
from server.services import ServicesDep

HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
STATUS = {"stored": 200, "used": 409, "expired": 410, "unknown": 404, "opted_out": 200}


def html_page(body: str, status: int = 200) -> Response[str]:
    """A client page: never cached, never referred onwards, no third-party resources."""
    return Response(
        body, status_code=status, media_type="text/html; charset=utf-8", headers=HEADERS
    )


def _lang(requested: str | None, view: LinkView | None) -> str:
    if requested in LANGUAGES:
        return str(requested)
    return view.language if view else DEFAULT_LANGUAGE


class AnswerPageController(Controller):
    path = "/a"
    tags = ["answer pages"]
    include_in_schema = False

    async def _org(self, services: ServicesDep) -> dict[str, str]:
        return dict((await services.catalog.get(services.engine)).organisation_names)

    async def _page(
        self, services: ServicesDep, token: str, view: LinkView, lang: str, error: bool = False
    ) -> AnswerPage:
        key = services.settings.effective_secret_key
        step = view.step
        service = {
            code: f"{name} – {step.names[code]}" if step and step.names.get(code) else name
            for code, name in view.path.names.items()
        }
        return AnswerPage(
            organisation=await self._org(services),
            service=service,
            scale="nps" if view.path.scale == "nps" else "fft",
            reasons=view.path.reasons,
            comments=view.path.comments,
            nonce=tokens.form_nonce(key, view.token_hash),
            action=f"/a/{token}",
            opt_out=f"/a/{token}/stop",
            error=error,
        )

    @get("/{token:str}", operation_id="answerPage")
    async def show(
        self, token: FromPath[str], services: ServicesDep, lang: FromQuery[str | None] = None
    ) -> Response[str]:
        view = await services.invitations.view(token)
        language = _lang(lang, view)
        if view is None or view.status != "open":
            kind = view.status if view else "unknown"
            return html_page(render_notice(kind, await self._org(services), language), STATUS[kind])
        return html_page(
            render_answer_page(await self._page(services, token, view, language), language)
        )

    @post("/{token:str}", operation_id="answerSubmit", status_code=200)
    async def submit(
        self, request: Request[Any, Any, Any], token: FromPath[str], services: ServicesDep
    ) -> Response[str]:
        form = await request.form()
        view = await services.invitations.view(token)
        language = _lang(str(form.get("lang", "")), view)
        org = await self._org(services)
        if view is None:
            return html_page(render_notice("unknown", org, language), 404)
        key = services.settings.effective_secret_key
        if not tokens.nonce_ok(key, view.token_hash, str(form.get("nonce", ""))):
            return html_page(render_notice("unknown", org, language), 403)
        rating = str(form.get("rating", ""))
        answer = AnswerForm(
            rating=rating,
            reasons=[str(r) for r in form.getall("reason", [])],
            comment=str(form.get("comment", "")) or None,
        )
        status = await services.invitations.answer(token, answer, language) if rating else "invalid"
        if status == "invalid":
            if view.status != "open":
                return html_page(render_notice(view.status, org, language), STATUS[view.status])
            page = await self._page(services, token, view, language, error=True)
            return html_page(render_answer_page(page, language), 422)
        kind = "thanks" if status == "stored" else status
        step_code = view.step.code if view.step else None
        key = services.settings.effective_secret_key
        join = join_url(key, view.path.unit_code, "sms", view.path.code, step_code, rating)
        panel = invite_block(language, join) if kind == "thanks" else None
        return html_page(render_notice(kind, org, language, panel), STATUS[status])

    @get("/{token:str}/stop", operation_id="optOutPage")
    async def stop_page(
        self, token: FromPath[str], services: ServicesDep, lang: FromQuery[str | None] = None
    ) -> Response[str]:
        view = await services.invitations.view(token)
        language = _lang(lang, view)
        org = await self._org(services)
        if view is None:
            return html_page(render_notice("unknown", org, language), 404)
        if not view.can_opt_out:
            return html_page(render_notice("expired", org, language), STATUS["expired"])
        nonce = tokens.form_nonce(services.settings.effective_secret_key, view.token_hash)
        return html_page(render_opt_out_page(org, f"/a/{token}/stop", nonce, language))

    @post("/{token:str}/stop", operation_id="optOut", status_code=200)
    async def stop(
        self, request: Request[Any, Any, Any], token: FromPath[str], services: ServicesDep
    ) -> Response[str]:
        form = await request.form()
        view = await services.invitations.view(token)
        language = _lang(str(form.get("lang", "")), view)
        org = await self._org(services)
        key = services.settings.effective_secret_key
        if view is None or not tokens.nonce_ok(key, view.token_hash, str(form.get("nonce", ""))):
            return html_page(render_notice("unknown", org, language), 404)
        if not await services.invitations.opt_out(token):  # the link is over: hash purged
            return html_page(render_notice("expired", org, language), STATUS["expired"])
        return html_page(render_notice("opted_out", org, language))
