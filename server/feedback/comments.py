"""Managers read clients' comments: scrubbed text with coarse context, a page at a time.

Each item says what the answer was about (path, step, channel, contact mode, rating) and
the Helsinki day it was given, never the exact time, the language, the kiosk or the
answer's id: any of those narrows down who wrote it. The page cursor holds the position
of the last item (its exact time and id), so it is encrypted with a key derived from the
secret key: callers can hand it back but not read it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import uuid
from typing import Any

import msgspec
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.ext.asyncio import AsyncEngine

from server.catalog.lookup import CatalogSnapshot
from server.errors import Problem
from server.feedback.comment_queries import Position, comment_page
from server.feedback.scales import Channel, ContactMode
from server.feedback.statistics import HELSINKI
from server.feedback.stats_queries import StatsFilter

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_CURSOR_LENGTH = 400


class CommentItem(msgspec.Struct):
    """One comment as a manager sees it (already scrubbed of identity codes, phone
    numbers and e-mail addresses when it was stored)."""

    comment: str
    unit: str
    path: str
    step: str | None
    channel: Channel
    contact_mode: ContactMode
    date: dt.date
    rating: str
    review: bool


class CommentPage(msgspec.Struct):
    """A page of comments, newest first; ``next_cursor`` fetches the next, None at the end."""

    items: list[CommentItem]
    next_cursor: str | None


async def read_comments(
    engine: AsyncEngine,
    where: StatsFilter,
    catalog: CatalogSnapshot,
    secret_key: str,
    *,
    review: bool,
    cursor: str | None,
    limit: int,
) -> CommentPage:
    """One page after ``cursor``; a cursor this server did not issue is a 400."""
    after = _decode_cursor(secret_key, cursor) if cursor else None
    async with engine.connect() as conn:
        rows = await comment_page(conn, where, review=review, after=after, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = (
        _encode_cursor(secret_key, Position(page[-1].answered_at, page[-1].id)) if more else None
    )
    return CommentPage([_item(row, catalog) for row in page], next_cursor)


def _item(row: Any, catalog: CatalogSnapshot) -> CommentItem:
    info = catalog.paths_by_id.get(row.path_id)
    return CommentItem(
        comment=row.comment,
        unit=info.unit_code if info else "",
        path=info.code if info else f"#{row.path_id}",
        step=catalog.step_codes.get(row.step_id) if row.step_id else None,
        channel=row.channel,
        contact_mode=row.contact_mode,
        date=row.answered_at.astimezone(HELSINKI).date(),
        rating=row.option,
        review=row.comment_review,
    )


def _fernet(secret_key: str) -> Fernet:
    key = hmac.new(secret_key.encode(), b"comments-cursor", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _encode_cursor(secret_key: str, position: Position) -> str:
    plain = f"{position.answered_at.isoformat()}|{position.id.hex}".encode()
    return _fernet(secret_key).encrypt(plain).decode()


def _decode_cursor(secret_key: str, cursor: str) -> Position:
    try:
        when, _, hex_id = _fernet(secret_key).decrypt(cursor.encode()).decode().partition("|")
        return Position(dt.datetime.fromisoformat(when), uuid.UUID(hex=hex_id))
    except (InvalidToken, ValueError, binascii.Error):
        raise Problem(
            400, "bad-cursor", "Unknown cursor: use next_cursor from a previous page."
        ) from None
