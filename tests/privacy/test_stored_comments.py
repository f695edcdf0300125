"""What reaches the database: comments already scrubbed, and suspicious ones kept and
flagged for review rather than dropped (on both database backends)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from server.feedback.models import Response
from server.privacy.scrub import EMAIL_MARKER, IDENTITY_CODE_MARKER, PHONE_MARKER
from tests.feedback.helpers import answer, bearer
from tests.support.fixtures import Seeded

PERSONAL = "hetu 131052-308T, soita 040 123 4567 tai maija@example.fi"
ABUSIVE = "Vitun huono palvelu"
PLAIN = "Kiitos, hyvä palvelu."


def test_comments_are_stored_scrubbed_and_abuse_is_flagged_not_dropped(
    client: TestClient[Litestar], seeded: Seeded, run: Any
) -> None:
    for comment in (PERSONAL, ABUSIVE, PLAIN):
        body = answer(path="aikuissosiaalityo", step=None, comment=comment)
        reply = client.post("/api/v1/responses", json=body, headers=bearer(seeded.kiosk_key))
        assert reply.status_code == 201, reply.text

    async def stored(session: Any) -> dict[str, bool]:
        rows = await session.execute(select(Response.comment, Response.comment_review))
        return {comment: review for comment, review in rows}

    comments = run(stored)
    assert comments.pop(ABUSIVE) is True
    assert comments.pop(PLAIN) is False
    [(scrubbed, review)] = comments.items()
    assert scrubbed == f"hetu {IDENTITY_CODE_MARKER}, soita {PHONE_MARKER} tai {EMAIL_MARKER}"
    assert review is False
