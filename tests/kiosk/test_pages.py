"""The kiosk page as the server renders it: every language, both scales, safe config."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.components import FFT_OPTIONS
from kiosk.i18n import LANGUAGES, gettext_for
from kiosk.pages import KioskConfig, ServiceChoice, client_config, config_json, render_kiosk_page
from tests.kiosk.htmlscan import by_id, find, scan
from tests.kiosk.sample import CONFIG, SINGLE

FFT_ORDER = ["very_good", "good", "neither", "poor", "very_poor", "dont_know"]


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_page_declares_language_and_direction(lang: str) -> None:
    (root,) = find(scan(render_kiosk_page(CONFIG, lang)), "html")
    expected = LANGUAGES[lang]
    assert root.attrs["lang"] == expected.html_lang
    assert root.attrs["dir"] == ("rtl" if lang == "ar" else "ltr")


def test_selkosuomi_is_finnish_and_arabic_is_right_to_left() -> None:
    assert 'lang="fi"' in render_kiosk_page(CONFIG, "selko")[:80]
    assert 'dir="rtl"' in render_kiosk_page(CONFIG, "ar")[:80]


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_six_fft_answers_in_order_with_face_and_word(lang: str) -> None:
    nodes = scan(render_kiosk_page(CONFIG, lang))
    buttons = [
        n
        for n in find(nodes, "button")
        if "data-rating" in n.attrs and n.attrs["data-rating"] in FFT_ORDER
    ]
    assert [b.attrs["data-rating"] for b in buttons] == FFT_ORDER
    _ = gettext_for(lang)
    assert [b.content for b in buttons] == [_(o.label) for o in FFT_OPTIONS]
    assert all(word for word in (b.content for b in buttons))
    faces = [
        n.attrs["href"] for n in find(nodes, "use") if (n.attrs["href"] or "").startswith("#face-")
    ]
    assert [f"#face-{v}" for v in FFT_ORDER] == faces[:6]


def test_fft_words_are_translated() -> None:
    words = {lang: scan(render_kiosk_page(CONFIG, lang)) for lang in ("fi", "sv", "en", "selko")}
    very_good = {
        lang: find(nodes, "button", data_rating="very_good")[0].content
        for lang, nodes in words.items()
    }
    assert very_good == {
        "fi": "Erittäin hyvä",
        "sv": "Mycket bra",
        "en": "Very good",
        "selko": "Tosi hyvä",
    }


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_nps_scale_zero_to_ten_with_end_labels(lang: str) -> None:
    nodes = scan(render_kiosk_page(CONFIG, lang))
    numbers = [b.content for b in find(nodes, "button") if b.attrs.get("class") == "answer n"]
    assert numbers == [str(n) for n in range(11)]
    assert find(nodes, "button", data_rating="0")[0].attrs["aria-describedby"] == "nps-low"
    assert by_id(nodes, "nps-high").content.startswith("10")


def test_single_fft_service_skips_service_choice_and_nps() -> None:
    nodes = scan(render_kiosk_page(SINGLE, "fi"))
    assert not [n for n in nodes if n.attrs.get("id") in {"screen-service", "screen-nps"}]
    assert "hidden" not in by_id(nodes, "screen-fft").attrs


def test_several_services_start_with_service_choice_in_chosen_language() -> None:
    nodes = scan(render_kiosk_page(CONFIG, "sv"))
    assert "hidden" not in by_id(nodes, "screen-service").attrs
    assert "hidden" in by_id(nodes, "screen-fft").attrs
    names = [b.content for b in find(nodes, "button") if "data-service" in b.attrs]
    assert names == ["Utkomststöd – första mötet", "Barnskydd", "Handikappservice"]
    # selkosuomi falls back to the Finnish name, Arabic to English
    selko = [
        b.content
        for b in find(scan(render_kiosk_page(CONFIG, "selko")), "button")
        if "data-service" in b.attrs
    ]
    assert selko[1] == "Lastensuojelu"
    arabic = [
        b.content
        for b in find(scan(render_kiosk_page(CONFIG, "ar")), "button")
        if "data-service" in b.attrs
    ]
    assert arabic[1] == "Child welfare"


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_no_inline_executable_script(lang: str) -> None:
    nodes = scan(render_kiosk_page(CONFIG, lang))
    for script in find(nodes, "script"):
        if script.attrs.get("type") == "application/json":
            assert "src" not in script.attrs
        else:
            assert (script.attrs.get("src") or "").startswith("/static/")
            assert script.content == ""
    assert not [n for n in nodes for a in n.attrs if a.startswith("on") or a == "style"]


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_ids_are_unique_and_every_screen_has_a_focusable_heading(lang: str) -> None:
    nodes = scan(render_kiosk_page(CONFIG, lang))
    ids = Counter(n.attrs["id"] for n in nodes if n.attrs.get("id"))
    assert [i for i, count in ids.items() if count > 1] == []
    for section in find(nodes, "section"):
        heading = by_id(nodes, str(section.attrs["aria-labelledby"]))
        assert heading.tag == "h1"
        assert heading.attrs["tabindex"] == "-1"
        assert heading.content


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_config_json_round_trips(lang: str) -> None:
    nodes = scan(render_kiosk_page(CONFIG, lang))
    data = json.loads(by_id(nodes, "kiosk-config").content)
    assert data == client_config(CONFIG, lang)
    assert data["lang"] == lang
    assert data["services"][0] == {
        "path": "toimeentulotuki",
        "step": "ensitapaaminen",
        "name": CONFIG.services[0].names.get(lang, data["services"][0]["name"]),
        "scale": "fft",
        "reasons": ["waiting_time", "being_heard", "clear_information", "getting_help"],
        "comments": True,
    }
    assert data["api"]["batch"] == "/api/v1/responses/batch"
    assert "{seconds}" not in by_id(nodes, "idle-text").content


def test_language_links_use_native_names_and_mark_current() -> None:
    nodes = scan(render_kiosk_page(CONFIG, "sv"))
    links = [n for n in find(nodes, "a") if "data-lang" in n.attrs]
    assert [n.content for n in links] == ["Suomi", "Svenska", "English", "Selkosuomi", "العربية"]
    assert [n.attrs.get("aria-current") for n in links] == [None, "true", None, None, None]
    assert links[0].attrs["href"] == "/k/vaasa-aikuis-1"
    assert links[1].attrs["href"] == "/k/vaasa-aikuis-1?lang=sv"


@given(st.text(), st.text())
def test_config_json_cannot_break_out_of_its_script(kiosk: str, name: str) -> None:
    config = KioskConfig(
        kiosk=kiosk,
        organisation={"fi": name},
        services=(ServiceChoice("p", None, {"fi": name}, "x", "fft", (), False),),
    )
    text = str(config_json(client_config(config, "fi")))
    assert "<" not in text
    assert json.loads(text)["services"][0]["name"] == name
    page = render_kiosk_page(config, "fi")
    assert json.loads(by_id(scan(page), "kiosk-config").content)["kiosk"] == kiosk


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kiosk language"):
        render_kiosk_page(CONFIG, "de")
