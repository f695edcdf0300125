"""Keyed phone hashes go once they have served their purpose (the scheduled job and
``kaiku purge``); the do-not-contact list stays, and live quarantines keep working."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from server.cli import main
from server.feedback import quarantine
from server.feedback.invitation_models import Invitation, SmsQuarantine
from server.feedback.invitations import erase_spent_phone_hashes
from server.privacy.phone_hash import phone_hash
from server.services import scheduled_jobs
from tests.sms.conftest import Clock
from tests.sms.helpers import (
    contact,
    invitation,
    services_of,
    text_values,
    token_in,
    worker,
)
from tests.support.fake_46elks import Fake46elks
from tests.support.fixtures import Seeded

OLD, OPTED, FLAGGED, FRESH = "+358401110001", "+358401110002", "+358401110003", "+358401110004"


@dataclass(frozen=True)
class History:
    old_body: dict[str, Any]
    old_token: str
    fresh_id: str


def _post(client: TestClient[Litestar], seeded: Seeded, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {seeded.integration_key}"}
    reply = client.post("/api/v1/contacts", json=body, headers=headers)
    assert reply.status_code == 202, reply.text
    result: dict[str, Any] = reply.json()
    return result


def _nonce(html: str) -> str:
    return html.split('name="nonce" value="')[1].split('"')[0]


def _history(
    client: TestClient[Litestar], seeded: Seeded, fake: Fake46elks, clock: Clock
) -> History:
    """Ten days ago: OLD invited (and again, quarantined), OPTED invited and opted out on
    its link, FLAGGED not surveyed. Now: FRESH invited. Only FRESH's link is still live."""
    services = services_of(client)
    # The app's own scheduler would run the purge at a moment of its choosing; the tests
    # run it themselves, after the history is written.
    client.blocking_portal.call(services.scheduler.stop)
    services.invitations.clock = clock
    now = clock.now
    clock.now = now - dt.timedelta(days=10)
    ended = clock.now.isoformat()
    before = len(fake.messages)
    old_body = contact(phone=OLD, contact_ended_at=ended)
    assert _post(client, seeded, old_body)["state"] == "scheduled"
    again = _post(client, seeded, contact(phone=OLD, contact_ended_at=ended))
    assert again["skip_reason"] == "quarantined"
    assert (
        _post(client, seeded, contact(phone=OPTED, contact_ended_at=ended))["state"] == "scheduled"
    )
    flagged = contact(phone=FLAGGED, do_not_survey=True, contact_ended_at=ended)
    assert _post(client, seeded, flagged)["state"] == "skipped"
    clock.advance(minutes=31)
    assert client.blocking_portal.call(worker(client, clock, "w").run_once) == 2
    links = {sms.to: token_in(sms.message) for sms in fake.messages[before:]}
    opted = links[OPTED]
    stop = client.get(f"/a/{opted}/stop")
    assert client.post(f"/a/{opted}/stop", data={"nonce": _nonce(stop.text)}).status_code == 200
    clock.now = now
    fresh = _post(client, seeded, contact(phone=FRESH))
    assert fresh["state"] == "scheduled"
    return History(old_body, links[OLD], fresh["id"])


def _invitations(client: TestClient[Litestar]) -> list[Any]:
    services = services_of(client)

    async def read() -> list[Any]:
        async with services.engine.connect() as conn:
            return list(await conn.execute(select(Invitation)))

    return client.blocking_portal.call(read)


def _quarantined(client: TestClient[Litestar]) -> set[str]:
    services = services_of(client)

    async def read() -> set[str]:
        async with services.engine.connect() as conn:
            return set(await conn.scalars(select(SmsQuarantine.phone_hash)))

    return client.blocking_portal.call(read)


