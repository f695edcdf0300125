"""The listen button reads the screen aloud in the page's language, where a voice exists.

Headless Chromium has no voices, so the test gives the page a speech synthesiser with
Finnish and Swedish voices that records what it is asked to say.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.kiosk_driver import enrolled_page, start

pytestmark = pytest.mark.browser
FAKE_SPEECH = """
window.__spoken = [];
const voices = [{lang: 'fi-FI', name: 'Satu'}, {lang: 'sv-SE', name: 'Alva'}];
class FakeUtterance { constructor(text) { this.text = text; this.lang = ''; this.voice = null; } }
Object.defineProperty(window, 'SpeechSynthesisUtterance', {value: FakeUtterance});
Object.defineProperty(window, 'speechSynthesis', {value: {
  getVoices: () => voices, cancel: () => {}, addEventListener: () => {},
  speak: (u) => window.__spoken.push({text: u.text, lang: u.lang, voice: u.voice && u.voice.name}),
}});
"""


@pytest.mark.parametrize(("lang", "voice"), [("fi", "Satu"), ("sv", "Alva")])
def test_listen_reads_the_question_and_choices(
    live_kiosk: Any, browser: Browser, lang: str, voice: str
) -> None:
    context, page = enrolled_page(browser, live_kiosk, lang)
    page.add_init_script(FAKE_SPEECH)
    page.reload()
    start(page)
    listen = page.locator("#listen")
    expect(listen).to_be_visible()
    listen.click()
    spoken = page.evaluate("window.__spoken")
    assert len(spoken) == 1
    question = page.locator("section.screen:visible h1").inner_text().strip()
    first_word = page.locator("section.screen:visible button[data-rating] .word").first
    assert question in spoken[0]["text"]
    assert first_word.inner_text().strip() in spoken[0]["text"]
    assert spoken[0]["lang"].startswith(lang)
    assert spoken[0]["voice"] == voice
    context.close()


def test_listen_is_hidden_without_a_voice_for_the_language(
    live_kiosk: Any, browser: Browser
) -> None:
    context, page = enrolled_page(browser, live_kiosk, "en")
    page.add_init_script(FAKE_SPEECH)
    page.reload()
    start(page)
    expect(page.locator("#listen")).to_be_hidden()
    context.close()
