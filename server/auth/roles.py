"""Roles and the principal a request acts as."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    ORGANISER = "organiser"
    INTEGRATION = "integration"
    KIOSK = "kiosk"
    METRICS = "metrics"


MACHINE_ROLES = frozenset({Role.INTEGRATION, Role.KIOSK, Role.METRICS})
STAFF_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.ORGANISER})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. Guards look only at ``roles``, whatever the login method."""

    roles: frozenset[Role]
    key_id: int | None = None
    user_id: int | None = None
    kiosk_id: int | None = None
    name: str = ""
