"""Every route, every caller: the answer must match this table, written out by hand.

The routes come from the app itself: a route missing from the table (or a table entry
with no route) fails the test, so a new endpoint cannot ship without someone deciding who
may call it. The callers are every role (a new role without a way to become it fails
too), each other credential a role can come with (a manager API key for Grafana, the
metrics token) and nobody. "Access" means the guard let the request through: anything
but 401/403 or a redirect to the sign-in form (bodies are minimal, so 400/404/422 still
count as "let through"). Rate limits that minimal requests could trip are switched off
here; they have tests of their own.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from server.auth.roles import Role
from server.settings import Settings
from tests.auth.helpers import add_user, csrf_token, sign_in
from tests.security.helpers import app_routes, client_with, concrete, session_runner
from tests.stats.helpers import manager_key
from tests.support.fixtures import Seeded, seed

NONE = "none"
MANAGER_KEY = "manager-key"  # the manager role without a person: Grafana's Infinity datasource
METRICS_TOKEN_CALLER = "metrics-token"  # KAIKU_METRICS_TOKEN instead of a metrics key
CALLERS = (*(r.value for r in Role), MANAGER_KEY, METRICS_TOKEN_CALLER, NONE)
EVERYONE = frozenset(CALLERS)
NOBODY: frozenset[str] = frozenset()
STAFF = frozenset({"admin", "manager", "organiser"})
MANAGERS = frozenset({"admin", "manager"})
STATISTICS = MANAGERS | {MANAGER_KEY}  # read-only figures, for people and for Grafana
ORGANISERS = frozenset({"admin", "organiser"})
ADMIN = frozenset({"admin"})
KIOSK = frozenset({"kiosk"})
INTEGRATION = frozenset({"integration"})
METRICS = frozenset({"metrics", METRICS_TOKEN_CALLER})
METRICS_TOKEN = "matrix-metrics-token-" + "x" * 16

EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    ("GET", "/metrics"): METRICS,  # KAIKU_METRICS_TOKEN is set in this test
    ("GET", "/static/{file_path:path}"): EVERYONE,
    ("GET", "/schema"): EVERYONE,
    ("GET", "/schema/swagger"): EVERYONE,
    ("GET", "/schema/openapi.json"): EVERYONE,
    ("GET", "/schema/oauth2-redirect.html"): EVERYONE,
    ("GET", "/schema/{path:str}"): EVERYONE,
    # kiosk devices
    ("POST", "/api/v1/responses"): KIOSK,
    ("POST", "/api/v1/responses/batch"): KIOSK,
    ("POST", "/api/v1/kiosks/heartbeat"): KIOSK,
    ("POST", "/api/v1/kiosks/pair"): EVERYONE,  # the one-time pairing code is the credential
    ("GET", "/k/{kiosk_code:str}"): EVERYONE,
    ("GET", "/k/sw.js"): EVERYONE,
    # integrations and the SMS gateway
    ("POST", "/api/v1/contacts"): INTEGRATION,
    ("POST", "/api/v1/sms/receipts/46elks"): NOBODY,  # only with the secret in its URL
    ("POST", "/api/v1/sms/inbound/46elks"): NOBODY,  # only with the secret in its URL
    # clients' own pages: the link token or poster is all they have
    ("GET", "/a/{token:str}"): EVERYONE,
    ("POST", "/a/{token:str}"): EVERYONE,
    ("GET", "/a/{token:str}/stop"): EVERYONE,
    ("POST", "/a/{token:str}/stop"): EVERYONE,
    ("GET", "/q/{unit:str}/{path:str}"): EVERYONE,
    ("POST", "/q/{unit:str}/{path:str}"): EVERYONE,
    ("GET", "/panels/declined"): EVERYONE,
    ("GET", "/panels/join"): EVERYONE,
    ("POST", "/panels/join"): EVERYONE,
    ("GET", "/panels/rsvp/{token:str}"): EVERYONE,
    ("POST", "/panels/rsvp/{token:str}"): EVERYONE,
    ("GET", "/panels/withdraw/{token:str}"): EVERYONE,
    ("POST", "/panels/withdraw/{token:str}"): EVERYONE,
    # managers: statistics and kiosks
    ("GET", "/api/v1/stats/comments"): STATISTICS,  # scrubbed text, every read audited
    ("GET", "/api/v1/stats/compare"): STATISTICS,
    ("GET", "/api/v1/stats/export/nhs-fft"): STATISTICS,
    ("GET", "/api/v1/stats/export/nps"): STATISTICS,
    ("GET", "/api/v1/stats/patterns"): STATISTICS,
    ("GET", "/api/v1/stats/response-rates"): STATISTICS,
    ("GET", "/api/v1/stats/summary"): STATISTICS,
    ("GET", "/api/v1/stats/trend"): STATISTICS,
    ("GET", "/api/v1/stats/compare.csv"): STATISTICS,
    ("GET", "/api/v1/stats/export/nhs-fft.csv"): STATISTICS,
    ("GET", "/api/v1/stats/export/nps.csv"): STATISTICS,
    ("GET", "/api/v1/stats/patterns.csv"): STATISTICS,
    ("GET", "/api/v1/stats/response-rates.csv"): STATISTICS,
    ("GET", "/api/v1/stats/summary.csv"): STATISTICS,
    ("GET", "/api/v1/stats/trend.csv"): STATISTICS,
    ("GET", "/overview"): STATISTICS,
    ("GET", "/admin/qr/{unit:str}/{path:str}"): MANAGERS,
    ("GET", "/admin/kiosks"): MANAGERS,
    ("POST", "/admin/kiosks/{code:str}/pairing-code"): MANAGERS,
    ("POST", "/admin/kiosks/{code:str}/revoke"): MANAGERS,
    # panel organisers
    ("GET", "/staff/panels"): ORGANISERS,
    ("POST", "/staff/panels"): ORGANISERS,
    ("GET", "/staff/panels/{code:str}"): ORGANISERS,
    ("POST", "/staff/panels/{code:str}/invite"): ORGANISERS,
    ("POST", "/staff/panels/{code:str}/contacts"): ORGANISERS,
    ("GET", "/api/v1/panels"): ORGANISERS,
    ("POST", "/api/v1/panels"): ORGANISERS,
    ("GET", "/api/v1/panels/{code:str}"): ORGANISERS,
    ("POST", "/api/v1/panels/{code:str}/invitations"): ORGANISERS,
    ("POST", "/api/v1/panels/{code:str}/contacts"): ORGANISERS,
    ("POST", "/staff/panels/{code:str}/staff"): ORGANISERS,
    ("PUT", "/api/v1/volunteers/{volunteer_id:int}/staff"): ORGANISERS,
    ("GET", "/staff/join-form"): ORGANISERS,
    ("POST", "/staff/join-form"): ORGANISERS,
    ("GET", "/api/v1/join-form"): ORGANISERS,
    ("PUT", "/api/v1/join-form/{unit:str}"): ORGANISERS,
    # staff sign-in and admin
    ("GET", "/staff"): STAFF,
    ("GET", "/staff/sign-in"): EVERYONE,
    ("POST", "/staff/sign-in"): EVERYONE,
    ("POST", "/staff/sign-out"): EVERYONE,
    ("POST", "/staff/sign-out-everywhere"): STAFF,
    ("GET", "/admin/audit"): ADMIN,
    ("GET", "/admin/audit/export"): ADMIN,
}
ENDS_SESSION = {("POST", "/staff/sign-out"), ("POST", "/staff/sign-out-everywhere")}


def let_through(reply: Any) -> bool:
    if reply.status_code in (401, 403):
        return False
    # the guard's redirect carries ?next=; signing out also ends on the sign-in form
    return not reply.headers.get("location", "").startswith("/staff/sign-in?next=")


def _become(client: TestClient[Litestar], caller: str, bearer: dict[str, str]) -> str:
    """Make ``client`` act as ``caller`` (a session or a bearer credential); its form token.

    A caller that is neither staff, nor nobody, nor in ``bearer`` is a KeyError: a new
    role needs a way to become it here before the matrix can pass.
    """
    client.cookies.clear()
    client.headers.pop("authorization", None)
    if caller in STAFF:
        assert sign_in(client, f"matrix-{caller}").status_code == 303
    elif caller != NONE:
        client.headers["authorization"] = f"Bearer {bearer[caller]}"
    return csrf_token(client)


def _call(client: TestClient[Litestar], method: str, path: str, csrf: str) -> Any:
    url = concrete(path)
    if method == "GET":
        return client.get(url, follow_redirects=False)
    if path.startswith("/api/"):
        return client.request(method, url, json={}, follow_redirects=False)
    return client.post(url, data={"csrf_token": csrf}, follow_redirects=False)


def test_every_route_answers_every_caller_as_the_table_says(settings: Settings) -> None:
    overrides = {
        name: 0 for name in ("rate_limit_sign_in_failures", "rate_limit_answer_per_minute")
    }
    with client_with(settings, metrics_token=METRICS_TOKEN, **overrides) as client:
        run = session_runner(client)
        routes = app_routes(client.app)
        assert routes - EXPECTED.keys() == set(), "new routes need an entry in EXPECTED"
        assert EXPECTED.keys() - routes == set(), "EXPECTED lists routes that no longer exist"
        seeded: Seeded = run(seed)
        for role in STAFF:
            add_user(run, f"matrix-{role}", Role(role))
        bearer = {
            Role.KIOSK.value: seeded.kiosk_key,
            Role.INTEGRATION.value: seeded.integration_key,
            Role.METRICS.value: seeded.metrics_key,
            MANAGER_KEY: run(manager_key),
            METRICS_TOKEN_CALLER: METRICS_TOKEN,
        }

        wrong: list[str] = []
        for caller in CALLERS:
            csrf = _become(client, caller, bearer)
            for method, path in sorted(routes, key=lambda r: (r in ENDS_SESSION, r)):
                reply = _call(client, method, path, csrf)
                assert "csrf-failed" not in reply.text, (caller, method, path)
                if let_through(reply) != (caller in EXPECTED[(method, path)]):
                    wrong.append(f"{caller:12} {method:4} {path} -> {reply.status_code}")
                if (method, path) in ENDS_SESSION and caller in STAFF:
                    csrf = _become(client, caller, bearer)
        assert wrong == [], "\n".join(wrong)
