"""Who gets a text and when: window, quarantine, opt-out, flags, numbers, idempotency."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from server.catalog.lookup import CatalogSnapshot
from server.feedback.invitations import HELSINKI, TEXTS, compute_send_at, invitation_text
from server.feedback.tokens import new_token
from server.messaging.gsm7 import fits_single_sms
from server.settings import Settings
from tests.sms.conftest import Clock
from tests.sms.helpers import contact, outbox_rows, services_of, token_in, worker
from tests.support.fake_46elks import Fake46elks
from tests.support.fixtures import Seeded

WINDOW = Settings(sms_delay_minutes=30, sms_window_start_hour=9, sms_window_end_hour=20)


def helsinki(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=HELSINKI).astimezone(dt.UTC)


@pytest.mark.parametrize(
    ("ended", "expected"),
    [
        (helsinki(2026, 5, 4, 10, 0), helsinki(2026, 5, 4, 10, 30)),  # inside: just the delay
        (helsinki(2026, 5, 4, 19, 45), helsinki(2026, 5, 5, 9, 0)),  # delay runs past 20:00
        (helsinki(2026, 5, 4, 2, 0), helsinki(2026, 5, 4, 9, 0)),  # night: same morning
        (helsinki(2026, 3, 28, 22, 0), helsinki(2026, 3, 29, 9, 0)),  # across the DST change
    ],
)
def test_send_at_is_after_the_delay_inside_the_helsinki_window(
    ended: dt.datetime, expected: dt.datetime
) -> None:
    assert compute_send_at(ended, ended, WINDOW) == expected


@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1)))
def test_send_at_is_never_early_and_always_inside_the_window(naive: dt.datetime) -> None:
    ended = naive.replace(tzinfo=dt.UTC)
    send_at = compute_send_at(ended, ended, WINDOW)
    assert send_at >= ended + dt.timedelta(minutes=30)
    assert 9 <= send_at.astimezone(HELSINKI).hour < 20
    assert send_at - ended <= dt.timedelta(hours=14, minutes=30)  # the longest night: DST ends


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_text_fits_one_gsm7_sms_names_the_organisation_and_has_the_link(lang: str) -> None:
    token, _ = new_token()
    link = f"https://palaute.hyvinvointialue.fi/a/{token}"
    snapshot = CatalogSnapshot(organisation_names={"fi": "Pohjanmaan hyvinvointialue"})
    text = invitation_text(snapshot, lang, link)
    assert fits_single_sms(text)
    assert "Pohjanmaan hyvinvointialue" in text
    assert text.endswith(link)
    long_name = CatalogSnapshot(organisation_names={"fi": "X" * 120}, sms_sender="Hyvinvointi")
    fallback = invitation_text(long_name, lang, link)
    assert fits_single_sms(fallback)
    assert fallback.startswith("Hyvinvointi:")


def _post(client: TestClient[Litestar], seeded: Seeded, **overrides: Any) -> Any:
    headers = {"Authorization": f"Bearer {seeded.integration_key}"}
    return client.post("/api/v1/contacts", json=contact(**overrides), headers=headers)


def test_second_contact_within_quarantine_is_skipped(
    client: TestClient[Litestar], seeded: Seeded, clock: Clock
) -> None:
    services_of(client).invitations.clock = clock
    assert _post(client, seeded).json()["state"] == "scheduled"
    again = _post(client, seeded, phone="+358401234567", contact_mode="phone").json()
    assert (again["state"], again["skip_reason"]) == ("skipped", "quarantined")
    assert _post(client, seeded, phone="050 765 4321").json()["state"] == "scheduled"
    clock.advance(days=7, minutes=1)
    assert _post(client, seeded).json()["state"] == "scheduled"
    assert len(outbox_rows(client)) == 3


def test_do_not_survey_flag_skips_without_storing_the_number(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    reply = _post(client, seeded, do_not_survey=True)
    assert reply.status_code == 202
    assert (reply.json()["state"], reply.json()["skip_reason"]) == ("skipped", "flagged")
    assert outbox_rows(client) == []


def test_opt_out_page_puts_the_number_on_the_do_not_contact_list(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks, clock: Clock
) -> None:
    services_of(client).invitations.clock = clock
    before = len(fake_elks.messages)
    _post(client, seeded)
    clock.advance(minutes=31)
    client.blocking_portal.call(worker(client, clock, "w").run_once)
    token = token_in(fake_elks.messages[before].message)
    page = client.get(f"/a/{token}")
    assert f'href="/a/{token}/stop"' in page.text
    stop = client.get(f"/a/{token}/stop")
    assert stop.status_code == 200
    assert stop.headers["referrer-policy"] == "no-referrer"
    nonce = stop.text.split('name="nonce" value="')[1].split('"')[0]
    assert client.post(f"/a/{token}/stop", data={"nonce": "forged"}).status_code == 404
    done = client.post(f"/a/{token}/stop", data={"nonce": nonce, "lang": "sv"})
    assert done.status_code == 200
    assert "Du får inga fler responsmeddelanden" in done.text
    clock.advance(days=30)
    later = _post(client, seeded).json()
    assert (later["state"], later["skip_reason"]) == ("skipped", "opted_out")


@pytest.mark.parametrize(
    ("phone", "why"),
    [("09 310 1691", "not a mobile"), ("12345", "not a valid"), ("kissa", "not a phone")],
)
def test_invalid_or_landline_numbers_are_422(
    client: TestClient[Litestar], seeded: Seeded, phone: str, why: str
) -> None:
    reply = _post(client, seeded, phone=phone)
    assert reply.status_code == 422
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert why in reply.json()["detail"]
    assert phone not in reply.text


def test_unknown_path_language_and_missing_fields_are_clear_errors(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    assert _post(client, seeded, path="nope").status_code == 422
    assert _post(client, seeded, step="nope").status_code == 422
    assert _post(client, seeded, language="de").status_code == 400
    assert _post(client, seeded, contact_mode="telepathy").status_code == 400
    assert _post(client, seeded, idempotency_key="key\x00with-nul").status_code == 400


def test_same_key_same_body_replays_and_different_body_conflicts(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    body = contact()
    headers = {"Authorization": f"Bearer {seeded.integration_key}"}
    first = client.post("/api/v1/contacts", json=body, headers=headers)
    second = client.post("/api/v1/contacts", json=body, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    changed = client.post(
        "/api/v1/contacts", json={**body, "phone": "050 765 4321"}, headers=headers
    )
    assert changed.status_code == 409
    assert len(outbox_rows(client)) == 1


def test_only_integration_keys_may_post_contacts(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    assert client.post("/api/v1/contacts", json=contact()).status_code == 401
    for key in (seeded.kiosk_key, seeded.metrics_key):
        reply = client.post(
            "/api/v1/contacts", json=contact(), headers={"Authorization": f"Bearer {key}"}
        )
        assert reply.status_code == 403
