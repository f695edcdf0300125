"""Answer-link tokens and the values derived from them.

The token is the only secret in an SMS link: 128 random bits from ``secrets``, stored only
as its SHA-256, so a database dump cannot be used to answer. The form nonce and the answer
id are derived with the server's secret key, so neither can be computed by anyone else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

TOKEN_BYTES = 16  # 128 bits; 22 URL-safe characters keep the SMS short


def new_token() -> tuple[str, str]:
    """A fresh token and the hash to store."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _mac(secret_key: str, purpose: str, value: str) -> bytes:
    return hmac.new(secret_key.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()


def form_nonce(secret_key: str, token_hash: str) -> str:
    """Hidden form field binding a POST to a page Kaiku rendered for this link (CSRF)."""
    return _mac(secret_key, "answer-form", token_hash).hex()[:32]


def nonce_ok(secret_key: str, token_hash: str, presented: str) -> bool:
    return hmac.compare_digest(presented.encode(), form_nonce(secret_key, token_hash).encode())


def answer_id(secret_key: str, invitation_id: uuid.UUID) -> uuid.UUID:
    """The response id for an invitation's answer.

    Deterministic, so a retried or recovered submit stores the answer exactly once; keyed,
    so nobody without the secret key can link a response row back to its invitation.
    """
    return uuid.UUID(bytes=_mac(secret_key, "answer-id", str(invitation_id))[:16], version=4)


def receipt_secret(secret_key: str) -> str:
    """The token in the delivery-receipt callback URL (46elks does not sign its callbacks)."""
    return _mac(secret_key, "sms-receipts", "46elks").hex()[:32]
