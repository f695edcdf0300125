"""The TOML catalog file format (``ops/catalog.example.toml`` is the reference)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec

Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Reason = Literal[
    "waiting_time",
    "staff_attitude",
    "clarity",
    "accessibility",
    "outcome",
    "being_heard",
    "information",
    "digital_service",
    "premises",
    "language",
]
Icon = Literal[
    "document", "meeting", "decision", "followup", "phone", "video", "home", "group", "info"
]


REASON_CODES: tuple[str, ...] = get_args(Reason)
ICONS: tuple[str, ...] = get_args(Icon)


class Names(msgspec.Struct, forbid_unknown_fields=True):
    fi: str
    sv: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"fi": self.fi, "sv": self.sv, "en": self.en}


class StepFile(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name: Names
    icon: Icon = "info"


class PathFile(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name: Names
    scale: Literal["fft", "nps"] = "fft"
    reasons: list[Reason] = []
    comments: bool = True
    steps: list[StepFile] = []


class KioskService(msgspec.Struct, forbid_unknown_fields=True):
    path: Code
    step: Code | None = None


class KioskFile(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name: str
    services: list[KioskService]


class UnitFile(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name: Names
    paths: list[PathFile] = []
    kiosks: list[KioskFile] = []


class OrganisationFile(msgspec.Struct, forbid_unknown_fields=True):
    name: Names
    sms_sender: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9 ]{1,11}$")] = "Kaiku"


class CatalogFile(msgspec.Struct, forbid_unknown_fields=True):
    schema: Literal[1]
    organisation: OrganisationFile
    units: list[UnitFile]
