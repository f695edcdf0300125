"""Texts clients send back: a STOP-type reply opts the sender out and leaves no number behind."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from server.feedback.invitation_models import DoNotContact
from server.feedback.sms_replies import STOP_WORDS, is_stop_message
from server.feedback.tokens import receipt_secret
from tests.sms.helpers import contact, services_of, text_values
from tests.support.fixtures import Seeded

SENDER = "+358401112233"
DIGITS = "401112233"  # the subscriber part, however the number was written


def _inbound(client: TestClient[Litestar], message: str, secret: str | None = None) -> Any:
    key = services_of(client).settings.effective_secret_key
    form = {
        "direction": "incoming",
        "id": "sf8425555e5d8db61dda7a7b3f1b91bdb",
        "from": SENDER,
        "to": "+46766861004",
        "created": "2026-11-22T13:57:23.741000",
        "message": message,
    }
    url = f"/api/v1/sms/inbound/46elks?secret={secret or receipt_secret(key)}"
    return client.post(url, data=form)


def _contact(client: TestClient[Litestar], seeded: Seeded) -> Any:
    headers = {"Authorization": f"Bearer {seeded.integration_key}"}
    reply = client.post("/api/v1/contacts", json=contact(phone="040 111 2233"), headers=headers)
    assert reply.status_code == 202
    return reply.json()


def _listed(client: TestClient[Litestar]) -> list[Any]:
    services = services_of(client)

    async def read() -> list[Any]:
        async with services.engine.connect() as conn:
            return list(await conn.execute(select(DoNotContact)))

    return client.blocking_portal.call(read)


def test_stop_reply_opts_the_sender_out_with_an_empty_200(
    client: TestClient[Litestar], seeded: Seeded
) -> None:
    reply = _inbound(client, "  Lopeta! ")
    assert reply.status_code == 200
    assert reply.content == b""  # 46elks would text any body back to the client
    assert [row.source for row in _listed(client)] == ["sms_reply"]
    later = _contact(client, seeded)
    assert (later["state"], later["skip_reason"]) == ("skipped", "opted_out")
    assert _inbound(client, "STOP").status_code == 200  # again: still one entry
    assert len(_listed(client)) == 1


def test_other_replies_change_nothing(client: TestClient[Litestar], seeded: Seeded) -> None:
    for message in ("Kiitos!", "stop sending at night please", "", "Stoppa"):
        reply = _inbound(client, message)
        assert (reply.status_code, reply.content) == (200, b"")
    assert _listed(client) == []
    assert _contact(client, seeded)["state"] == "scheduled"


def test_wrong_or_missing_secret_is_403_and_changes_nothing(client: TestClient[Litestar]) -> None:
    assert _inbound(client, "STOP", secret="wrong").status_code == 403
    assert client.post("/api/v1/sms/inbound/46elks", data={"from": SENDER}).status_code == 403
    assert _listed(client) == []


def test_the_number_is_stored_nowhere(client: TestClient[Litestar], seeded: Seeded) -> None:
    assert _inbound(client, "sluta").status_code == 200
    _contact(client, seeded)  # skipped as opted out: no outbox row either
    values = text_values(client)
    assert values, "the scan must see the tables"
    assert not [v for v in values if DIGITS in v.replace(" ", "")]


@given(
    word=st.sampled_from(sorted(STOP_WORDS)),
    upper=st.lists(st.booleans(), min_size=6, max_size=6),
    before=st.text(alphabet=" \t\n.!?,-'\"*()", max_size=4),
    after=st.text(alphabet=" \t\n.!?,-'\"*()", max_size=4),
)
def test_stop_words_match_in_any_case_inside_punctuation(
    word: str, upper: list[bool], before: str, after: str
) -> None:
    cased = "".join(c.upper() if u else c for c, u in zip(word, upper, strict=False))
    assert is_stop_message(f"{before}{cased}{after}")


@given(st.text(max_size=30))
def test_a_stop_word_inside_a_longer_reply_does_not_count(message: str) -> None:
    assert not is_stop_message(f"stop {message}x")
    assert not is_stop_message(f"x{message} lopeta")
