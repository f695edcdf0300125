"""First load (HTML + CSS + JS + service worker; icons are inline) stays under 60 KB."""

from __future__ import annotations

import gzip

import pytest

from kiosk.pages import STATIC_DIR, render_kiosk_page
from tests.kiosk.sample import CONFIG

BUDGET = 60 * 1024


def first_load() -> dict[str, bytes]:
    """Everything a fresh tablet fetches: the page and every static file (a superset)."""
    files = {"page.html": render_kiosk_page(CONFIG, "fi").encode()}
    files.update({p.name: p.read_bytes() for p in sorted(STATIC_DIR.rglob("*")) if p.is_file()})
    return files


@pytest.mark.parametrize("name", ["kiosk.css", "kiosk.js", "outbox.js", "sw.js"])
def test_shell_files_exist(name: str) -> None:
    assert (STATIC_DIR / name).stat().st_size > 0


def test_first_load_under_budget(capsys: pytest.CaptureFixture[str]) -> None:
    files = first_load()
    raw = sum(len(body) for body in files.values())
    zipped = sum(len(gzip.compress(body, 9)) for body in files.values())
    with capsys.disabled():
        print(f"\nkiosk first load: {raw} B raw, {zipped} B gzip ({len(files)} files)")
    assert raw < BUDGET
    assert zipped < raw
