"""The kiosk page: one server-rendered HTML document holding every screen.

The server builds a :class:`KioskConfig` and calls :func:`render_kiosk_page`.
All screens are in the document (hidden but one) so the answer flow runs with
no further requests; the script switches screens and keeps answers in an
IndexedDB outbox. Settings and the few texts the script needs travel in a JSON
data block, never in inline executable script (the CSP forbids it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import htpy as h
from markupsafe import Markup

from kiosk import components as c
from kiosk.i18n import DEFAULT_LANGUAGE, LANGUAGES, Gettext, gettext_for, language, localised

STATIC_DIR: Path = Path(__file__).parent / "static"
SERVICE_WORKER_PATH: Path = STATIC_DIR / "sw.js"
STATIC_URL = "/static"
API = {
    "pair": "/api/v1/kiosks/pair",
    "batch": "/api/v1/responses/batch",
    "heartbeat": "/api/v1/kiosks/heartbeat",
}


@dataclass(frozen=True)
class ServiceChoice:
    """One path (and optional step) a client can give feedback on at this kiosk."""

    path: str
    step: str | None
    names: Mapping[str, str]
    icon: str
    scale: Literal["fft", "nps"]
    reasons: tuple[str, ...]
    comments: bool


@dataclass(frozen=True)
class KioskConfig:
    """Everything the page needs about one kiosk; built by the server per request."""

    kiosk: str
    organisation: Mapping[str, str]
    services: tuple[ServiceChoice, ...]
    inactivity_seconds: int = 60
    thank_you_seconds: int = 5
    heartbeat_seconds: int = 60
    version: str = "0.1.0"
    warning_seconds: int = 20
    default_language: str = DEFAULT_LANGUAGE
    thanks_extra: Callable[[str], h.Node] | None = None  # e.g. the panel invitation, per language


def home_url(config: KioskConfig) -> str:
    return f"/k/{quote(config.kiosk, safe='')}"


def language_url(config: KioskConfig, code: str) -> str:
    """The default language is the bare kiosk URL, so "start again" lands on one cached page."""
    home = home_url(config)
    return home if code == config.default_language else f"{home}?lang={code}"


def client_config(config: KioskConfig, lang: str) -> dict[str, Any]:
    """The JSON handed to kiosk.js: settings, endpoints and the texts the script shows."""
    _ = gettext_for(lang)
    return {
        "kiosk": config.kiosk,
        "lang": lang,
        "default_language": config.default_language,
        "speech_lang": language(lang).speech_lang,
        "version": config.version,
        "inactivity_seconds": config.inactivity_seconds,
        "thank_you_seconds": config.thank_you_seconds,
        "heartbeat_seconds": config.heartbeat_seconds,
        "warning_seconds": config.warning_seconds,
        "home": home_url(config),
        "service_worker": "/k/sw.js",
        "api": API,
        "services": [
            {
                "path": s.path,
                "step": s.step,
                "name": localised(s.names, lang),
                "scale": s.scale,
                "reasons": list(s.reasons),
                "comments": s.comments,
            }
            for s in config.services
        ],
        "texts": {
            "pair_rejected": _("The code was not accepted. Check the code and try again."),
            "pair_offline": _("Cannot reach the server. Check the network and try again."),
            "thanks": _("Thank you for your answer!"),
        },
    }


def config_json(data: Mapping[str, Any]) -> Markup:
    """JSON safe inside ``<script>``: ``<`` escaped so no ``</script>`` can end the block."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    safe = text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(safe)  # noqa: S704 -- no "<" left, so nothing can close the script element


def service_screen(_: Gettext, config: KioskConfig, lang: str, *, visible: bool) -> h.Element:
    return c.screen("screen-service", visible=visible, labelled_by="q-service")[
        c.heading(_("Which service did you use today?"), "q-service"),
        h.div(".services")[
            (
                h.button(".answer.service", type="button", data_service=str(index))[
                    c.picture(c.icon_ref(s.icon), "icon"),
                    h.span(".word")[localised(s.names, lang)],
                ]
                for index, s in enumerate(config.services)
            )
        ],
    ]


