"""The DTMF keypad (js/lib/keypad.js) in Chromium: layout, accessible names, clicks and
typed keys, and a cleanup that leaves nothing listening.

The module is bundled on its own with the project's esbuild (it is not wired into a widget
bundle by itself) and imported into a blank page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from playwright.sync_api import Page

from streamcall_widget.widgets.assets import load_css
from streamcall_widget.widgets.strings import STRINGS
from tests.browser.chromium import launch_chromium

from .bundle import bundle_module

ORIGIN = "http://localhost:8766"

MOUNT_JS = """
async ([source, strings]) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const { createKeypad } = await import(url);
  URL.revokeObjectURL(url);
  window.tones = [];
  window.keypad = createKeypad({
    onTones: (tones) => window.tones.push(tones),
    text: (key) => strings[key] ?? key,
  });
  document.body.append(window.keypad.element);
}
"""


@pytest.fixture(scope="module")
def keypad_source() -> str:
    """js/lib/keypad.js bundled with its imports as one ES module."""
    return bundle_module("js/lib/keypad.js")


@pytest.fixture
def page(keypad_source: str) -> Iterator[Page]:
    """A page with the stylesheet and a French keypad; any page error fails the test."""
    with launch_chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        html = f"<!doctype html><html><head><style>{load_css()}</style></head><body></body></html>"
        page.route(f"{ORIGIN}/**", lambda route: route.fulfill(body=html, content_type="text/html"))
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{ORIGIN}/")
        page.evaluate(MOUNT_JS, [keypad_source, STRINGS["fr"]])
        yield page
        context.close()
        assert errors == []


def tones(page: Page) -> list[Any]:
    """What ``onTones`` was called with, in order."""
    return cast(list[Any], page.evaluate("window.tones"))


def test_keypad_sends_each_pressed_or_typed_digit_at_once(page: Page) -> None:
    """Sixteen keys in four rows of four with localized names; a click sends its digit,
    typed digits (a-d too) while focused send theirs, other keys nothing; after cleanup
    nothing is sent and the keypad is gone."""
    keys = page.eval_on_selector_all(".sc-keypad-key", "keys => keys.map(k => k.dataset.key)")
    assert "".join(keys) == "123A456B789C*0#D"
    assert page.get_attribute(".sc-keypad", "aria-label") == "Clavier"
    assert page.get_attribute("[data-key='#']", "aria-label") == "Touche dièse"
    assert page.get_attribute("[data-key='5']", "aria-label") == "Touche 5"
    lefts = page.eval_on_selector_all(
        ".sc-keypad-key", "keys => keys.slice(0, 5).map(k => k.getBoundingClientRect().left)"
    )
    assert lefts[0] < lefts[1] < lefts[2] < lefts[3]
    assert lefts[4] == lefts[0]

    page.click("[data-key='5']")
    page.click("[data-key='*']")
    page.focus(".sc-keypad")
    for key in ("9", "#", "d", "x", "Enter"):
        page.keyboard.press(key)
    assert tones(page) == ["5", "*", "9", "#", "D"]

    page.evaluate("window.keypad.cleanup()")
    assert page.query_selector(".sc-keypad") is None
    page.keyboard.press("1")
    assert tones(page) == ["5", "*", "9", "#", "D"]
