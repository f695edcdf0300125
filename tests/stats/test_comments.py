"""Managers read comments: who may, which ones, a page at a time, and nothing more."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.roles import Role
from server.catalog.lookup import load_snapshot
from server.feedback.comments import MAX_PAGE_SIZE, CommentPage
from server.feedback.models import Response
from server.feedback.statistics import HELSINKI
from server.privacy.scrub import EMAIL_MARKER, PHONE_MARKER
from tests.auth.helpers import audit_events, signed_in
from tests.feedback.helpers import answer, bearer
from tests.stats.helpers import (
    FFT_PATH,
    NPS_PATH,
    NPS_UNIT,
    PATH_UNIT,
    UNIT,
    WHEN,
    manager_key,
)
from tests.support.fixtures import Seeded

Client = TestClient[Litestar]
Run = Callable[..., Any]
URL = "/api/v1/stats/comments"
ITEM_FIELDS = {
    "comment",
    "unit",
    "path",
    "step",
    "channel",
    "contact_mode",
    "date",
    "rating",
    "review",
}


@pytest.fixture
def manager(seeded: Seeded, run: Run) -> dict[str, str]:
    return bearer(run(manager_key))


def add_comment(
    run: Run,
    comment: str | None,
    when: dt.datetime = WHEN,
    *,
    path: str = FFT_PATH,
    step: str | None = None,
    channel: str = "kiosk",
    mode: str = "in_person",
    option: str = "good",
    review: bool = False,
    misuse: bool = False,
) -> None:
    """Store one answer as ingest would have (comment already scrubbed)."""

    async def add(session: AsyncSession) -> None:
        catalog = await load_snapshot(session)
        info = catalog.path(catalog.unit_id(PATH_UNIT[path]) or 0, path)
        assert info is not None
        await session.execute(
            insert(Response).values(
                id=uuid.uuid4(),
                fingerprint="0" * 64,
                unit_id=info.unit_id,
                path_id=info.id,
                step_id=info.steps[step].id if step else None,
                kiosk_id=None,
                channel=channel,
                contact_mode=mode,
                question="recommendation" if info.scale == "nps" else "overall_experience",
                option=option,
                reasons=[],
                comment=comment,
                comment_review=review,
                language="sv",
                misuse=misuse,
                answered_at=when,
                received_at=when,
            )
        )

    run(add)


def page(client: Client, headers: dict[str, str], **params: Any) -> CommentPage:
    reply = client.get(URL, params=params, headers=headers)
    assert reply.status_code == 200, reply.text
    return msgspec.json.decode(reply.content, type=CommentPage)


def texts(client: Client, headers: dict[str, str], **params: Any) -> list[str]:
    return [item.comment for item in page(client, headers, **params).items]


def read_all(client: Client, headers: dict[str, str], **params: Any) -> list[list[str]]:
    """Every page's comments, following ``next_cursor`` to the end."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        got = page(client, headers, **params, **({"cursor": cursor} if cursor else {}))
        pages.append([item.comment for item in got.items])
        if got.next_cursor is None:
            return pages
        cursor = got.next_cursor


def test_only_managers_read_comments(
    client: Client, run: Run, seeded: Seeded, manager: dict[str, str]
) -> None:
    add_comment(run, "Hyvä palvelu")
    assert client.get(URL).status_code == 401
    for key in (seeded.kiosk_key, seeded.integration_key, seeded.metrics_key):
        reply = client.get(URL, headers=bearer(key))
        assert reply.status_code == 403
        assert reply.headers["content-type"].startswith("application/problem+json")
        assert "Hyvä" not in reply.text
    signed_in(client, run, Role.ORGANISER)
    assert client.get(URL).status_code == 403
    assert texts(client, manager) == ["Hyvä palvelu"]