def test_the_daily_job_erases_spent_hashes_and_keeps_live_ones_and_opt_outs(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks, clock: Clock
) -> None:
    history = _history(client, seeded, fake_elks, clock)
    services = services_of(client)
    key = services.settings.effective_secret_key
    hashed = {number: phone_hash(number, key) for number in (OLD, OPTED, FLAGGED, FRESH)}
    assert _quarantined(client) == {hashed[OLD], hashed[OPTED], hashed[FRESH]}

    [job] = [j for j in scheduled_jobs(services.settings) if j.name == "phone-hash-retention"]
    assert client.blocking_portal.call(job.run, services.engine) == 2 + 4

    assert _quarantined(client) == {hashed[FRESH]}
    live = {str(row.id): row for row in _invitations(client)}
    fresh = live.pop(history.fresh_id)
    assert (fresh.phone_hash, len(fresh.request_fingerprint)) == (hashed[FRESH], 64)
    assert len(live) == 4
    assert all(row.phone_hash == row.request_fingerprint == "" for row in live.values())
    values = text_values(client)
    assert hashed[OLD] not in values
    assert hashed[FLAGGED] not in values
    assert values.count(hashed[OPTED]) == 1  # on the do-not-contact list, nowhere else
    assert client.blocking_portal.call(job.run, services.engine) == 0  # nothing left to do

    # What the hashes did still works, or ends as it should:
    assert _post(client, seeded, contact(phone=FRESH))["skip_reason"] == "quarantined"
    assert _post(client, seeded, contact(phone=OPTED))["skip_reason"] == "opted_out"
    assert _post(client, seeded, contact(phone=OLD))["state"] == "scheduled"
    old_link = f"/a/{history.old_token}/stop"
    assert client.get(old_link).status_code == 410
    nonce_of_old = client.get(f"/a/{history.old_token}").text  # expired: no form, no nonce
    assert 'name="nonce"' not in nonce_of_old
    retry = client.post(
        "/api/v1/contacts",
        json=history.old_body,
        headers={"Authorization": f"Bearer {seeded.integration_key}"},
    )
    assert retry.status_code == 409
    assert "long ago" in retry.json()["detail"]


def test_opting_out_on_a_purged_link_says_the_link_is_over(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks, clock: Clock
) -> None:
    history = _history(client, seeded, fake_elks, clock)
    services = services_of(client)
    stop = f"/a/{history.old_token}/stop"
    nonce = _nonce(client.get(stop).text)  # the page rendered before the purge
    [job] = [j for j in scheduled_jobs(services.settings) if j.name == "phone-hash-retention"]
    client.blocking_portal.call(job.run, services.engine)
    late = client.post(stop, data={"nonce": nonce, "lang": "en"})
    assert late.status_code == 410
    assert "This link has expired" in late.text


def _cli(database_url: str, *args: str) -> str:
    env = {"KAIKU_ENV": "test", "KAIKU_DATABASE_URL": database_url}
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_kaiku_purge_counts_then_erases_the_spent_hashes(
    client: TestClient[Litestar],
    seeded: Seeded,
    fake_elks: Fake46elks,
    clock: Clock,
    database_url: str,
) -> None:
    _history(client, seeded, fake_elks, clock)
    counts = "2 phone hash(es) past their quarantine and those of 4 invitation(s)"
    assert f"would erase {counts}" in _cli(database_url, "purge", "--dry-run")
    assert len(_quarantined(client)) == 3
    assert f"erased {counts}" in _cli(database_url, "purge")
    assert len(_quarantined(client)) == 1
    assert "erased 0 phone hash(es)" in _cli(database_url, "purge")
    assert "volunteer(s)" in _cli(database_url, "purge")  # volunteers are purged as before


def test_each_hash_goes_the_moment_its_purpose_ends_and_not_before(
    client: TestClient[Litestar], seeded: Seeded, clock: Clock
) -> None:
    services = services_of(client)
    client.blocking_portal.call(services.scheduler.stop)
    services.invitations.clock = clock
    reply = _post(client, seeded, contact(contact_ended_at=clock.now.isoformat()))
    expires_at = invitation(client, reply["id"]).expires_at
    week = dt.timedelta(days=7)
    tick = dt.timedelta(microseconds=1)

    async def purge(now: dt.datetime) -> tuple[int, int]:
        async with services.engine.begin() as conn:
            return (
                await quarantine.purge(conn, now, week),
                await erase_spent_phone_hashes(conn, now, week),
            )

    quarantine_over = clock.now + week
    assert client.blocking_portal.call(purge, quarantine_over - tick) == (0, 0)
    assert client.blocking_portal.call(purge, quarantine_over) == (1, 0)
    assert client.blocking_portal.call(purge, expires_at - tick) == (0, 0)
    assert client.blocking_portal.call(purge, expires_at) == (0, 1)
