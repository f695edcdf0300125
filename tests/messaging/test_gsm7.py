"""GSM-7 length and segment counting: the numbers that decide what an invitation costs."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.messaging.gsm7 import (
    BASIC_CHARACTERS,
    EXTENSION_CHARACTERS,
    fits_single_sms,
    gsm7_length,
    segment_count,
)

gsm_chars = st.sampled_from(sorted(BASIC_CHARACTERS | EXTENSION_CHARACTERS))
gsm_text = st.text(alphabet=gsm_chars, max_size=500)
non_gsm_char = st.characters(
    codec="utf-8", exclude_characters="".join(BASIC_CHARACTERS | EXTENSION_CHARACTERS)
)


@pytest.mark.parametrize("char", list("åäöÅÄÖéÉüÜ"))
def test_nordic_letters_are_one_septet(char: str) -> None:
    assert gsm7_length(char) == 1


@pytest.mark.parametrize("char", ["õ", "Õ", "š", "ž", "ç", "á", "😀", "\x1b"])
def test_characters_outside_gsm7_need_ucs2(char: str) -> None:
    assert gsm7_length("Kiitos " + char) is None
    assert not fits_single_sms(char)


@pytest.mark.parametrize("char", list("€[]{}\\|^~\f"))
def test_extension_table_characters_count_two(char: str) -> None:
    assert gsm7_length(char) == 2


def test_finnish_invitation_example() -> None:
    text = "Miten onnistuimme? Vastaa 1 min kyselyyn: https://kaiku.example/v/Ab3dE9"
    assert gsm7_length(text) == len(text)
    assert fits_single_sms(text)


def test_single_sms_boundary() -> None:
    assert fits_single_sms("a" * 160)
    assert not fits_single_sms("a" * 161)
    assert not fits_single_sms("€" * 81)  # 162 septets although only 81 characters
    assert fits_single_sms("€" * 80)


@given(gsm_text)
def test_length_is_characters_plus_one_per_extension_character(text: str) -> None:
    extras = sum(char in EXTENSION_CHARACTERS for char in text)
    assert gsm7_length(text) == len(text) + extras


@given(gsm_text, non_gsm_char, gsm_text)
def test_one_foreign_character_makes_the_whole_text_unencodable(
    before: str, char: str, after: str
) -> None:
    assert gsm7_length(before + char + after) is None


@given(st.text(max_size=200), st.text(max_size=200))
def test_length_is_additive(a: str, b: str) -> None:
    la, lb = gsm7_length(a), gsm7_length(b)
    combined = gsm7_length(a + b)
    if la is None or lb is None:
        assert combined is None
    else:
        assert combined == la + lb


@given(st.text(max_size=400))
def test_fits_single_sms_agrees_with_length(text: str) -> None:
    length = gsm7_length(text)
    assert fits_single_sms(text) == (length is not None and length <= 160)


@given(gsm_text)
def test_gsm_segments_at_least_the_arithmetic_minimum(text: str) -> None:
    septets = gsm7_length(text)
    assert septets is not None
    parts = segment_count(text)
    if septets <= 160:
        assert parts == 1
    else:
        # Packing can waste one septet per part when an escape pair would straddle it.
        assert math.ceil(septets / 153) <= parts <= math.ceil(septets / 152)


@given(st.text(max_size=400).filter(lambda t: gsm7_length(t) is None))
def test_ucs2_segments(text: str) -> None:
    units = len(text.encode("utf-16-le")) // 2
    parts = segment_count(text)
    if units <= 70:
        assert parts == 1
    else:
        assert math.ceil(units / 67) <= parts <= math.ceil(units / 66)


def test_escape_pair_is_not_split_between_parts() -> None:
    # Both are 306 septets; in the first the pair would straddle septet 153.
    assert segment_count("a" * 152 + "€" + "a" * 152) == 3
    assert segment_count("a" * 151 + "€" + "a" * 153) == 2


def test_segment_counts_at_documented_limits() -> None:
    assert segment_count("") == 1
    assert segment_count("a" * 306) == 2
    assert segment_count("a" * 307) == 3
    assert segment_count("ä" * 160 + "õ") == 3  # 161 UCS-2 units, 67 per part
    assert segment_count("õ" * 70) == 1
    assert segment_count("õ" * 134) == 2
