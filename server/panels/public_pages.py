"""Pages for the public: the join form, its outcomes, withdrawal and RSVP.

Server-rendered, no JavaScript, large tap targets via the kiosk stylesheet; every form
posts with a CSRF token so another site cannot sign someone up or out.
"""

from __future__ import annotations

from collections.abc import Mapping

import htpy as h
import segno
from markupsafe import Markup

from kiosk.pages import STATIC_URL
from server.auth.pages import csrf_input
from server.panels import consent
from server.panels.texts import t
from server.panels.volunteers import BACKGROUND_FIELDS, BackgroundField

LANG_NAMES = {"fi": "suomi", "sv": "svenska", "en": "English"}


def document(lang: str, *body: h.Node) -> str:
    return str(
        h.html(lang=lang)[
            h.head[
                h.meta(charset="utf-8"),
                h.meta(name="viewport", content="width=device-width, initial-scale=1"),
                h.meta(name="referrer", content="no-referrer"),
                h.meta(name="robots", content="noindex"),
                h.title[t("title", lang)],
                h.link(rel="icon", href="data:,"),
                h.link(rel="stylesheet", href=f"{STATIC_URL}/kiosk.css"),
            ],
            h.body(".phone")[h.main[body]],
        ]
    )


def message_page(lang: str, key: str, extra: h.Node = None) -> str:
    return document(lang, h.h1[t("title", lang)], h.p(role="status")[t(key, lang)], extra)


def _field(name: str, label: str, **attrs: str | bool) -> h.Element:
    return h.p[h.label(for_=name)[label], h.br, h.input(id=name, name=name, **attrs)]


def _background(lang: str, asked: Mapping[BackgroundField, str]) -> list[h.Element]:
    """The background questions the unit asks, each labelled optional or required."""
    out = []
    for name, allowed in BACKGROUND_FIELDS.items():
        mode = asked.get(name, "optional")
        if mode == "off":
            continue
        required = mode == "required"
        label = f"{t(name, lang)} {t(mode, lang)}"
        if allowed:
            control = h.select(id=name, name=name, required=required)[
                h.option(value="")["–"], (h.option(value=v)[v] for v in allowed)
            ]
            out.append(h.p[h.label(for_=name)[label], h.br, control])
        else:
            out.append(_field(name, label, maxlength="80", required=required))
    return out


def join_page(
    lang: str,
    ctx: str,
    csrf: str,
    has_sentiment: bool,
    error: str = "",
    asked: Mapping[BackgroundField, str] | None = None,
) -> str:
    """``error``: the text key of what was wrong; ``asked``: the unit's background fields."""
    text = consent.consent_text(lang)
    described = {"aria-describedby": "join-error"} if error else {}
    return document(
        lang,
        h.h1[t("invite", lang)],
        h.p[t("invite_hint", lang)],
        error and h.p("#join-error.error", role="alert")[t(error, lang)],
        h.form(method="post", action="/panels/join")[
            csrf_input(csrf),
            h.input(type="hidden", name="ctx", value=ctx),
            h.input(type="hidden", name="consent_version", value=consent.CURRENT_VERSION),
            _field(
                "first_name",
                t("name", lang),
                required=True,
                autocomplete="given-name",
                maxlength="60",
                **described,
            ),
            h.p("#contact-hint.hint")[t("contact_hint", lang)],
            _field(
                "phone",
                t("phone", lang),
                type="tel",
                autocomplete="tel",
                aria_describedby="contact-hint",
            ),
            _field(
                "email",
                t("email", lang),
                type="email",
                autocomplete="email",
                aria_describedby="contact-hint",
            ),
            h.p[
                h.label(for_="language")[t("language", lang)],
                h.br,
                h.select(id="language", name="language")[
                    (h.option(value=c, selected=c == lang)[n] for c, n in LANG_NAMES.items())
                ],
            ],
            _background(lang, asked or {}),
            has_sentiment
            and h.p[
                h.label(".check")[
                    h.input(type="checkbox", name="share_sentiment", value="yes"),
                    " ",
                    t("share", lang),
                ]
            ],
            h.h2[t("consent", lang)],
            h.p("#consent-text")[text],
            h.button(".primary", type="submit", aria_describedby="consent-text")[t("agree", lang)],
        ],
        h.p[h.a(".secondary", href=f"/panels/declined?lang={lang}")[t("decline", lang)]],
    )


def joined_page(lang: str, withdraw_url: str) -> str:
    return message_page(
        lang, "joined", h.p[t("keep_link", lang), " ", h.a(href=withdraw_url)[withdraw_url]]
    )


def one_button_page(
    lang: str, question: str, action: str, csrf: str, buttons: list[tuple[str, str]]
) -> str:
    """A question with one form per choice: each choice is a single tap."""
    return document(
        lang,
        h.h1[t("title", lang)],
        h.p[question],
        (
            h.form(method="post", action=action)[
                csrf_input(csrf),
                h.input(type="hidden", name="choice", value=value),
                h.button(".primary", type="submit")[label],
            ]
            for value, label in buttons
        ),
    )


def panel_language(lang: str) -> str:
    """Client languages without panel texts fall back: selkosuomi to Finnish, others to English."""
    if lang in LANG_NAMES:
        return lang
    return "fi" if lang.startswith("fi") else "en"


def invite_block(lang: str, url: str) -> h.Element:
    """The optional, clearly separate invitation under a thank-you (declining = ignoring it)."""
    lang = panel_language(lang)
    return h.div(".panel-invite")[
        h.h2("#panel-invite")[t("invite", lang)],
        h.p[t("invite_hint", lang)],
        h.p[h.a(".secondary", href=f"{url}&lang={lang}")[t("join", lang)]],
    ]


def kiosk_invite_block(absolute_url: str, lang: str) -> h.Element:
    """On a shared tablet the join form opens on the client's own phone via a QR code,
    so no contact details are ever typed on the tablet."""
    lang = panel_language(lang)
    qr = segno.make(f"{absolute_url}&lang={lang}", error="m")
    svg = qr.svg_inline(scale=3, dark="#000", light="#fff", omitsize=False)
    return h.div(".panel-invite")[
        h.h2("#panel-invite")[t("invite", lang)],
        h.p[t("invite_hint", lang), " ", t("scan", lang)],
        h.div(role="img", aria_label=t("scan", lang))[Markup(svg)],  # noqa: S704 -- segno output
    ]
