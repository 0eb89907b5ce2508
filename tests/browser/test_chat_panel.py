"""The chat panel (js/lib/chat.js) in Chromium on a fake model: messages as text with
names and times, one's own on the right, the newest in view, Enter sends, a failed reply
keeps the text and says why, strings follow the language, and aborting removes listeners.

The module is bundled alone with the project's esbuild (it is not a widget entry: CallView
imports it) and mounted on FakeModel (tests/browser/fake_model.js); ``send`` records the
text and answers with the reply the test chose.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from streamcall_widget.widgets.strings import STRINGS
from tests.browser.test_renderers import browser, page, push

from .bundle import bundle_module

__all__ = ["browser", "page"]


MOUNT_JS = """
async ([source, traits]) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const { createChatPanel } = await import(url);
  URL.revokeObjectURL(url);
  const model = new FakeModel(traits);
  window.model = model;
  window.typed = [];
  window.nextReply = { ok: true };
  window.controller = new AbortController();
  const text = (key) => (model.get("_strings") || {})[key] || key;
  const send = async (value) => {
    typed.push(value);
    return nextReply;
  };
  const { element } = createChatPanel({ model, send, text, signal: controller.signal });
  element.classList.add("sc-root");
  document.body.append(element);
  window.panel = element;
}
"""


def _bundle() -> str:
    """js/lib/chat.js with what it imports, as one ES module."""
    return bundle_module("js/lib/chat.js")


def _message(user: str, text: str, *, own: bool = False, minute: int = 0) -> dict[str, Any]:
    return {
        "user_id": user,
        "name": user.title(),
        "text": text,
        "sent_at": f"2026-09-21T14:{minute:02d}:00.000Z",
        "own": own,
    }


def _shown(page: Page) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = page.evaluate(
        """() => [...panel.querySelectorAll(".sc-chat-message")].map((li) => ({
          name: li.querySelector(".sc-chat-name").textContent,
          text: li.querySelector(".sc-chat-text").textContent,
          html: li.querySelector(".sc-chat-text").innerHTML,
          own: li.classList.contains("sc-chat-own"),
          align: getComputedStyle(li).alignSelf,
          time: li.querySelector("time").getAttribute("datetime"),
        }))"""
    )
    return shown


def test_the_chat_panel_lists_sends_and_cleans_up(page: Page) -> None:
    """Messages show as text (markup stays text) with name and time, own ones on the right
    and the newest in view; Enter sends and clears the field, a failed reply keeps the text
    and shows the error; a language change relabels; aborting leaves no model listener."""
    page.evaluate(MOUNT_JS, [_bundle(), {"chat": [], "_strings": STRINGS["en"]}])
    assert page.locator(".sc-chat-empty").inner_text() == "No messages yet"
    assert page.locator("[data-action=send_message]").inner_text() == "Send"

    chat = [
        _message("bob", "<b>hi</b> alice", minute=1),
        _message("alice", "hello bob", own=True, minute=2),
    ] + [_message("bob", f"line {n}", minute=3) for n in range(30)]
    push(page, {"chat": chat})
    shown = _shown(page)
    assert [(m["name"], m["text"], m["own"]) for m in shown[:2]] == [
        ("Bob", "<b>hi</b> alice", False),
        ("Alice", "hello bob", True),
    ]
    assert shown[0]["html"] == "&lt;b&gt;hi&lt;/b&gt; alice"
    assert [m["align"] for m in shown[:2]] == ["flex-start", "flex-end"]
    assert shown[1]["time"] == "2026-09-21T14:02:00.000Z"
    assert len(shown) == 32
    assert page.locator(".sc-chat-empty").is_hidden()
    assert page.evaluate(
        """() => { const list = panel.querySelector(".sc-chat-list");
                   return list.scrollHeight > list.clientHeight
                     && list.scrollTop + list.clientHeight >= list.scrollHeight - 1; }"""
    )

    field = page.locator("[data-role=chat-text]")
    field.fill("see you")
    field.press("Enter")
    page.wait_for_function("() => typed.length === 1 && panel.querySelector('input').value === ''")
    assert page.evaluate("typed") == ["see you"]

    page.evaluate(
        "() => { nextReply = {ok: false, error: {name: 'PAYLOAD_TOO_BIG', message: 'too long'}}; }"
    )
    field.fill("x" * 50)
    page.locator("[data-action=send_message]").click()
    page.wait_for_function("() => typed.length === 2")
    page.locator(".sc-chat-error").wait_for(state="visible")
    assert page.locator(".sc-chat-error").inner_text() == "too long"
    assert field.input_value() == "x" * 50
    field.fill("   ")
    field.press("Enter")
    assert page.evaluate("typed.length") == 2  # blank text is not sent

    push(page, {"_strings": STRINGS["fr"]})
    assert page.locator("[data-action=send_message]").inner_text() == "Envoyer"
    assert field.get_attribute("placeholder") == "Écrire un message"
    page.evaluate("() => controller.abort()")
    assert page.evaluate("model.listenerCount()") == 0
