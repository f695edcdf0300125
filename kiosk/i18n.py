"""Kiosk languages and gettext catalogs.

Texts live in ``kiosk/locale/<code>/LC_MESSAGES/messages.po`` so translators
never touch code. The ``.po`` files are read at run time with Babel (no
compiled ``.mo`` to fall out of date). A missing or fuzzy entry falls back
along the language's chain (selkosuomi → Finnish, Arabic → English) and
finally to the English msgid, so a partial catalog never shows a blank.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"

Gettext = Callable[[str], str]


@dataclass(frozen=True)
class Language:
    """One selectable kiosk language."""

    code: str
    native_name: str
    html_lang: str
    speech_lang: str
    rtl: bool = False
    fallback: str | None = None

    @property
    def dir(self) -> str:
        return "rtl" if self.rtl else "ltr"


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("fi", "Suomi", "fi", "fi-FI"),
        Language("sv", "Svenska", "sv", "sv-SE"),
        Language("en", "English", "en", "en-GB"),
        Language("selko", "Selkosuomi", "fi", "fi-FI", fallback="fi"),
        Language("ar", "العربية", "ar", "ar", rtl=True, fallback="en"),
    )
}
DEFAULT_LANGUAGE = "fi"


def N_(msgid: str) -> str:
    """Mark a module-level text for extraction; it is translated at render time."""
    return msgid


def language(code: str) -> Language:
    """Return the language for ``code``; unknown codes are a programming error."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise ValueError(
            f"unknown kiosk language {code!r}; expected one of {list(LANGUAGES)}"
        ) from None


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _messages(code: str) -> dict[str, str]:
    """Translated, non-fuzzy entries of one catalog (empty if it has none)."""
    path = catalog_path(code)
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }


def fallback_chain(code: str) -> tuple[str, ...]:
    """Catalog codes tried in order for ``code``."""
    chain: list[str] = []
    current: str | None = code
    while current is not None:
        chain.append(current)
        current = language(current).fallback
    return tuple(chain)


@cache
def gettext_for(code: str) -> Gettext:
    """A ``gettext`` function for one kiosk language."""
    catalogs = [_messages(c) for c in fallback_chain(code)]

    def gettext(msgid: str) -> str:
        for messages in catalogs:
            if msgid in messages:
                return messages[msgid]
        return msgid

    return gettext


def localised(names: Mapping[str, str], code: str) -> str:
    """Pick a name from a ``{"fi": …, "sv": …, "en": …}`` mapping along the fallback chain."""
    for candidate in (*fallback_chain(code), DEFAULT_LANGUAGE, "en"):
        if names.get(candidate):
            return names[candidate]
    return next(iter(names.values()), "")
