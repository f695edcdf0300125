"""Comments lose identity codes, phone numbers and e-mail addresses, nothing else."""

from __future__ import annotations

import datetime
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.fi import hetu

from server.privacy.scrub import (
    EMAIL_MARKER,
    IDENTITY_CODE_MARKER,
    PHONE_MARKER,
    scrub_comment,
)

CENTURY_SIGNS = {
    "+": 1800,
    **dict.fromkeys("-YXWVU", 1900),
    **dict.fromkeys("ABCDEF", 2000),
}
CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"

# --- strategies -------------------------------------------------------------

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzåäöABCDEFGHIJKLMNOPQRSTUVWXYZÅÄÖ", min_size=1)
# A separator always holds one character that can end neither a word, an
# address nor a number, with any punctuation glued on either side.
glue = st.text(alphabet=".,!?;:()\"'", max_size=2)
boundary = st.sampled_from([" ", "  ", "\n", "\t", "(", ")", ":", ";", ",", "<", ">", '"'])
separators = st.builds(lambda a, b, c: a + b + c, glue, boundary, glue)


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


@st.composite
def identity_codes(draw: st.DrawFn) -> str:
    """Identity codes with every century sign, valid or wrong check character."""
    sign = draw(st.sampled_from(sorted(CENTURY_SIGNS)))
    century = CENTURY_SIGNS[sign]
    born = draw(st.dates(datetime.date(max(century, 1), 1, 1), datetime.date(century + 99, 12, 31)))
    individual = draw(st.integers(2, 899))
    body = f"{born:%d%m%y}{sign}{individual:03d}"
    valid: str = next(c for c in CHECK_CHARS if hetu.is_valid(body + c))
    check: str = draw(st.sampled_from([valid, *CHECK_CHARS]))
    code = body + check
    return code.lower() if draw(st.booleans()) else code


def _grouped(number: str, sizes: list[int], sep: str) -> str:
    parts, rest = [], number
    for size in sizes:
        parts.append(rest[:size])
        rest = rest[size:]
    return sep.join(p for p in [*parts, rest] if p)


@st.composite
def finnish_mobiles(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["40", "41", "42", "44", "45", "46", "49", "50"]))
    subscriber = draw(digits(draw(st.integers(6, 8))))
    fmt = draw(st.integers(0, 8))
    return [
        f"0{prefix} {_grouped(subscriber, [3], ' ')}",
        f"0{prefix}{subscriber}",
        f"0{prefix}-{subscriber}",
        f"0{prefix}-{_grouped(subscriber, [3], ' ')}",
        f"+358 {prefix} {subscriber}",
        f"+358{prefix}{subscriber}",
        f"358{prefix}{subscriber}",
        f"00358 {prefix} {_grouped(subscriber, [3], ' ')}",
        f"+358 (0){prefix} {_grouped(subscriber, [3, 2], ' ')}",
    ][fmt]


@st.composite
def finnish_landlines(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["9", "2", "3", "5", "6", "8", "13", "14", "17", "19"]))
    subscriber = draw(st.sampled_from("23456789")) + draw(digits(draw(st.integers(5, 6))))
    fmt = draw(st.integers(0, 4))
    return [
        f"(0{area}) {_grouped(subscriber, [3], ' ')}",
        f"0{area} {_grouped(subscriber, [3], ' ')}",
        f"0{area}-{subscriber}",
        f"+358 {area} {_grouped(subscriber, [3], ' ')}",
        f"0{area}/{subscriber}",
    ][fmt]


@st.composite
def foreign_numbers(draw: st.DrawFn) -> str:
    template = draw(
        st.sampled_from(
            [
                "+46 70-### ## ##",
                "+46 8 ### ### ##",
                "+47 ### ## ###",
                "+49 30 ########",
                "+44 20 #### ####",
                "+1 ###-###-####",
                "+372 #### ####",
            ]
        )
    )
    return "".join(draw(digits(1)) if c == "#" else c for c in template)


phone_numbers = st.one_of(finnish_mobiles(), finnish_landlines(), foreign_numbers())
emails = st.one_of(
    st.emails(),
    st.builds(
        lambda user, host, tld: f"{user}@{host}.{tld}",
        st.from_regex(r"[a-z][a-z0-9._+-]{0,15}[a-z0-9]", fullmatch=True),
        st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z]", fullmatch=True),
        st.sampled_from(["fi", "se", "com", "org", "ax"]),
    ),
)


@st.composite
def embedded(draw: st.DrawFn, items: st.SearchStrategy[str]) -> tuple[str, list[str], str]:
    """``words sep item sep words``: the text, its words and the item."""
    before = draw(st.lists(words, max_size=3))
    after = draw(st.lists(words, max_size=3))
    item = draw(items)
    text = " ".join(before) + draw(separators) + item + draw(separators) + " ".join(after)
    return text, before + after, item


def assert_words_kept(text: str, kept: list[str]) -> None:
    position = 0
    for word in kept:
        found = text.find(word, position)
        assert found >= 0, f"{word!r} lost from {text!r}"
        position = found + len(word)


# --- properties ------------------------------------------------------------
# A thousand generated identity codes, phone numbers and addresses each (issue 7 asks for
# thousands inside random text), every one of which must be scrubbed.


