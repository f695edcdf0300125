"""Length of a text in the GSM 03.38 7-bit alphabet (3GPP TS 23.038, section 6.2.1).

Why: an SMS holds 160 GSM-7 septets but only 70 UCS-2 code units, and the provider
bills per part. One character outside GSM-7 (an emoji, "õ", "š") switches the whole
message to UCS-2, so invitation texts are checked here before they are sent.
Finnish and Swedish letters (å ä ö Å Ä Ö, and é É ü Ü) are in the basic table.
"""

from __future__ import annotations

# The default alphabet, in code-point order 0x00-0x7F. 0x1B is the escape to the
# extension table, not a character of its own, so it is left out of the set below.
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_BASIC) == 128

BASIC_CHARACTERS = frozenset(_BASIC) - {"\x1b"}
"""Characters that take one septet."""

EXTENSION_CHARACTERS = frozenset("\f^{}\\[~]|€")
"""Characters of the extension table: escape + code, two septets each."""

SINGLE_GSM7_SEPTETS = 160
MULTIPART_GSM7_SEPTETS = 153  # 7 septets go to the concatenation header
SINGLE_UCS2_UNITS = 70
MULTIPART_UCS2_UNITS = 67


def _septets(char: str) -> int | None:
    if char in BASIC_CHARACTERS:
        return 1
    if char in EXTENSION_CHARACTERS:
        return 2
    return None


def _septet_sizes(text: str) -> list[int] | None:
    sizes = []
    for char in text:
        size = _septets(char)
        if size is None:
            return None
        sizes.append(size)
    return sizes


def gsm7_length(text: str) -> int | None:
    """Septets needed for `text` in GSM-7, or None if some character needs UCS-2."""
    sizes = _septet_sizes(text)
    return None if sizes is None else sum(sizes)


def fits_single_sms(text: str) -> bool:
    """True if `text` goes out as one GSM-7 SMS (at most 160 septets)."""
    length = gsm7_length(text)
    return length is not None and length <= SINGLE_GSM7_SEPTETS


def _pack(sizes: list[int], capacity: int) -> int:
    """Parts needed when units of the given sizes may not be split across parts."""
    parts, used = 1, 0
    for size in sizes:
        if used + size > capacity:
            parts, used = parts + 1, 0
        used += size
    return parts


def segment_count(text: str) -> int:
    """Parts the text is split into (and billed for); empty text still costs one part.

    An escape pair (GSM-7) or a surrogate pair (UCS-2) is never split between parts,
    which is why this packs characters rather than dividing the length.
    """
    septets = _septet_sizes(text)
    if septets is not None:
        if sum(septets) <= SINGLE_GSM7_SEPTETS:
            return 1
        return _pack(septets, MULTIPART_GSM7_SEPTETS)
    units = [2 if ord(c) > 0xFFFF else 1 for c in text]
    if sum(units) <= SINGLE_UCS2_UNITS:
        return 1
    return _pack(units, MULTIPART_UCS2_UNITS)
