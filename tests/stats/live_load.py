"""SMS invitations and a client panel for a live Kaiku, driven the way their users drive them.

* The integrating system posts "contact ended" to ``/api/v1/contacts``; some numbers were
  texted moments ago, so Kaiku skips them (quarantine).
* Kaiku's own outbox worker texts the rest through the loopback 46elks.
* 46elks reports each text to Kaiku's callback: most delivered, some failed.
* Clients open the link in their text and answer on the answer page; from the thank-you
  page some volunteer for client panels.
* An organiser signs in, creates a panel over the API and selects and invites members;
  the invited accept through the link in their text.

Nothing is written to the database behind Kaiku's back except the organiser's account,
which an administrator would create.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.roles import Role
from server.auth.users import create_user
from tests.auth.helpers import PASSWORD
from tests.sms.helpers import LINK as ANSWER_LINK
from tests.stats.helpers import FFT_PATH, UNIT
from tests.support.fake_46elks import Fake46elks, ReceivedSms
from tests.support.live import LiveKaiku

T = TypeVar("T")

#: Per round, each a multiple of the small-cell threshold (5), so every invitation state's
#: exposed counter moves: 20 texted (and 5 skipped), 5 of them reported failed, 15 delivered,
#: 10 answered (5 good, 5 poor): a response rate of 50 %.
TEXTED = 20
QUARANTINED = 5
FAILED = 5
ANSWER_RATINGS = ("good",) * 5 + ("poor",) * 5
SMS_STEP = "paatos"
SMS_CONTACT_MODE = "video"
PANEL = "toimeentulo-live"
PANEL_SEATS = 5
ORGANISER = "organiser-live"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_NONCE = re.compile(r'name="nonce" value="([^"]+)"')
_CTX = re.compile(r'name="ctx" value="([^"]+)"')
_JOIN = re.compile(r'href="(/panels/join\?ctx=[^"]+)"')
_RSVP = re.compile(r"https?://\S+(/panels/rsvp/\S+)")


def wait_until(check: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not done after {timeout} s")
        time.sleep(0.05)


def _field(pattern: re.Pattern[str], page: httpx.Response) -> str:
    match = pattern.search(page.text)
    assert match, f"{page.request.url}: no {pattern.pattern!r} in the page ({page.status_code})"
    return html.unescape(match.group(1))


@dataclass(frozen=True)
class Answered:
    """A client who answered their text; ``join`` is the thank-you page's panel link."""

    phone: str
    rating: str
    join: str


class Texts:
    """What reaches the phones: the texts the fake 46elks accepted, each read once."""

    def __init__(self, fake: Fake46elks) -> None:
        self.fake = fake
        self._seen = 0

    def next(self, count: int) -> list[ReceivedSms]:
        """The next ``count`` texts Kaiku's outbox worker hands to the gateway."""

        def arrived() -> list[ReceivedSms]:
            new = self.fake.messages[self._seen :]
            return new if len(new) >= count else []

        texts = wait_until(arrived, f"Kaiku's outbox sending {count} texts")
        assert len(texts) == count, [sms.message for sms in texts]
        self._seen += count
        return texts


def person(web: httpx.Client) -> httpx.Client:
    """``web`` for the next person: their own (empty) cookie jar, the shared connections
    (a new client costs ~0.1 s, which adds up over hundreds of requests)."""
    web.cookies.clear()
    return web


