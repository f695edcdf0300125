"""Versioned consent texts, one per language. The exact text shown is what is hashed and
stored with each consent, so a later wording change never rewrites what someone agreed to."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.panels.models import ConsentText

CURRENT_VERSION = "2026-1"
LANGUAGES = ("fi", "sv", "en")
TEXTS: dict[str, dict[str, str]] = {
    CURRENT_VERSION: {
        "fi": (
            "Suostun siihen, että palvelu tallentaa antamani nimen tai lempinimen ja "
            "yhteystiedot salattuina ja voi kutsua minut asiakasraatiin. Tietojani ei "
            "yhdistetä palautevastauksiini. Voin perua suostumukseni milloin tahansa "
            "linkistä, jolloin yhteystietoni poistetaan."
        ),
        "sv": (
            "Jag samtycker till att tjänsten sparar mitt namn eller smeknamn och mina "
            "kontaktuppgifter krypterade och kan bjuda in mig till en kundpanel. Uppgifterna "
            "kopplas inte till mina svar. Jag kan när som helst återkalla mitt samtycke via "
            "länken, och då raderas mina kontaktuppgifter."
        ),
        "en": (
            "I agree that the service stores my first name or nickname and contact details "
            "encrypted and may invite me to a client panel. They are not linked to my "
            "feedback answers. I can withdraw at any time with the link, and my contact "
            "details are then erased."
        ),
    }
}


def consent_text(language: str, version: str = CURRENT_VERSION) -> str:
    texts = TEXTS[version]
    return texts.get(language, texts["en"])


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def ensure_stored(session: AsyncSession, version: str, language: str) -> None:
    """Keep a copy of the shown text in the database, so the hash can always be checked."""
    existing = await session.scalar(
        select(ConsentText).where(ConsentText.version == version, ConsentText.language == language)
    )
    if existing is None:
        session.add(
            ConsentText(version=version, language=language, text=consent_text(language, version))
        )
        await session.flush()
