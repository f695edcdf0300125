"""Answer-flow building blocks shared by the kiosk and (later) the SMS answer page.

Every function takes the render-time ``gettext`` as ``_`` so Babel extracts the
texts, and returns htpy nodes. Pictures are inline SVG (one ``<symbol>`` each,
referenced with ``<use>``) so the first load needs no extra requests, and they
are ``aria-hidden``: the visible word is always the accessible name, so colour
and faces are never the only cue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import htpy as h
from markupsafe import Markup

from kiosk.i18n import LANGUAGES, N_, Gettext, Language


@dataclass(frozen=True)
class Option:
    """One FFT answer option: wire value, English msgid, and its face."""

    value: str
    label: str
    face: str


FFT_OPTIONS: tuple[Option, ...] = (
    Option("very_good", N_("Very good"), '<path d="M13 27h22a11 11 0 0 1-22 0z"/>'),
    Option("good", N_("Good"), '<path class="l" d="M15 29q9 8 18 0"/>'),
    Option("neither", N_("Neither good nor poor"), '<path class="l" d="M16 32h16"/>'),
    Option("poor", N_("Poor"), '<path class="l" d="M15 34q9-7 18 0"/>'),
    Option("very_poor", N_("Very poor"), '<path d="M13 37a11 11 0 0 1 22 0z"/>'),
    Option(
        "dont_know",
        N_("Don't know"),
        '<path class="l" d="M18 19a6 6 0 1 1 9 5c-2 1-3 2-3 4v1"/><circle cx="24" cy="35" r="2"/>',
    ),
)
EYES = '<circle cx="17" cy="19" r="2.5"/><circle cx="31" cy="19" r="2.5"/>'
NPS_VALUES: tuple[str, ...] = tuple(str(n) for n in range(11))

# Reason codes a service path may offer in the follow-up; unknown codes are shown humanised.
REASONS: dict[str, str] = {
    "waiting_time": N_("Waiting time"),
    "being_heard": N_("Being listened to"),
    "staff_attitude": N_("How the staff treated me"),
    "clear_information": N_("Clear information"),
    "getting_help": N_("Getting the help I needed"),
    "ease_of_contact": N_("How easy it was to reach you"),
    "decision_time": N_("How fast the decision came"),
    "video_call": N_("How the video call worked"),
    "premises": N_("The premises"),
    "accessibility": N_("Accessibility"),
    "other": N_("Something else"),
}

# Service icons by name (24×24 stroke drawings); unknown names use "service".
ICONS: dict[str, str] = {
    "money": '<rect x="3" y="6" width="18" height="12" rx="2"/><circle cx="12" cy="12" r="3"/>',
    "family": '<circle cx="8" cy="7" r="3"/><circle cx="17" cy="9" r="2"/>'
    '<path d="M3 21v-4a5 5 0 0 1 10 0v4M14 21v-3a3 3 0 0 1 6 0v3"/>',
    "home": '<path d="M3 11l9-7 9 7M5 10v10h14V10M10 20v-6h4v6"/>',
    "person": '<circle cx="12" cy="7" r="4"/><path d="M4 21a8 8 0 0 1 16 0"/>',
    "accessibility": '<circle cx="12" cy="4" r="2"/><path d="M5 8h14M12 8v6l-4 7M12 14l4 7"/>',
    "chat": '<path d="M4 5h16v11H9l-5 4z"/>',
    "video": '<rect x="3" y="6" width="12" height="12" rx="2"/><path d="M15 10l6-3v10l-6-3"/>',
    "document": '<path d="M6 3h9l4 4v14H6zM9 12h7M9 16h7"/>',
    "speaker": '<path d="M4 9h4l5-4v14l-5-4H4zM16 9a4 4 0 0 1 0 6M18 6a8 8 0 0 1 0 12"/>',
    "service": '<circle cx="12" cy="12" r="9"/><path d="M8 12l3 3 5-6"/>',
}


def reason_label(_: Gettext, code: str) -> str:
    """Translated label of a reason code; unknown codes read as words, never as blanks."""
    msgid = REASONS.get(code)
    return _(msgid) if msgid else code.replace("_", " ").capitalize()


def sprite(icon_names: Iterable[str], *, faces: bool) -> h.Element:
    """One hidden SVG holding only the symbols this page uses (keeps the page light)."""
    symbols: list[str] = []
    if faces:
        for option in FFT_OPTIONS:
            eyes = "" if option.value == "dont_know" else EYES
            symbols.append(
                f'<symbol id="face-{option.value}" viewBox="0 0 48 48">'
                f'<circle class="l" cx="24" cy="24" r="21"/>{eyes}{option.face}</symbol>'
            )
    for name in sorted({n if n in ICONS else "service" for n in icon_names}):
        symbols.append(f'<symbol id="icon-{name}" viewBox="0 0 24 24">{ICONS[name]}</symbol>')
    # Presentation attributes, not CSS classes: page CSS cannot reach into <use> clones.
    line = 'fill="none" stroke-width="3" stroke-linecap="round"'
    markup = Markup("".join(symbols).replace('class="l"', line))  # noqa: S704 -- built only from the constants above
    return h.svg(".sprite", aria_hidden="true", focusable="false")[markup]


def picture(symbol_id: str, css_class: str) -> h.Element:
    return h.svg(class_=css_class, aria_hidden="true", focusable="false")[
        h.use(href=f"#{symbol_id}")
    ]


def icon_ref(name: str) -> str:
    return f"icon-{name if name in ICONS else 'service'}"


def heading(text: str, element_id: str) -> h.Element:
    """Screen heading; focus moves here when the screen changes (``tabindex=-1``)."""
    return h.h1(id=element_id, tabindex="-1")[text]


def screen(screen_id: str, *, visible: bool, labelled_by: str) -> h.Element:
    return h.section(f"#{screen_id}.screen", hidden=not visible, aria_labelledby=labelled_by)


def fft_buttons(_: Gettext) -> h.Element:
    """The six FFT answers, very good → very poor, then don't know; faces and words."""
    return h.div(".answers.fft", role="group", aria_labelledby="q-fft")[
        (
            h.button(
                f".answer.a-{option.value}",
                type="button",
                data_rating=option.value,
            )[picture(f"face-{option.value}", "face"), h.span(".word")[_(option.label)]]
            for option in FFT_OPTIONS
        )
    ]


