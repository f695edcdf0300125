"""Schemathesis against our own OpenAPI schema: no 5xx, and every answer as documented.

Each JSON API operation gets generated requests, authenticated as the role it is meant
for, and every response goes through schemathesis' full set of checks, on every route,
CSV exports included.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from server.auth.roles import Role
from tests.auth.helpers import add_user, sign_in
from tests.support.fixtures import Seeded

EXAMPLES = 20
# Schema-valid is not catalog-valid: a unit or path code the catalog does not know, a
# pairing code or comment page cursor nobody issued or a date range Kaiku holds no data for
# is refused with one of these problem types. Any other refusal of a schema-valid request, above all
# ``invalid-request`` (the validator stricter than the schema), still fails.
DOMAIN_REFUSALS = frozenset(
    "urn:kaiku:problem:" + code
    for code in (
        "unknown-unit",
        "unknown-path",
        "unknown-step",
        "step-needs-path",
        "bad-range",
        "bad-month",
        "bad-cursor",
        "invalid-answer",
        "invalid-contact",
        "invalid-panel",
        "pairing-failed",
    )
)


def positive_data_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis' positive-data check, allowing only the catalog's refusals above."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code in (400, 422) and _problem_type(response) in DOMAIN_REFUSALS:
            return None
        raise


def _problem_type(response: Any) -> str:
    try:
        return str(response.json().get("type", ""))
    except ValueError:
        return ""


@schemathesis.deserializer("text/csv")
def _csv(_ctx: Any, response: Any) -> str:
    """CSV exports are documented as a string: decoding as UTF-8 text is what they promise."""
    return str(response.content.decode("utf-8"))


def _auth_for(path: str, seeded: Seeded) -> dict[str, str]:
    """The credential that operation is meant for (stats and panels use a staff session)."""
    if path.startswith(("/api/v1/responses", "/api/v1/kiosks/heartbeat")):
        return {"Authorization": f"Bearer {seeded.kiosk_key}"}
    if path.startswith("/api/v1/contacts"):
        return {"Authorization": f"Bearer {seeded.integration_key}"}
    return {}


def _fuzz(client: TestClient[Litestar], operation: Any, headers: dict[str, str]) -> None:
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
        case.validate_response(
            reply,
            excluded_checks=[positive_data_acceptance],
            additional_checks=[positive_data_accepted],
        )

    check()


def test_api_matches_its_schema(client: TestClient[Litestar], seeded: Seeded, run: Any) -> None:
    add_user(run, "schema-admin", Role.ADMIN, Role.MANAGER, Role.ORGANISER)
    assert sign_in(client, "schema-admin").status_code == 303
    raw = client.get("/schema/openapi.json").json()
    schema = schemathesis.openapi.from_dict(raw)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10

    for operation in operations:
        _fuzz(client, operation, _auth_for(operation.path, seeded))
