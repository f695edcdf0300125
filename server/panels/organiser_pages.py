"""Organiser pages (htpy, no JavaScript): panel list and creation, one panel's recruitment,
and the separate, reasoned contact view."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import htpy as h

from server.auth.pages import csrf_input, layout
from server.panels.respondents import WINDOW_LABEL
from server.panels.schemas import ContactOut, Figures, JoinFormOut

LIST_URL = "/staff/panels"
JOIN_FORM_URL = "/staff/join-form"
NAV = h.nav({"aria-label": "Panel pages"})[
    h.ul[
        h.li[h.a(href=LIST_URL)["Client panels"]],
        h.li[h.a(href=JOIN_FORM_URL)["Join form questions"]],
    ]
]
FIELD_LABELS = {"age_band": "Age group", "municipality": "Municipality"}
MODE_LABELS = {"off": "Not asked", "optional": "Asked, optional", "required": "Asked, required"}


def _field(name: str, label: str, hint: str = "", **attrs: str | bool) -> h.Element:
    described = {"aria-describedby": f"{name}-hint"} if hint else {}
    return h.p[
        h.label(for_=name)[label],
        h.br,
        h.input(id=name, name=name, **attrs, **described),
        hint and h.span(id=f"{name}-hint")[f" ({hint})"],
    ]


def _table(caption: str, headers: Sequence[str], rows: Iterable[h.Node]) -> h.Element:
    """A captioned data table. On a narrow screen it scrolls by itself, not the whole page
    (WCAG 1.4.10); the region is named and focusable so it scrolls from the keyboard."""
    return h.div(".table-scroll", role="region", aria_label=caption, tabindex="0")[
        h.table[
            h.caption[caption],
            h.thead[h.tr[(h.th(scope="col")[c] for c in headers)]],
            h.tbody[rows],
        ]
    ]


def list_page(panels: list[Figures], csrf: str, error: str = "") -> str:
    rows = [
        h.tr[
            h.th(scope="row")[h.a(href=f"{LIST_URL}/{f.panel}")[f.panel]],
            h.td[f.topic],
            h.td[f.unit],
            h.td[str(f.seats)],
            h.td[str(f.accepted)],
            h.td[str(f.pool)],
            h.td[f.first_meeting or "–"],
        ]
        for f in panels
    ]
    return layout(
        "Client panels",
        _table(
            "Panels and how full they are",
            ("Panel", "Topic", "Unit", "Seats", "Accepted", "Pool", "First meeting"),
            rows,
        )
        if rows
        else h.p["No panels yet."],
        h.h2["Create a panel"],
        error and h.p(role="alert", id="create-error")[error],
        h.form(method="post", action=LIST_URL)[
            csrf_input(csrf),
            _field("code", "Code", "lower-case letters, digits and dashes", required=True),
            _field("topic", "Topic", required=True),
            _field("unit", "Unit code", required=True),
            _field("paths", "Path codes", "comma-separated; empty = every path of the unit"),
            _field("seats", "Seats", type="number", min="1", max="100", required=True),
            _field("meeting_dates", "Meeting dates", "YYYY-MM-DD, comma-separated"),
            _field(
                "min_negative",
                "At least this many with a negative experience",
                type="number",
                min="0",
                value="0",
            ),
            _field("languages", "Language groups that must be represented", "e.g. fi,sv"),
            _field("age_bands", "Age bands", "e.g. 65+=1,under-25=1"),
            h.p[h.button(type="submit")["Create panel"]],
        ],
        nav=NAV,
    )


def _mix_table(
    title: str, mix: Mapping[str, Mapping[str, int | None]], counted: str = "Volunteers"
) -> h.Element:
    if not any(mix.values()):
        return h.p[f"{title}: nobody yet."]
    return _table(
        title,
        ("Dimension", "Group", counted),
        (
            h.tr[
                h.th(scope="row")[dim],
                h.td[group],
                h.td["fewer than 5" if n is None else str(n)],
            ]
            for dim, groups in mix.items()
            for group, n in sorted(groups.items())
        ),
    )


SCOPES = {
    "members": "Invited and accepted members",
    "pool": "Volunteers in the pool, not yet invited (e.g. to mark staff)",
}


def _staff_toggle(f: Figures, csrf: str, c: ContactOut) -> h.Element:
    """One button per row; its name says whom it is for, for screen-reader users."""
    name = c.first_name or f"volunteer {c.volunteer_id}"
    label = f"Not staff: {name}" if c.staff else f"Mark {name} as staff"
    return h.form(method="post", action=f"{LIST_URL}/{f.panel}/staff")[
        csrf_input(csrf),
        h.input(type="hidden", name="volunteer_id", value=str(c.volunteer_id)),
        h.input(type="hidden", name="staff", value="no" if c.staff else "yes"),
        h.button(type="submit")[label],
    ]


def _contacts_table(f: Figures, csrf: str, contacts: list[ContactOut], scope: str) -> h.Element:
    if not contacts:
        return h.p["Nobody to show."]
    return _table(
        f"Contact details: {SCOPES[scope]}",
        ("Name", "Phone", "E-mail", "Staff", "Action"),
        (
            h.tr[
                h.th(scope="row")[c.first_name or "–"],
                h.td[c.phone or ""],
                h.td[c.email or ""],
                h.td["yes" if c.staff else "no"],
                h.td[_staff_toggle(f, csrf, c)],
            ]
            for c in contacts
        ),
    )


def panel_page(
    f: Figures,
    csrf: str,
    notice: str = "",
    contacts: list[ContactOut] | None = None,
    scope: str = "members",
) -> str:
    figures = [
        ("Seats", f.seats),
        ("Volunteers in the pool", f.pool),
        ("Of these, staff (never selected)", f.pool_staff),
        ("Invited, no answer yet", f.invited),
        ("Of these, reminded", f.reminded),
        ("Accepted", f.accepted),
        ("Declined", f.declined),
        ("No answer", f.no_answer),
        ("Seats left", f.seats_left),
    ]
    return layout(
        f"Panel {f.panel}",
        h.p[f"{f.topic} – {f.unit} – first meeting {f.first_meeting or 'not set'}"],
        notice and h.p(role="status")[notice],
        h.h2["Recruitment"],
        h.dl[((h.dt[label], h.dd[str(value)]) for label, value in figures)],
        _table(
            "By path",
            ("Path", "In the pool", "Invited, no answer yet", "Accepted", "Declined", "No answer"),
            (
                h.tr[
                    h.th(scope="row")[p.path],
                    (
                        h.td[str(n)]
                        for n in (p.pool, p.invited, p.accepted, p.declined, p.no_answer)
                    ),
                ]
                for p in f.paths
            ),
        )
        if f.paths
        else None,
        h.h2["Representativeness"],
        _mix_table("Pool", f.pool_mix),
        _mix_table("Accepted members", f.accepted_mix),
        _mix_table(
            f"All respondents of the panel's paths, {WINDOW_LABEL}", f.respondents_mix, "Answers"
        ),
        h.h2["Select and invite"],
        h.p[
            "Chooses at random for the free seats, meeting the composition targets where the "
            "pool allows, and sends the invitations."
        ],
        h.form(method="post", action=f"{LIST_URL}/{f.panel}/invite")[
            csrf_input(csrf), h.button(type="submit")["Select and invite"]
        ],
        h.h2["Contact details"],
        h.p[
            "Showing contact details is recorded with your name and reason. Staff members "
            "who volunteered can be marked here; selection never picks them."
        ],
        h.form(method="post", action=f"{LIST_URL}/{f.panel}/contacts")[
            h.fieldset[
                h.legend["Whose details"],
                (
                    h.p[
                        h.input(
                            type="radio",
                            name="scope",
                            id=f"scope-{value}",
                            value=value,
                            checked=value == scope,
                        ),
                        " ",
                        h.label(for_=f"scope-{value}")[label],
                    ]
                    for value, label in SCOPES.items()
                ),
            ],
            csrf_input(csrf),
            _field("reason", "Reason", required=True, minlength="3", maxlength="500"),
            h.button(type="submit")["Show contact details"],
        ],
        contacts is not None and _contacts_table(f, csrf, contacts, scope),
        nav=NAV,
    )


def join_form_page(forms: list[JoinFormOut], csrf: str, notice: str = "") -> str:
    """One form per unit: for each background question, not asked / optional / required."""
    return layout(
        "Join form questions",
        notice and h.p(role="status")[notice],
        h.p[
            "A first name, a phone number or e-mail, the language and the consent are always "
            "asked. Choose for each unit which background questions its panel join form "
            "asks, and whether an answer is needed. Ask only what the panel needs."
        ],
        (
            h.section(aria_labelledby=f"unit-{form.unit}")[
                h.h2(id=f"unit-{form.unit}")[form.unit],
                h.form(method="post", action=JOIN_FORM_URL)[
                    csrf_input(csrf),
                    h.input(type="hidden", name="unit", value=form.unit),
                    (
                        h.fieldset[
                            h.legend[FIELD_LABELS.get(field, field)],
                            (
                                h.p[
                                    h.input(
                                        type="radio",
                                        id=f"{form.unit}-{field}-{mode}",
                                        name=field,
                                        value=mode,
                                        checked=mode == chosen,
                                    ),
                                    " ",
                                    h.label(for_=f"{form.unit}-{field}-{mode}")[label],
                                ]
                                for mode, label in MODE_LABELS.items()
                            ),
                        ]
                        for field, chosen in form.fields.items()
                    ),
                    h.p[h.button(type="submit")[f"Save for {form.unit}"]],
                ],
            ]
            for form in forms
        ),
        nav=NAV,
    )
