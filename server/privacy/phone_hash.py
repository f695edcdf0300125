"""Phone numbers: normalise to E.164, and a keyed hash so throttling never stores the number.

Quarantine and the do-not-contact list compare HMAC-SHA256(secret key, E.164). Without the
key, the hash cannot be reversed by trying every Finnish mobile number (there are only
about 10^8 of them, so a plain SHA-256 would fall in seconds).
"""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

DEFAULT_REGION = "FI"
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


class InvalidPhone(ValueError):
    """The number cannot receive a text message; the message says why (never echoes it)."""


def normalise_mobile(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164 form of a mobile number written as people write it ('040 123 4567')."""
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        raise InvalidPhone("phone is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("phone is not a valid number")
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidPhone("phone is not a mobile number, so it cannot receive a text message")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_hash(e164: str, secret_key: str) -> str:
    """Keyed hash of an E.164 number (hex); the same number always gives the same hash."""
    return hmac.new(secret_key.encode(), f"phone:{e164}".encode(), hashlib.sha256).hexdigest()
