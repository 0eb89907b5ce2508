"""The permission notices (js/lib/permission_notice.js) in Chromium: "Bob asks to speak"
with Grant and Deny, names as text, the requests a click sends, French, and no listener
left once aborted.

The module is bundled alone with the project's esbuild (CallView imports it) and mounted
on the test page of tests/browser/test_renderers.py; ``request`` records what it is asked.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from streamcall_widget.widgets.strings import STRINGS
from tests.browser.test_renderers import browser, page

from .bundle import bundle_module

__all__ = ["browser", "page"]


MOUNT_JS = """
async (source) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const { createPermissionNotices } = await import(url);
  URL.revokeObjectURL(url);
  window.sent = [];
  window.controller = new AbortController();
  const request = (kind, fields) => sent.push([kind, fields]);
  window.notices = createPermissionNotices(request, controller.signal);
  notices.element.classList.add("sc-root");
  document.body.append(notices.element);
}
"""

SHOW_JS = """
([asked, strings]) => notices.update(asked, (key, ...args) =>
  (strings[key] || key).replace(/%(\\d+)\\$s/g, (m, i) => args[Number(i) - 1] ?? m))
"""


def _bundle() -> str:
    """js/lib/permission_notice.js with what it imports, as one ES module."""
    return bundle_module("js/lib/permission_notice.js")


def _asked(user: str, name: str, *permissions: str) -> dict[str, Any]:
    return {"user_id": user, "name": name, "permissions": list(permissions)}


def test_notices_ask_grant_deny_and_clean_up(page: Page) -> None:
    """One line per request in words of its language, Grant / Deny send their requests
    for that user, an empty list hides the notices, aborting stops the clicks."""
    page.evaluate(MOUNT_JS, _bundle())
    assert page.locator(".sc-asks").is_hidden()
    asked = [
        _asked("bob", "<b>Bob</b>", "send-audio"),
        _asked("carol", "Carol", "send-audio", "send-video"),
    ]
    page.evaluate(SHOW_JS, [asked, STRINGS["en"]])
    lines = page.locator(".sc-ask")
    assert lines.locator("span").all_inner_texts() == [
        "<b>Bob</b> asks to speak",
        "Carol asks for send-audio, send-video",
    ]
    lines.nth(0).get_by_role("button", name="Grant").click()
    lines.nth(1).get_by_role("button", name="Deny").click()
    assert page.evaluate("sent") == [
        ["grant_permissions", {"user_id": "bob", "permissions": ["send-audio"]}],
        ["deny_permissions", {"user_id": "carol", "permissions": ["send-audio", "send-video"]}],
    ]

    page.evaluate(SHOW_JS, [asked[:1], STRINGS["fr"]])
    assert lines.locator("span").all_inner_texts() == ["<b>Bob</b> demande à parler"]
    assert lines.get_by_role("button").all_inner_texts() == ["Accorder", "Refuser"]
    page.evaluate("() => controller.abort()")
    lines.get_by_role("button", name="Accorder").click()
    assert len(page.evaluate("sent")) == 2
    page.evaluate(SHOW_JS, [[], STRINGS["en"]])
    assert page.locator(".sc-asks").is_hidden()