@settings(max_examples=1000, deadline=None)
@given(embedded(identity_codes()))
def test_identity_codes_are_scrubbed(case: tuple[str, list[str], str]) -> None:
    text, kept, code = case
    result = scrub_comment(text)
    assert code[:6] not in result.text
    assert code.upper() not in result.text.upper()
    assert not re.search(r"\d", result.text)
    assert IDENTITY_CODE_MARKER in result.text
    assert "identity_code" in result.removed
    assert_words_kept(result.text, kept)


@settings(max_examples=1000, deadline=None)
@given(embedded(phone_numbers))
def test_phone_numbers_are_scrubbed(case: tuple[str, list[str], str]) -> None:
    text, kept, number = case
    result = scrub_comment(text)
    assert not re.search(r"\d", result.text), f"{number!r} left digits in {result.text!r}"
    assert result.removed == ("phone",)
    assert PHONE_MARKER in result.text
    assert_words_kept(result.text, kept)


@settings(max_examples=1000, deadline=None)
@given(embedded(emails))
def test_email_addresses_are_scrubbed(case: tuple[str, list[str], str]) -> None:
    text, kept, address = case
    result = scrub_comment(text)
    assert address not in result.text
    assert "@" not in result.text
    assert result.removed == ("email",)
    assert_words_kept(result.text, kept)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(words, separators), max_size=8))
def test_plain_text_passes_unchanged(parts: list[tuple[str, str]]) -> None:
    text = "".join(word + sep for word, sep in parts)
    result = scrub_comment(text)
    assert result.text == text
    assert result.removed == ()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            identity_codes().map(lambda c: ("identity_code", c)),
            phone_numbers.map(lambda n: ("phone", n)),
            emails.map(lambda e: ("email", e)),
        ),
        min_size=1,
        max_size=4,
    ),
    words,
)
def test_removed_kinds_follow_the_text(items: list[tuple[str, str]], word: str) -> None:
    text = f" {word}. ".join(value for _, value in items)
    result = scrub_comment(text)
    assert result.removed == tuple(kind for kind, _ in items)
    assert result.text.count(f" {word}. ") == len(items) - 1


# --- examples --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hetu 131052-308T kiitos", f"hetu {IDENTITY_CODE_MARKER} kiitos"),
        ("(131052-308t).", f"({IDENTITY_CODE_MARKER})."),
        ("010101A123X ja 311299+0022", f"{IDENTITY_CODE_MARKER} ja {IDENTITY_CODE_MARKER}"),
        ("hetu:020304Y1234,", f"hetu:{IDENTITY_CODE_MARKER},"),
        ("soita 040 123 4567!", f"soita {PHONE_MARKER}!"),
        ("+358 40 1234567", PHONE_MARKER),
        ("0401234567", PHONE_MARKER),
        ("numero (09) 310 1691.", f"numero {PHONE_MARKER}."),
        ("ring +46 70-123 45 67", f"ring {PHONE_MARKER}"),
        ("358401234567", PHONE_MARKER),
        ("+358 (0)40 123 4567", PHONE_MARKER),
        ("040.123.4567", PHONE_MARKER),
        ("Matti.Meikalainen@example.fi.", f"{EMAIL_MARKER}."),
        ("<anna+kaiku@posti.vaasa.fi>", f"<{EMAIL_MARKER}>"),
    ],
)
def test_formats_are_replaced(text: str, expected: str) -> None:
    assert scrub_comment(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "Odotin 2 viikkoa ja sitten 3 päivää.",
        "Aika oli klo 9.30, pääsin sisään 9:45.",
        "Vuonna 2024 palvelu parani, 2023 se oli huono.",
        "Kävin 12.3.2024 ja 15.3. uudelleen.",
        "Auki 8.00-16.00, ma–pe 8.00–15.30.",
        "Sain 1 200 euroa ja 350 €.",
        "Palaute 3/2024, 24/7 palvelu, 5/5 tähteä.",
        "Huone 12, kerros 3, jonotusnumero 147.",
    ],
)
def test_ordinary_numbers_are_kept(text: str) -> None:
    result = scrub_comment(text)
    assert result.text == text
    assert result.removed == ()
    assert not result.needs_review


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Katso https://example.com/sivu", "link"),
        ("lisää www.kaiku.fi sivulla", "link"),
        ("ks. vaasa.fi", "link"),
        ("Vitun huono palvelu", "abuse"),
        ("det var skitdåligt", "abuse"),
        ("what a shitty queue", "abuse"),
        ("TÄMÄ ON AIVAN KAMALAA PALVELUA", "shouting"),
        ("kiitoooooos", "repetition"),
        ("huono!!!!!!!", "repetition"),
    ],
)
def test_suspicious_comments_are_flagged_not_dropped(text: str, reason: str) -> None:
    result = scrub_comment(text)
    assert result.text == text
    assert reason in result.review_reasons
    assert result.needs_review


@pytest.mark.parametrize(
    "text",
    ["Kiitos, KELA ja THL auttoivat.", "Hyvä palvelu, kiitos!!", "Soitin SOS-keskukseen."],
)
def test_ordinary_comments_need_no_review(text: str) -> None:
    assert scrub_comment(text).review_reasons == ()
