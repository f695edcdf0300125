"""Schemathesis against our own OpenAPI schema: no 5xx, and every answer as documented.

Each JSON API operation gets generated requests, authenticated as the role it is meant
for, and every response goes through schemathesis' full set of checks.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
)

from server.auth.roles import Role
from tests.auth.helpers import add_user, sign_in
from tests.support.fixtures import Seeded

EXAMPLES = 20
# Schema-valid is not catalog-valid: a path code the catalog does not know is a documented
# 422, which this heuristic check would call a rejected valid request. Every other check runs.
EXCLUDED = [positive_data_acceptance]
# KNOWN ISSUE (server/feedback/stats_controller.py): the statistics handlers return
# ``Table | Response[str]`` (JSON, or CSV with format=csv); Litestar documents that as
# ``oneOf: [Table, {}]``, which every JSON body matches twice, and leaves CSV out. Until
# they declare both media types, these operations are checked for no 5xx and documented
# statuses only.
KNOWN_SCHEMA_GAPS = {"/api/v1/stats/": [response_schema_conformance, content_type_conformance]}


def _excluded(path: str) -> list[Any]:
    gaps = [
        c for prefix, checks in KNOWN_SCHEMA_GAPS.items() if path.startswith(prefix) for c in checks
    ]
    return EXCLUDED + gaps


def _auth_for(path: str, seeded: Seeded) -> dict[str, str]:
    """The credential that operation is meant for (stats and panels use a staff session)."""
    if path.startswith(("/api/v1/responses", "/api/v1/kiosks/heartbeat")):
        return {"Authorization": f"Bearer {seeded.kiosk_key}"}
    if path.startswith("/api/v1/contacts"):
        return {"Authorization": f"Bearer {seeded.integration_key}"}
    return {}


def _fuzz(
    client: TestClient[Litestar], operation: Any, headers: dict[str, str], excluded: list[Any]
) -> None:
    """Send generated requests for one operation; every reply must pass the checks."""

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: schemathesis.Case[Any]) -> None:
        kwargs = case.as_transport_kwargs(base_url="", headers=headers)
        reply = client.request(
            kwargs["method"],
            kwargs["url"],
            headers=kwargs.get("headers"),
            params=kwargs.get("params"),
            json=kwargs.get("json"),
            content=kwargs.get("content") or kwargs.get("data"),
        )
        case.validate_response(reply, excluded_checks=excluded)

    check()


def test_api_matches_its_schema(client: TestClient[Litestar], seeded: Seeded, run: Any) -> None:
    add_user(run, "schema-admin", Role.ADMIN, Role.MANAGER, Role.ORGANISER)
    assert sign_in(client, "schema-admin").status_code == 303
    raw = client.get("/schema/openapi.json").json()
    schema = schemathesis.openapi.from_dict(raw)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10

    for operation in operations:
        headers = _auth_for(operation.path, seeded)
        excluded = _excluded(operation.path)

        _fuzz(client, operation, headers, excluded)
