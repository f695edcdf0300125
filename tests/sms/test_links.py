"""Answer links: friendly pages for expired, used and unknown links; forms need the nonce."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from tests.sms.conftest import Clock
from tests.sms.helpers import contact, services_of, token_in, worker
from tests.support.fake_46elks import Fake46elks
from tests.support.fixtures import Seeded


def _sent_link(
    client: TestClient[Litestar], seeded: Seeded, fake: Fake46elks, clock: Clock, **body: Any
) -> str:
    services_of(client).invitations.clock = clock
    before = len(fake.messages)
    headers = {"Authorization": f"Bearer {seeded.integration_key}"}
    assert client.post("/api/v1/contacts", json=contact(**body), headers=headers).status_code == 202
    clock.advance(minutes=31)
    assert client.blocking_portal.call(worker(client, clock, "links").run_once) == 1
    return token_in(fake.messages[before].message)


def _nonce(html: str) -> str:
    return html.split('name="nonce" value="')[1].split('"')[0]


def test_expired_link_gives_a_friendly_410_in_the_clients_language(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks, clock: Clock
) -> None:
    token = _sent_link(client, seeded, fake_elks, clock, language="sv")
    nonce = _nonce(client.get(f"/a/{token}").text)
    clock.advance(days=7, minutes=1)
    page = client.get(f"/a/{token}")
    assert page.status_code == 410
    assert "Länken har gått ut" in page.text
    assert 'lang="sv"' in page.text
    late = client.post(f"/a/{token}", data={"nonce": nonce, "rating": "good"})
    assert late.status_code == 410
    assert "Traceback" not in late.text


def test_unknown_link_and_forged_form_are_friendly_pages(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks, clock: Clock
) -> None:
    missing = client.get("/a/AAAAAAAAAAAAAAAAAAAAAA")
    assert missing.status_code == 404
    assert "Linkkiä ei löydy" in missing.text
    token = _sent_link(client, seeded, fake_elks, clock)
    forged = client.post(f"/a/{token}", data={"nonce": "x" * 32, "rating": "good"})
    assert forged.status_code == 403
    assert client.get(f"/a/{token}").status_code == 200  # still unused


def test_missing_or_off_scale_rating_shows_the_form_again_and_keeps_the_link(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks, clock: Clock
) -> None:
    token = _sent_link(client, seeded, fake_elks, clock, language="en")
    nonce = _nonce(client.get(f"/a/{token}").text)
    for rating in ("", "7"):
        again = client.post(f"/a/{token}", data={"nonce": nonce, "rating": rating})
        assert again.status_code == 422
        assert "Please choose an answer." in again.text
    done = client.post(f"/a/{token}", data={"nonce": nonce, "rating": "very_good"})
    assert done.status_code == 200
    assert "Thank you for your answer!" in done.text


def test_answer_page_lists_the_paths_reasons_and_the_opt_out(
    client: TestClient[Litestar], seeded: Seeded, fake_elks: Fake46elks, clock: Clock
) -> None:
    token = _sent_link(client, seeded, fake_elks, clock)
    html = client.get(f"/a/{token}").text
    assert 'name="rating" value="very_good"' in html
    assert 'name="reason" value="waiting_time"' in html
    assert 'name="comment"' in html
    assert f"/a/{token}/stop" in html
    assert "http" not in html.split("<body")[1].replace(f"/a/{token}", "")  # no third parties
