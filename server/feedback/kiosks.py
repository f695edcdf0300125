"""Kiosk enrolment (pairing codes → device keys) and heartbeats."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.keys import create_key, hash_secret, revoke_kiosk_keys
from server.auth.roles import Role
from server.catalog.models import Kiosk
from server.feedback.models import KioskPairing

PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen


def normalise_pairing_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


async def create_pairing_code(session: AsyncSession, kiosk: Kiosk, minutes: int) -> str:
    """A fresh code like ``K7M2-9QXD``; the caller commits and shows it to staff."""
    raw = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(8))
    session.add(
        KioskPairing(
            kiosk_id=kiosk.id,
            code_hash=hash_secret(raw),
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes),
        )
    )
    await session.flush()
    return f"{raw[:4]}-{raw[4:]}"


class PairingFailed(Exception):
    pass


async def redeem_pairing_code(session: AsyncSession, code: str) -> tuple[Kiosk, str]:
    """Use a pairing code once: the kiosk gets a new device key and older keys stop working."""
    now = dt.datetime.now(dt.UTC)
    digest = hash_secret(normalise_pairing_code(code))
    claimed = await session.execute(
        update(KioskPairing)
        .where(
            KioskPairing.code_hash == digest,
            KioskPairing.used_at.is_(None),
            KioskPairing.expires_at > now,
        )
        .values(used_at=now)
        .returning(KioskPairing.kiosk_id)
    )
    kiosk_id = claimed.scalar_one_or_none()
    if kiosk_id is None:
        raise PairingFailed("The pairing code is unknown, already used or expired.")
    kiosk = await session.get_one(Kiosk, kiosk_id)
    await revoke_kiosk_keys(session, kiosk.id)
    key = await create_key(session, f"kiosk {kiosk.code}", Role.KIOSK, kiosk_id=kiosk.id)
    return kiosk, key.secret


async def record_heartbeat(
    session: AsyncSession, kiosk_id: int, outbox_pending: int, app_version: str
) -> None:
    await session.execute(
        update(Kiosk)
        .where(Kiosk.id == kiosk_id)
        .values(
            last_seen_at=dt.datetime.now(dt.UTC),
            outbox_pending=outbox_pending,
            app_version=app_version,
        )
    )


async def kiosk_by_code(session: AsyncSession, code: str) -> Kiosk | None:
    return await session.scalar(select(Kiosk).where(Kiosk.code == code))
