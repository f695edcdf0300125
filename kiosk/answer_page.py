"""The SMS answer page: the kiosk's question rendered for a phone, answerable without JS.

One plain ``<form method="post">`` holds the answer (radio faces or 0–10), the optional
reasons and comment, and a per-link nonce; the same htpy components and catalogs as the
kiosk give the same languages, pictures and accessible names. No scripts, no third-party
resources; the server adds ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import htpy as h

from kiosk import components as c
from kiosk.i18n import N_, Gettext, gettext_for, language, localised
from kiosk.pages import STATIC_URL

NOTICES: dict[str, tuple[str, str]] = {
    "thanks": (
        N_("Thank you for your answer!"),
        N_("Your answer helps us improve our services."),
    ),
    "used": (
        N_("This link has already been used"),
        N_("Each answer link works once. Thank you, your answer was received."),
    ),
    "expired": (
        N_("This link has expired"),
        N_("The time to answer with this link has ended. Thank you all the same."),
    ),
    "unknown": (
        N_("Link not found"),
        N_("Check that the whole address from the text message is in the address bar."),
    ),
    "opted_out": (
        N_("You will not get feedback messages"),
        N_("We will not send feedback requests to your number any more."),
    ),
    "answered_today": (
        N_("You have already answered today"),
        N_("Thank you! You can give feedback on this service again tomorrow."),
    ),
}


@dataclass(frozen=True)
class AnswerPage:
    """Everything the page shows for one open link."""

    organisation: Mapping[str, str]
    service: Mapping[str, str]
    scale: str
    reasons: Sequence[str]
    comments: bool
    nonce: str
    action: str
    opt_out: str | None = None
    error: bool = False
    nonce_field: str = "nonce"
    answer_id: str | None = None


def _document(lang: str, title: str, organisation: Mapping[str, str], body: h.Node) -> str:
    info = language(lang)
    org = localised(organisation, lang) if organisation else ""
    return str(
        h.html(lang=info.html_lang, dir=info.dir)[
            h.head[
                h.meta(charset="utf-8"),
                h.meta(name="viewport", content="width=device-width, initial-scale=1"),
                h.meta(name="referrer", content="no-referrer"),
                h.title[f"{title} – {org}" if org else title],
                h.link(rel="icon", href="data:,"),
                h.link(rel="stylesheet", href=f"{STATIC_URL}/kiosk.css"),
            ],
            h.body(".phone")[h.header(".top")[h.p(".org")[org]], h.main[body]],
        ]
    )


def _choices(_: Gettext, scale: str) -> h.Element:
    if scale == "nps":
        return h.fieldset(".answers.scale")[
            h.legend(".sr-only")[_("0 = Not at all likely")],
            (
                h.label(".answer.n")[
                    h.input(type="radio", name="rating", value=v, required=True), v
                ]
                for v in c.NPS_VALUES
            ),
            h.p(".ends")[_("0 = Not at all likely"), " · ", _("10 = Extremely likely")],
        ]
    return h.fieldset(".answers.fft")[
        h.legend(".sr-only")[_("Overall, how was your experience of our service?")],
        (
            h.label(f".answer.a-{o.value}")[
                h.input(type="radio", name="rating", value=o.value, required=True),
                c.picture(f"face-{o.value}", "face"),
                h.span(".word")[_(o.label)],
            ]
            for o in c.FFT_OPTIONS
        ),
    ]


def render_answer_page(page: AnswerPage, lang: str) -> str:
    _ = gettext_for(lang)
    question = (
        _("How likely would you recommend our service to your friends or family?")
        if page.scale == "nps"
        else _("Overall, how was your experience of our service?")
    )
    body = [
        c.sprite([], faces=True),
        h.p(".service-name")[localised(page.service, lang)],
        c.heading(question, "q"),
        page.error and h.p(".error", role="alert")[_("Please choose an answer.")],
        h.form(method="post", action=page.action)[
            h.input(type="hidden", name=page.nonce_field, value=page.nonce),
            h.input(type="hidden", name="lang", value=lang),
            page.answer_id and h.input(type="hidden", name="answer_id", value=page.answer_id),
            _choices(_, page.scale),
            page.reasons
            and h.fieldset(".reasons")[
                h.legend[_("What mattered most?")],
                (
                    h.label(".reason")[
                        h.input(type="checkbox", name="reason", value=code),
                        h.span[c.reason_label(_, code)],
                    ]
                    for code in page.reasons
                ),
            ],
            page.comments
            and h.div(".comment")[
                h.label(for_="comment")[_("Comment (optional)")],
                h.p("#comment-hint.hint")[
                    _("Please do not write your name or other personal details.")
                ],
                h.textarea(
                    "#comment",
                    name="comment",
                    maxlength="500",
                    rows="3",
                    aria_describedby="comment-hint",
                ),
            ],
            h.button(".primary", type="submit")[_("Send")],
        ],
        page.opt_out and h.p(".hint")[h.a(href=page.opt_out)[_("Don't send me feedback requests")]],
    ]
    return _document(lang, _("Feedback"), page.organisation, body)


def render_opt_out_page(organisation: Mapping[str, str], action: str, nonce: str, lang: str) -> str:
    """One button: the number behind this link goes on the do-not-contact list."""
    _ = gettext_for(lang)
    body = [
        c.heading(_("Stop feedback messages?"), "q"),
        h.p[_("We will not send feedback requests to your number any more.")],
        h.form(method="post", action=action)[
            h.input(type="hidden", name="nonce", value=nonce),
            h.input(type="hidden", name="lang", value=lang),
            h.button(".primary", type="submit")[_("Stop messages")],
        ],
    ]
    return _document(lang, _("Feedback"), organisation, body)


def render_notice(
    kind: str, organisation: Mapping[str, str], lang: str, extra: h.Node = None
) -> str:
    """A friendly full page for thanks, used, expired or unknown links and opt-out."""
    _ = gettext_for(lang)
    title, text = NOTICES[kind]
    body = [c.heading(_(title), "q"), h.p[_(text)], extra]
    return _document(lang, _(title), organisation, body)
