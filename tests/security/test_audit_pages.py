"""The audit viewer: admins only, newest first, filtered, exported — and exports are audited."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from server.auth.roles import Role
from tests.auth.helpers import audit_events, sign_in, signed_in

SERVER = Path(__file__).resolve().parents[2] / "server"


def test_admin_sees_newest_first_and_can_filter(client: TestClient[Litestar], run: Any) -> None:
    signed_in(client, run, Role.ADMIN)
    sign_in(client, "nobody", "wrong password!")

    page = client.get("/admin/audit/")
    filtered = client.get("/admin/audit/", params={"action": "sign-in"})

    assert page.status_code == 200
    assert page.text.index("<td>sign-in.failed<") < page.text.index("<td>sign-in<")
    assert "username:nobody" in page.text
    assert filtered.status_code == 200
    assert "username:nobody" not in filtered.text
    assert "no-store" in page.headers["cache-control"]


def test_exports_are_complete_and_audited(client: TestClient[Litestar], run: Any) -> None:
    user_id = signed_in(client, run, Role.ADMIN)

    as_csv = client.get("/admin/audit/export", params={"format": "csv"})
    as_json = client.get("/admin/audit/export", params={"format": "json", "action": "sign-in"})

    assert as_csv.status_code == as_json.status_code == 200
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["action"] for r in rows] == ["audit.export", "sign-in"]
    assert json.loads(rows[0]["detail"]) == {"format": "csv", "action": ""}
    assert [e["action"] for e in as_json.json()] == ["sign-in"]
    assert "attachment" in as_json.headers["content-disposition"]
    exports = audit_events(run, "audit.export")
    assert [(e.actor, e.detail["format"]) for e in exports] == [
        (f"user:{user_id}", "csv"),
        (f"user:{user_id}", "json"),
    ]


def test_managers_are_refused_and_visitors_sent_to_sign_in(
    client: TestClient[Litestar], run: Any
) -> None:
    anonymous = client.get("/admin/audit/export", follow_redirects=False)
    signed_in(client, run, Role.MANAGER)

    assert anonymous.status_code == 303
    assert client.get("/admin/audit/").status_code == 403
    assert client.get("/admin/audit/export").status_code == 403
    assert audit_events(run, "audit.export") == []


def test_the_application_can_only_append_to_the_audit_log() -> None:
    """``audit.record`` is the only writer: no code outside the migrations updates or
    deletes an event, whether through the ORM, Core or SQL text."""
    changes = re.compile(
        r"(update|delete)\(\s*AuditEvent\b|(update|delete from)\s+audit_events", re.I
    )
    offenders = [
        str(path.relative_to(SERVER))
        for path in SERVER.rglob("*.py")
        if "migrations" not in path.parts and changes.search(path.read_text())
    ]
    assert offenders == []