class SmsTraffic:
    """Rounds of real invitations against the Kaiku ``web`` is a client of, which texts
    through ``texts.fake``."""

    def __init__(self, live: LiveKaiku, texts: Texts, web: httpx.Client) -> None:
        self.texts = texts
        self.fake = texts.fake
        self.web = web
        self._numbers = itertools.count(1_000_001)
        self._integration = {"Authorization": f"Bearer {live.seeded.integration_key}"}

    def round(self) -> list[Answered]:
        """One round; returns the clients who answered, in order."""
        phones = [f"+35840{next(self._numbers)}" for _ in range(TEXTED)]
        for phone in phones:
            assert self._contact(phone) == "scheduled"
        for phone in phones[:QUARANTINED]:  # texted a moment ago: one text per week
            assert self._contact(phone) == "skipped"
        texts = self.texts.next(TEXTED)
        assert sorted(sms.to for sms in texts) == sorted(phones)
        for sms in texts[:FAILED]:
            self._report(sms, "failed")
        delivered = texts[FAILED:]
        for sms in delivered:
            self._report(sms, "delivered")
        answering = delivered[: len(ANSWER_RATINGS)]  # the others never answer
        return [
            self._answer(sms, rating) for sms, rating in zip(answering, ANSWER_RATINGS, strict=True)
        ]

    def _contact(self, phone: str) -> str:
        ended = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        body = {
            "idempotency_key": f"live-{uuid.uuid4()}",
            "unit": UNIT,
            "path": FFT_PATH,
            "step": SMS_STEP,
            "contact_mode": SMS_CONTACT_MODE,
            "phone": phone,
            "language": "fi",
            "contact_ended_at": ended.isoformat(),
        }
        reply = self.web.post("/api/v1/contacts", json=body, headers=self._integration)
        assert reply.status_code == 202, reply.text
        return str(reply.json()["state"])

    def _report(self, sms: ReceivedSms, status: str) -> None:
        """46elks' delivery report; a 503 (the send is not recorded yet) is retried, as
        46elks does."""

        def accepted() -> bool:
            code = self.fake.send_receipt(sms.id, status, client=self.web)
            assert code in (200, 503), code
            return code == 200

        wait_until(accepted, f"the {status} report for {sms.id}", timeout=20)

    def _answer(self, sms: ReceivedSms, rating: str) -> Answered:
        """The client opens the link in the text and answers."""
        match = ANSWER_LINK.search(sms.message)
        assert match, sms.message
        url = f"/a/{match.group(1)}"
        phone = person(self.web)
        nonce = _field(_NONCE, phone.get(url))
        thanks = phone.post(url, data={"nonce": nonce, "rating": rating, "lang": "fi"})
        assert thanks.status_code == 200, thanks.text
        return Answered(sms.to, rating, _field(_JOIN, thanks))


def volunteer(web: httpx.Client, client: Answered, name: str) -> None:
    """``client`` follows the thank-you page's panel link and joins with their own phone."""
    phone = person(web)
    form = phone.get(client.join)
    assert form.status_code == 200, form.text
    joined = phone.post(
        "/panels/join",
        data={
            "csrf_token": _field(_CSRF, form),
            "ctx": _field(_CTX, form),
            "first_name": name,
            "phone": client.phone,
            "language": "fi",
            "share_sentiment": "yes",
        },
    )
    assert joined.status_code == 200, joined.text


def recruit_panel(live: LiveKaiku, texts: Texts, web: httpx.Client) -> dict[str, object]:
    """An organiser creates a panel on the SMS path, selects and invites; everyone invited
    accepts through their text. Returns the panel's figures from the API."""

    async def organiser(session: AsyncSession) -> None:
        await create_user(session, ORGANISER, PASSWORD, [Role.ORGANISER])

    live.run(organiser)
    first_meeting = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
    with httpx.Client(base_url=live.base_url, timeout=10) as staff:
        signed_in = staff.post(
            "/staff/sign-in",
            data={
                "csrf_token": _field(_CSRF, staff.get("/staff/sign-in")),
                "username": ORGANISER,
                "password": PASSWORD,
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        panel = {
            "code": PANEL,
            "topic": "Toimeentulotuen päätökset",
            "unit": UNIT,
            "seats": PANEL_SEATS,
            "paths": [FFT_PATH],
            "meeting_dates": [first_meeting.isoformat()],
        }
        created = staff.post("/api/v1/panels", json=panel)
        assert created.status_code == 201, created.text
        invited = staff.post(f"/api/v1/panels/{PANEL}/invitations")
        assert invited.status_code == 200, invited.text
        assert invited.json()["invited"] == PANEL_SEATS
        for sms in texts.next(PANEL_SEATS):
            link = _RSVP.search(sms.message)
            assert link, sms.message
            phone = person(web)
            page = phone.get(link.group(1))
            accepted = phone.post(
                link.group(1), data={"csrf_token": _field(_CSRF, page), "choice": "accepted"}
            )
            assert accepted.status_code == 200, accepted.text
        figures: dict[str, object] = staff.get(f"/api/v1/panels/{PANEL}").json()
    return figures