def nps_buttons(_: Gettext) -> h.Element:
    """0–10 with end labels tied to the end buttons for screen readers."""
    ends = {"0": "nps-low", "10": "nps-high"}
    return h.div(".nps")[
        h.div(".answers.scale", role="group", aria_labelledby="q-nps")[
            (
                h.button(
                    ".answer.n",
                    type="button",
                    data_rating=value,
                    aria_describedby=ends.get(value),
                )[value]
                for value in NPS_VALUES
            )
        ],
        h.div(".ends")[
            h.span("#nps-low")[_("0 = Not at all likely")],
            h.span("#nps-high")[_("10 = Extremely likely")],
        ],
    ]


def rating_screen(_: Gettext, scale: str, *, visible: bool, with_back: bool) -> h.Element:
    """Question screen for one scale; the service name slot is filled by the script."""
    if scale == "nps":
        question = _("How likely would you recommend our service to your friends or family?")
        answers = nps_buttons(_)
    else:
        question = _("Overall, how was your experience of our service?")
        answers = fft_buttons(_)
    return screen(f"screen-{scale}", visible=visible, labelled_by=f"q-{scale}")[
        h.p(".service-name", data_slot="service"),
        heading(question, f"q-{scale}"),
        answers,
        with_back and h.button(".secondary.back", type="button", data_action="back")[_("Back")],
    ]


def follow_up_screen(_: Gettext, reason_codes: Sequence[str]) -> h.Element:
    """Optional "what mattered most?" with the union of all paths' reasons and a comment.

    The script shows only the current path's reasons and hides the comment where
    the path does not take comments.
    """
    return screen("screen-follow", visible=False, labelled_by="q-follow")[
        heading(_("What mattered most?"), "q-follow"),
        h.p(".hint")[_("You can choose one or more. You can also skip this.")],
        h.form("#follow-form", novalidate=True)[
            h.fieldset(".reasons")[
                h.legend(".sr-only")[_("What mattered most?")],
                (
                    h.label(".reason", data_reason=code)[
                        h.input(type="checkbox", name="reason", value=code),
                        h.span[reason_label(_, code)],
                    ]
                    for code in reason_codes
                ),
            ],
            h.div(".comment", data_slot="comment")[
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
            h.div(".actions")[
                h.button(".primary", type="submit")[_("Send")],
                h.button(".secondary", type="button", data_action="skip")[_("Skip")],
            ],
        ],
    ]


def thanks_screen(_: Gettext, extra: h.Node = None) -> h.Element:
    return screen("screen-thanks", visible=False, labelled_by="q-thanks")[
        picture("face-very_good", "face big"),
        heading(_("Thank you for your answer!"), "q-thanks"),
        h.p[_("Your answer helps us improve our services.")],
        extra,
    ]


def language_switch(_: Gettext, current: Language, hrefs: Mapping[str, str]) -> h.Element:
    """One tap per language, each named in its own language."""
    return h.nav(".langs", aria_label=_("Language"))[
        h.ul[
            (
                h.li[
                    h.a(
                        href=hrefs[lang.code],
                        lang=lang.html_lang,
                        dir=lang.dir,
                        hreflang=lang.html_lang,
                        aria_current="true" if lang.code == current.code else None,
                        data_lang=lang.code,
                    )[lang.native_name]
                ]
                for lang in LANGUAGES.values()
            )
        ]
    ]