def test_newest_first_with_coarse_context_only(
    client: Client, run: Run, manager: dict[str, str]
) -> None:
    # 21:30 UTC on 31 March is 00:30 on 1 April in Helsinki (summer time).
    late = dt.datetime(2026, 3, 31, 21, 30, 17, 123456, tzinfo=dt.UTC)
    add_comment(run, "vanha", late - dt.timedelta(days=3))
    add_comment(run, "uusi", late, step="paatos", channel="sms", mode="video", option="very_poor")
    add_comment(run, None, late + dt.timedelta(hours=1))  # no comment: never listed
    add_comment(run, "NPS", late - dt.timedelta(days=1), path=NPS_PATH, option="7")
    reply = client.get(URL, headers=manager)
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {"items", "next_cursor"}
    assert [set(item) for item in body["items"]] == [ITEM_FIELDS] * 3
    newest = body["items"][0]
    assert newest == {
        "comment": "uusi",
        "unit": UNIT,
        "path": FFT_PATH,
        "step": "paatos",
        "channel": "sms",
        "contact_mode": "video",
        "date": "2026-04-01",
        "rating": "very_poor",
        "review": False,
    }
    assert [item["comment"] for item in body["items"]] == ["uusi", "NPS", "vanha"]
    assert body["items"][1]["rating"] == "7"
    assert body["items"][2]["step"] is None
    # The exact time (or any time of day), the language and the answer's id stay out.
    assert "T" not in "".join(item["date"] for item in body["items"])
    assert not re.search(r"\d\d:\d\d|123456", reply.text)
    assert '"sv"' not in reply.text
    assert body["next_cursor"] is None


def test_filters(client: Client, run: Run, manager: dict[str, str]) -> None:
    october = dt.datetime(2026, 10, 14, 9, tzinfo=dt.UTC)
    add_comment(run, "kiosk", october, step="hakemus")
    add_comment(run, "sms video", october, step="paatos", channel="sms", mode="video")
    add_comment(run, "nps", october, path=NPS_PATH, option="9")
    # 22:30 UTC on 31 October is already 1 November in Helsinki (winter time, +2).
    add_comment(run, "marraskuu", dt.datetime(2026, 10, 31, 22, 30, tzinfo=dt.UTC))

    assert texts(client, manager, unit=UNIT, path=FFT_PATH, step="paatos") == ["sms video"]
    assert texts(client, manager, channel="sms") == ["sms video"]
    assert texts(client, manager, contact_mode="in_person", unit=NPS_UNIT, path=NPS_PATH) == ["nps"]
    assert sorted(texts(client, manager, unit=UNIT)) == ["kiosk", "marraskuu", "sms video"]
    assert texts(client, manager, **{"from": "2026-11-01"}) == ["marraskuu"]
    assert "marraskuu" not in texts(client, manager, to="2026-10-31")
    assert texts(client, manager, **{"from": "2026-10-15", "to": "2026-10-31"}) == []

    for params, problem in (
        ({"path": "ei-ole"}, "unknown-path"),
        ({"step": "paatos"}, "step-needs-path"),
        ({"from": "2026-11-02", "to": "2026-11-01"}, "bad-range"),
        ({"channel": "fax"}, None),
    ):
        reply = client.get(URL, params=params, headers=manager)
        assert reply.status_code == 400, params
        assert reply.headers["content-type"].startswith("application/problem+json")
        if problem:
            assert reply.json()["type"] == f"urn:kaiku:problem:{problem}"


def test_pages_are_stable_and_bounded(client: Client, run: Run, manager: dict[str, str]) -> None:
    start = dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC)
    for n in range(7):
        add_comment(run, f"c{n}", start + dt.timedelta(hours=n))
    add_comment(run, "c6 twin", start + dt.timedelta(hours=6))  # same instant: id breaks ties
    everything = texts(client, manager, limit=MAX_PAGE_SIZE)
    assert len(everything) == 8
    assert set(everything[:2]) == {"c6", "c6 twin"}
    assert everything[2:] == ["c5", "c4", "c3", "c2", "c1", "c0"]

    pages = read_all(client, manager, limit=3)
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [text for p in pages for text in p] == everything

    # A comment arriving between two pages does not shift the next one.
    first = page(client, manager, limit=3)
    add_comment(run, "newer", start + dt.timedelta(days=1))
    assert first.next_cursor is not None
    second = page(client, manager, limit=3, cursor=first.next_cursor)
    assert [i.comment for i in second.items] == everything[3:6]
    # The cursor is opaque: it does not carry the time it stands for in readable form.
    assert "2026" not in first.next_cursor

    for limit in (0, MAX_PAGE_SIZE + 1, -1):
        assert client.get(URL, params={"limit": limit}, headers=manager).status_code == 400
    for cursor in ("x", "gAAAAA" + "A" * 100, first.next_cursor[:-4]):
        reply = client.get(URL, params={"cursor": cursor}, headers=manager)
        assert reply.status_code == 400
        assert reply.json()["type"] == "urn:kaiku:problem:bad-cursor"


