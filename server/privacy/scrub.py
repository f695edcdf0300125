"""Scrub free-text comments before they are stored.

A client's comment must never carry anything that points to a person, so
identity codes, phone numbers and e-mail addresses are replaced by markers
before the text reaches the database. Anything else that a human should look
at (links, abuse, shouting) is only flagged: a comment is never dropped,
because nothing a client gives may be lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import msgspec
import phonenumbers

IDENTITY_CODE_MARKER = "[henkilötunnus]"
PHONE_MARKER = "[puhelinnumero]"
EMAIL_MARKER = "[sähköposti]"

_MARKERS = {
    "identity_code": IDENTITY_CODE_MARKER,
    "phone": PHONE_MARKER,
    "email": EMAIL_MARKER,
}

# Replaces a span already found so that later detectors cannot see into it;
# it is neither a digit, a word character nor a separator.
_MASK = "\u2588"

# RFC 5322 "atext" for the local part, so unusual but legal addresses go too.
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")

# DDMMYY, century sign (+ 1800s; - Y X W V U 1900s; A-F 2000s), NNN and an
# optional check character. The date and check are not validated on purpose:
# a mistyped identity code still identifies a person.
_IDENTITY_CODE = re.compile(
    r"(?<!\d)\d{6}[-+\u2010-\u2013ABCDEFUVWXY]\d{3}[0-9A-Z]?(?!\d)", re.IGNORECASE
)

# Catches what phonenumbers does not validate: seven or more digits joined by
# the separators people type in phone numbers.
_PHONE_SEP = r"[ \u00a0\t./()\-\u2010-\u2013]"
_DIGIT_RUN = re.compile(rf"[+(]{{0,2}}(?<!\d)\d(?:{_PHONE_SEP}{{0,3}}\d){{6,}}")

# Dates and clock times ("12.3.2024", "8.00-16.00") also form long digit
# runs; they are masked before looking for runs, so runs stop at them.
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_CLOCK = r"(?:[01]?\d|2[0-3])[.:][0-5]\d"
_CALENDAR = re.compile(
    rf"(?<![\d.:])(?:{_DAY}\.{_MONTH}\.(?:\d{{4}}|\d{{2}})?|{_CLOCK})(?!\d|[.:]\d)"
)

_LINK = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:fi|se|com|net|org|eu|io|info|ax)\b",
    re.IGNORECASE,
)

# Deliberately short and mild: stems of common swear words and insults in
# Finnish, Swedish and English. A hit only asks for a human look.
_ABUSE_STEMS = (
    "vittu",
    "vitun",
    "perkele",
    "saatana",
    "paska",
    "idioot",
    "jävla",
    "skit",
    "fuck",
    "shit",
    "idiot",
)
_ABUSE = re.compile(r"\b(?:" + "|".join(_ABUSE_STEMS) + r")", re.IGNORECASE)

_REPETITION = re.compile(r"(\S)\1{5,}")

# Shouting: enough letters to be more than an acronym, nearly all capitals.
_SHOUT_MIN_LETTERS = 12
_SHOUT_UPPER_SHARE = 0.8


class ScrubResult(msgspec.Struct, frozen=True):
    """Scrubbed text plus what was removed and why a human should look."""

    text: str
    removed: tuple[str, ...]
    review_reasons: tuple[str, ...]

    @property
    def needs_review(self) -> bool:
        return bool(self.review_reasons)


def scrub_comment(text: str) -> ScrubResult:
    """Replace personal data in ``text`` with markers and flag it for review."""
    spans: list[tuple[int, int, str]] = []
    masked = text
    for kind, detect in _DETECTORS:
        found = detect(masked)
        spans.extend((start, end, kind) for start, end in found)
        masked = _mask(masked, found)
    spans.sort()
    scrubbed = _replace(text, spans)
    return ScrubResult(
        text=scrubbed,
        removed=tuple(kind for _, _, kind in spans),
        review_reasons=_review_reasons(scrubbed),
    )


def _email_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _EMAIL.finditer(text)]


def _identity_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _IDENTITY_CODE.finditer(text)]


def _phone_spans(text: str) -> list[tuple[int, int]]:
    """Validated numbers from phonenumbers, merged with long digit runs."""
    found = [
        (m.start, m.end)
        for m in phonenumbers.PhoneNumberMatcher(text, "FI", leniency=phonenumbers.Leniency.VALID)
    ]
    without_calendar = _mask(text, (m.span() for m in _CALENDAR.finditer(text)))
    found.extend(m.span() for m in _DIGIT_RUN.finditer(without_calendar))
    return _merge(found)


# Order matters: an address may hold digits and an identity code looks like a
# number, so each detector sees the text with earlier finds masked out.
_DETECTORS: tuple[tuple[str, Callable[[str], list[tuple[int, int]]]], ...] = (
    ("email", _email_spans),
    ("identity_code", _identity_spans),
    ("phone", _phone_spans),
)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = _MASK * (end - start)
    return "".join(chars)


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    parts: list[str] = []
    position = 0
    for start, end, kind in spans:
        parts.append(text[position:start])
        parts.append(_MARKERS[kind])
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _review_reasons(text: str) -> tuple[str, ...]:
    reasons = []
    if _LINK.search(text):
        reasons.append("link")
    if _ABUSE.search(text):
        reasons.append("abuse")
    if _is_shouting(text):
        reasons.append("shouting")
    if _REPETITION.search(text):
        reasons.append("repetition")
    return tuple(reasons)


def _is_shouting(text: str) -> bool:
    cased = [c for c in text if c.isupper() or c.islower()]
    if len(cased) < _SHOUT_MIN_LETTERS:
        return False
    return sum(c.isupper() for c in cased) >= _SHOUT_UPPER_SHARE * len(cased)