def enrol_screen(_: Gettext) -> h.Element:
    return c.screen("screen-enrol", visible=False, labelled_by="q-enrol")[
        c.heading(_("Enrol this tablet"), "q-enrol"),
        h.p[_("Staff: create a pairing code in Kaiku administration and enter it here.")],
        h.form("#enrol-form", novalidate=True)[
            h.label(for_="pair-code")[_("Pairing code")],
            h.input(
                "#pair-code",
                name="code",
                autocomplete="off",
                autocapitalize="characters",
                spellcheck="false",
                required=True,
                aria_describedby="pair-error",
            ),
            h.p("#pair-error.error", role="alert"),
            h.button(".primary", type="submit")[_("Enrol")],
        ],
    ]


def out_of_use_screen(_: Gettext) -> h.Element:
    return c.screen("screen-out", visible=False, labelled_by="q-out")[
        c.heading(_("This tablet is out of use"), "q-out"),
        h.p[_("Thank you. You can give feedback to the staff.")],
        h.p(".hint")[
            _("Staff: answers given earlier are kept on this tablet. Enrol it again to send them.")
        ],
        h.button(".secondary", type="button", data_action="enrol")[_("Enrol again")],
    ]


def inactivity_dialog(_: Gettext) -> h.Element:
    before, _sep, after = _("This answer will close in {seconds} seconds.").partition("{seconds}")
    return h.dialog(
        "#idle", role="alertdialog", aria_labelledby="idle-title", aria_describedby="idle-text"
    )[
        h.h2("#idle-title")[_("Are you still there?")],
        h.p("#idle-text")[before, h.span("#idle-count"), after],
        h.button(".primary", type="button", data_action="continue")[_("Continue")],
    ]


def header(_: Gettext, config: KioskConfig, lang: str) -> h.Element:
    hrefs = {code: language_url(config, code) for code in LANGUAGES}
    return h.header(".top")[
        h.p(".org")[localised(config.organisation, lang)],
        c.language_switch(_, language(lang), hrefs),
        h.button("#listen.secondary", type="button", hidden=True)[
            c.picture("icon-speaker", "icon"), h.span[_("Listen")]
        ],
    ]


def render_kiosk_page(config: KioskConfig, lang: str) -> str:
    """The whole kiosk document for one kiosk in one language."""
    lang_info = language(lang)
    _ = gettext_for(lang)
    several = len(config.services) > 1
    scales = {s.scale for s in config.services}
    first_scale = config.services[0].scale if config.services else "fft"
    reason_codes = list(dict.fromkeys(r for s in config.services for r in s.reasons))
    title = _("Feedback")
    page = h.html(lang=lang_info.html_lang, dir=lang_info.dir)[
        h.head[
            h.meta(charset="utf-8"),
            h.meta(name="viewport", content="width=device-width, initial-scale=1"),
            h.title[f"{title} – {localised(config.organisation, lang)}"],
            h.link(rel="icon", href="data:,"),
            h.link(rel="stylesheet", href=f"{STATIC_URL}/kiosk.css"),
            h.script(type="module", src=f"{STATIC_URL}/kiosk.js"),
        ],
        h.body[
            c.sprite([*(s.icon for s in config.services), "speaker"], faces=True),
            header(_, config, lang),
            h.main[
                several and service_screen(_, config, lang, visible=True),
                (
                    c.rating_screen(
                        _, scale, visible=not several and scale == first_scale, with_back=several
                    )
                    for scale in ("fft", "nps")
                    if scale in scales
                ),
                c.follow_up_screen(_, reason_codes),
                c.thanks_screen(_, config.thanks_extra and config.thanks_extra(lang)),
                enrol_screen(_),
                out_of_use_screen(_),
            ],
            inactivity_dialog(_),
            h.div("#live.sr-only", role="status", aria_live="polite"),
            h.script("#kiosk-config", type="application/json")[
                config_json(client_config(config, lang))
            ],
        ],
    ]
    return str(page)
