"""Catalogs: complete for the four main languages, in sync with the code, sane fallbacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

import kiosk
from kiosk.i18n import LANGUAGES, LOCALE_DIR, catalog_path, fallback_chain, gettext_for, localised

ROOT = Path(kiosk.__file__).parent.parent


def code_msgids() -> set[str]:
    """Every text the kiosk code marks for translation, extracted as `pybabel extract` does."""
    found = extract_from_dir(str(ROOT / "kiosk"), method_map=[("**.py", "python")])
    return {str(message) for _file, _line, message, _comments, _context in found}


def catalog(code: str) -> dict[str, str]:
    with catalog_path(code).open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id and not m.fuzzy}


def test_babel_cfg_extracts_from_the_kiosk_package() -> None:
    assert "[python: kiosk/**.py]" in (ROOT / "babel.cfg").read_text()


def test_template_is_up_to_date_with_the_code() -> None:
    with (LOCALE_DIR / "messages.pot").open("rb") as handle:
        template = {str(m.id) for m in read_po(handle) if m.id}
    assert template == code_msgids(), (
        "run: pybabel extract -F babel.cfg … (see kiosk/locale/README.md)"
    )


@pytest.mark.parametrize("code", ["fi", "sv", "en", "selko"])
def test_main_languages_are_complete(code: str) -> None:
    translated = catalog(code)
    missing = sorted(m for m in code_msgids() if not translated.get(m))
    assert missing == []


def test_arabic_covers_the_question_options_and_buttons() -> None:
    translated = catalog("ar")
    needed = [
        "Overall, how was your experience of our service?",
        "Very good",
        "Good",
        "Neither good nor poor",
        "Poor",
        "Very poor",
        "Don't know",
        "Send",
        "Skip",
        "Continue",
        "Back",
        "Thank you for your answer!",
    ]
    assert [m for m in needed if not translated.get(m)] == []


def test_fallbacks() -> None:
    assert fallback_chain("selko") == ("selko", "fi")
    assert fallback_chain("ar") == ("ar", "en")
    # a text Arabic lacks comes from English, never blank
    assert gettext_for("ar")("Enrol this tablet") == "Enrol this tablet"
    assert gettext_for("ar")("Very good") != "Very good"
    assert gettext_for("selko")("Very good") == "Tosi hyvä"
    assert gettext_for("fi")("not in any catalog") == "not in any catalog"


def test_selkosuomi_is_plainer_than_standard_finnish() -> None:
    fi, selko = catalog("fi"), catalog("selko")
    question = "Overall, how was your experience of our service?"
    assert len(selko[question].split()) < len(fi[question].split())


def test_placeholders_survive_translation() -> None:
    for code in LANGUAGES:
        for msgid, text in catalog(code).items():
            if "{seconds}" in msgid and text:
                assert "{seconds}" in text, (code, msgid)


@given(
    st.dictionaries(st.sampled_from(["fi", "sv", "en", "de"]), st.text(min_size=1), min_size=1),
    st.sampled_from(list(LANGUAGES)),
)
def test_localised_name_is_never_blank(names: dict[str, str], code: str) -> None:
    chosen = localised(names, code)
    assert chosen in names.values()
    if code in names:
        assert chosen == names[code]
