"""Phone normalisation, the keyed phone hash, and link tokens."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.feedback import tokens
from server.privacy.phone_hash import InvalidPhone, normalise_mobile, phone_hash

KEY = "k" * 40


@pytest.mark.parametrize(
    "raw", ["040 123 4567", "+358 40 1234567", "0401234567", "+358-40-123-4567", "(040) 1234567"]
)
def test_finnish_mobile_written_any_way_becomes_e164(raw: str) -> None:
    assert normalise_mobile(raw) == "+358401234567"


@pytest.mark.parametrize("raw", ["09 1234 567", "+358 9 1234567", "hello", "123", "+358 40 12"])
def test_landlines_and_garbage_are_refused_without_echoing_the_number(raw: str) -> None:
    with pytest.raises(InvalidPhone) as info:
        normalise_mobile(raw)
    assert raw not in str(info.value)


def test_phone_hash_is_keyed_and_stable() -> None:
    assert phone_hash("+358401234567", KEY) == phone_hash("+358401234567", KEY)
    assert phone_hash("+358401234567", KEY) != phone_hash("+358401234568", KEY)
    assert phone_hash("+358401234567", KEY) != phone_hash("+358401234567", "other" * 8)
    assert "358401234567" not in phone_hash("+358401234567", KEY)


@given(st.text(max_size=40))
def test_normalise_never_crashes_on_any_text(raw: str) -> None:
    try:
        number = normalise_mobile(raw)
    except InvalidPhone:
        return
    assert number.startswith("+")
    assert number[1:].isdigit()


def test_tokens_have_128_bits_and_only_the_hash_is_kept() -> None:
    seen = set()
    for _ in range(200):
        token, hashed = tokens.new_token()
        assert len(token) >= 22
        assert token not in hashed
        assert hashed == tokens.hash_token(token)
        assert len(hashed) == 64
        seen.add(token)
    assert len(seen) == 200


def test_nonce_and_answer_id_depend_on_the_secret_key() -> None:
    _, hashed = tokens.new_token()
    nonce = tokens.form_nonce(KEY, hashed)
    assert tokens.nonce_ok(KEY, hashed, nonce)
    assert not tokens.nonce_ok("x" * 40, hashed, nonce)
    assert not tokens.nonce_ok(KEY, hashed, "")
    invitation = uuid.uuid4()
    assert tokens.answer_id(KEY, invitation) == tokens.answer_id(KEY, invitation)
    assert tokens.answer_id(KEY, invitation) != tokens.answer_id("x" * 40, invitation)
    assert tokens.answer_id(KEY, invitation) != invitation