def test_page_size_is_capped_by_default(client: Client, run: Run, manager: dict[str, str]) -> None:
    for n in range(55):
        add_comment(run, f"c{n}", WHEN - dt.timedelta(minutes=n))
    first = page(client, manager)
    assert len(first.items) == 50
    assert first.next_cursor is not None


def test_misuse_and_review(client: Client, run: Run, manager: dict[str, str]) -> None:
    add_comment(run, "tavallinen")
    add_comment(run, "toistettu napautus", misuse=True)
    add_comment(run, "www.mainos.fi", review=True)
    add_comment(run, "mainos ja napautus", review=True, misuse=True)

    assert texts(client, manager) == ["tavallinen"]
    assert sorted(texts(client, manager, include_misuse="true")) == [
        "tavallinen",
        "toistettu napautus",
    ]
    flagged = page(client, manager, review="true")
    assert [(i.comment, i.review) for i in flagged.items] == [("www.mainos.fi", True)]
    assert sorted(texts(client, manager, review="true", include_misuse="true")) == [
        "mainos ja napautus",
        "www.mainos.fi",
    ]


def test_every_read_is_audited_without_the_text(
    client: Client, run: Run, manager: dict[str, str]
) -> None:
    add_comment(run, "Salainen palaute")
    add_comment(run, "Toinen palaute", WHEN - dt.timedelta(days=1))
    first = page(client, manager, unit=UNIT, path=FFT_PATH, limit=1)
    assert first.next_cursor is not None
    page(client, manager, unit=UNIT, path=FFT_PATH, limit=1, cursor=first.next_cursor)
    assert client.get(URL, headers=bearer("kaiku_kmg_wrong")).status_code == 401

    events = audit_events(run, "stats.comments")
    assert len(events) == 2
    assert all(e.actor.startswith("key:") and e.subject == "stats:comments" for e in events)
    assert events[0].detail == {
        "unit": UNIT,
        "path": FFT_PATH,
        "limit": "1",
        "next_page": False,
        "items": 1,
    }
    assert events[1].detail["next_page"] is True
    logged = msgspec.json.encode([e.detail for e in events]).decode()
    assert "palaute" not in logged
    assert first.next_cursor not in logged


def test_kiosk_comment_reaches_the_manager_scrubbed(
    client: Client, seeded: Seeded, manager: dict[str, str]
) -> None:
    """End to end through ingest: what the manager reads is what scrubbing left."""
    comment = "Soittakaa 040 123 4567 tai matti.meikalainen@example.fi, hyvä palvelu"
    body = answer(comment=comment, rating="poor")
    sent = client.post("/api/v1/responses", json=body, headers=bearer(seeded.kiosk_key))
    assert sent.status_code == 201, sent.text

    reply = client.get(URL, headers=manager)
    (item,) = msgspec.json.decode(reply.content, type=CommentPage).items
    assert PHONE_MARKER in item.comment
    assert EMAIL_MARKER in item.comment
    assert "hyvä palvelu" in item.comment
    for leaked in ("040", "4567", "matti", "example", body["id"], body["answered_at"][:16]):
        assert leaked not in reply.text
    assert (item.channel, item.rating, item.step) == ("kiosk", "poor", "ensitapaaminen")
    assert item.date == dt.datetime.fromisoformat(body["answered_at"]).astimezone(HELSINKI).date()
