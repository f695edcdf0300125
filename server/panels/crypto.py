"""Encryption of volunteers' contact details: Fernet (AES-128-CBC + HMAC) via MultiFernet.

``KAIKU_PANEL_KEYS`` lists Fernet keys, newest first: new values are encrypted with the
first, any listed key decrypts. Rotation is "prepend a new key, run ``kaiku panels
rotate-keys``, then drop the old key". Development derives one key from the secret key
with HKDF, so a fresh checkout works but production must configure its own keys.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from server.settings import Settings

__all__ = ["ContactCipher", "InvalidToken", "cipher_from_settings", "derived_key"]


def derived_key(secret: str) -> str:
    """A Fernet key derived from ``secret`` (development default only)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kaiku-panel-contact").derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(raw).decode()


class ContactCipher:
    """Encrypts and decrypts one text value; ``None`` stays ``None`` (erased stays erased)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one panel key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def encrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str | None) -> str | None:
        """Plain text, or raise :class:`InvalidToken` when no configured key fits."""
        if token is None:
            return None
        return self._fernet.decrypt(token.encode()).decode()

    def rotate(self, token: str | None) -> str | None:
        """Re-encrypt under the current (first) key."""
        if token is None:
            return None
        return self._fernet.rotate(token.encode()).decode()


def cipher_from_settings(settings: Settings) -> ContactCipher:
    return _cipher(settings.panel_keys, settings.effective_secret_key)


@functools.lru_cache(maxsize=8)
def _cipher(panel_keys: str, secret: str) -> ContactCipher:
    keys = [k.strip() for k in panel_keys.split(",") if k.strip()]
    return ContactCipher(keys or [derived_key(secret)])
