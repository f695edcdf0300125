"""Volunteer storage: encrypted at rest, no link to responses, rotation, withdrawal, purge."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.models import AuditEvent
from server.panels import consent, volunteers
from server.panels.crypto import ContactCipher, InvalidToken
from server.panels.models import Consent, ContactRead, Volunteer, VolunteerExperience
from server.schema import Base
from server.settings import Settings
from tests.panels.helpers import NOW, add_volunteer
from tests.support.fixtures import Seeded

PANEL_TABLES = sorted(
    str(m.class_.__tablename__)
    for m in Base.registry.mappers
    if m.class_.__module__ == "server.panels.models"
)


@pytest.fixture
def cipher() -> ContactCipher:
    return ContactCipher([Fernet.generate_key().decode()])


def _all(run: Any, model: Any) -> list[Any]:
    async def fetch(session: AsyncSession) -> list[Any]:
        return list(await session.scalars(select(model)))

    return list(run(fetch))


def test_no_panel_table_refers_to_responses() -> None:
    assert {"volunteers", "panel_members", "contact_reads"} <= set(PANEL_TABLES)
    for name in PANEL_TABLES:
        table = Base.metadata.tables[name]
        targets = {fk.column.table.name for fk in table.foreign_keys}
        assert not targets & {"responses", "response_rollups"}, name
        assert not any("response" in column.name for column in table.columns), name


def test_opt_in_stores_consent_with_text_hash_version_and_channel(
    run: Any, seeded: Seeded, cipher: ContactCipher
) -> None:
    add_volunteer(run, cipher, language="sv", channel="sms", sentiment="negative")

    [given] = _all(run, Consent)
    [experience] = _all(run, VolunteerExperience)
    assert given.consent_version == consent.CURRENT_VERSION
    assert given.language == "sv"
    assert given.channel == "sms"
    assert given.text_sha256 == consent.text_sha256(consent.consent_text("sv"))
    assert given.given_at == NOW
    assert given.withdrawn_at is None
    assert experience.sentiment == "negative"
    assert experience.channel == "sms"


def test_sentiment_is_kept_only_when_agreed(
    run: Any, seeded: Seeded, cipher: ContactCipher
) -> None:
    add_volunteer(run, cipher)

    [experience] = _all(run, VolunteerExperience)
    assert experience.sentiment is None


def test_contact_columns_hold_ciphertext_that_another_key_cannot_open(
    run: Any, seeded: Seeded, cipher: ContactCipher
) -> None:
    add_volunteer(run, cipher, "Aino", email="aino@example.fi")

    async def raw(session: AsyncSession) -> Any:
        result = await session.execute(
            text("SELECT first_name_enc, phone_enc, email_enc FROM volunteers")
        )
        return result.one()

    row = run(raw)
    joined = " ".join(row)
    for clear in ("Aino", "401234567", "aino@example.fi"):
        assert clear not in joined
    assert cipher.decrypt(row[0]) == "Aino"
    stranger = ContactCipher([Fernet.generate_key().decode()])
    with pytest.raises(InvalidToken):
        stranger.decrypt(row[1])


def test_rotation_reencrypts_under_the_new_key(run: Any, seeded: Seeded) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    add_volunteer(run, ContactCipher([old_key]))
    both = ContactCipher([new_key, old_key])

    async def rotate(session: AsyncSession) -> int:
        return await volunteers.rotate_keys(session, both)

    assert run(rotate) == 1
    [stored] = _all(run, Volunteer)
    assert ContactCipher([new_key]).decrypt(stored.phone_enc) == "+358401234567"
    with pytest.raises(InvalidToken):
        ContactCipher([old_key]).decrypt(stored.phone_enc)


def test_every_contact_read_is_recorded_and_audited(
    run: Any, seeded: Seeded, cipher: ContactCipher
) -> None:
    add_volunteer(run, cipher, "Aino")
    add_volunteer(run, cipher, "Bertil", phone="+358501112223")
    ids = [v.id for v in _all(run, Volunteer)]

    async def read(session: AsyncSession) -> list[volunteers.Contact]:
        return await volunteers.read_contacts(session, cipher, "user:7", ids, "call them", NOW)

    contacts = run(read)
    assert sorted(c.first_name or "" for c in contacts) == ["Aino", "Bertil"]
    [logged] = _all(run, ContactRead)
    assert (logged.actor, sorted(logged.volunteer_ids), logged.reason) == (
        "user:7",
        sorted(ids),
        "call them",
    )
    events = [e for e in _all(run, AuditEvent) if e.action == "panels.contacts-read"]
    assert len(events) == 1
    assert events[0].actor == "user:7"


def test_a_read_without_a_reason_is_refused(
    run: Any, seeded: Seeded, cipher: ContactCipher
) -> None:
    add_volunteer(run, cipher)

    async def read(session: AsyncSession) -> Any:
        return await volunteers.read_contacts(session, cipher, "user:1", [1], "  ", NOW)

    with pytest.raises(volunteers.OptInError):
        run(read)


def test_withdrawal_erases_contact_details_and_marks_consent(
    run: Any, seeded: Seeded, cipher: ContactCipher
) -> None:
    token = add_volunteer(run, cipher, email="aino@example.fi")
    later = NOW + dt.timedelta(days=1)

    async def go(session: AsyncSession) -> str | None:
        return await volunteers.withdraw(session, token, later)

    assert run(go) == "fi"
    [stored] = _all(run, Volunteer)
    [given] = _all(run, Consent)
    assert (stored.first_name_enc, stored.phone_enc, stored.email_enc) == (None, None, None)
    assert stored.withdrawn_at == later
    assert given.withdrawn_at == later


def test_purge_counts_first_then_erases_only_the_inactive(
    run: Any, seeded: Seeded, cipher: ContactCipher
) -> None:
    add_volunteer(run, cipher, "Old", now=NOW - dt.timedelta(days=800))
    add_volunteer(run, cipher, "Recent", now=NOW - dt.timedelta(days=30))

    def purge(dry_run: bool) -> int:
        async def go(session: AsyncSession) -> int:
            return await volunteers.purge(session, 24, NOW, dry_run=dry_run)

        return int(run(go))

    assert purge(True) == 1
    assert len(_all(run, Volunteer)) == 2
    assert purge(False) == 1
    [left] = _all(run, Volunteer)
    assert cipher.decrypt(left.first_name_enc) == "Recent"
    assert len(_all(run, Consent)) == 1


def test_development_key_is_derived_and_configured_keys_are_used() -> None:
    from server.panels.crypto import cipher_from_settings

    derived = cipher_from_settings(Settings())
    assert derived.decrypt(derived.encrypt("x")) == "x"
    key = Fernet.generate_key().decode()
    configured = cipher_from_settings(Settings(panel_keys=f" {key} "))
    assert ContactCipher([key]).decrypt(configured.encrypt("y")) == "y"
