"""Request and response bodies of the panel API (msgspec)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from server.panels.join_form import Mode
from server.panels.volunteers import BACKGROUND_FIELDS, BackgroundField

Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
ContactScope = Literal["members", "pool"]


class Targets(msgspec.Struct, forbid_unknown_fields=True):
    min_negative: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    languages: list[Annotated[str, msgspec.Meta(pattern="^(fi|sv|en)$")]] = []
    age_bands: dict[str, Annotated[int, msgspec.Meta(ge=0, le=100)]] = {}


class PanelCreate(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    topic: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    unit: str
    seats: Annotated[int, msgspec.Meta(ge=1, le=100)]
    paths: list[str] = []
    meeting_dates: list[dt.date] = []
    targets: Targets = msgspec.field(default_factory=Targets)


class PathFigures(msgspec.Struct):
    """One path of a panel: volunteers with an experience of it, and members by status."""

    path: str
    pool: int
    invited: int
    accepted: int
    declined: int
    no_answer: int


class Figures(msgspec.Struct):
    panel: str
    unit: str
    topic: str
    seats: int
    pool: int
    invited: int
    accepted: int
    declined: int
    no_answer: int
    seats_left: int
    first_meeting: str | None
    pool_mix: dict[str, dict[str, int]]
    accepted_mix: dict[str, dict[str, int]]
    respondents_mix: dict[str, dict[str, int | None]] = {}
    reminded: int = 0
    """Of ``invited``: those already sent their one reminder."""
    pool_staff: int = 0
    """Of ``pool``: volunteers marked as staff, whom selection never picks."""
    paths: list[PathFigures] = []


class SelectionOut(msgspec.Struct):
    invited: int
    unmet_targets: list[str]
    excluded: int
    not_reached: int = 0
    """Invited, but their number asked for no texts (STOP) and they left no e-mail."""


class ContactsRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=500)]
    scope: ContactScope = "members"
    """``members``: invited and accepted; ``pool``: not yet invited (e.g. to spot staff)."""


class ContactOut(msgspec.Struct):
    volunteer_id: int
    first_name: str | None
    phone: str | None
    email: str | None
    staff: bool = False


class StaffUpdate(msgspec.Struct, forbid_unknown_fields=True):
    staff: bool


class VolunteerStaffOut(msgspec.Struct):
    volunteer_id: int
    staff: bool


class JoinFormOut(msgspec.Struct):
    """A unit's join form: each background question off, optional or required."""

    unit: str
    fields: dict[BackgroundField, Mode]


class BackgroundModes(msgspec.Struct, forbid_unknown_fields=True):
    """One optional field per background question (``volunteers.BACKGROUND_FIELDS``), so
    the schema names them; a question left out keeps its mode."""

    age_band: Mode | None = None
    municipality: Mode | None = None

    def given(self) -> dict[BackgroundField, Mode]:
        return {
            name: mode for name in BACKGROUND_FIELDS if (mode := getattr(self, name)) is not None
        }


class JoinFormUpdate(msgspec.Struct, forbid_unknown_fields=True):
    fields: BackgroundModes
