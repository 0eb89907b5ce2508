"""The control bar (js/lib/control_bar.js) on its own, in Chromium: a control list of each
kind — a request, a page action, a toggle crossed out when off, a panel over the video —
is drawn and behaves as docs/widgets.md ("Call controls") says, so a new control is one
entry. The module is bundled for the test with the project's esbuild.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .bundle import bundle_module
from .test_renderers import browser, page

__all__ = ["browser", "page"]


MOUNT_BAR_JS = """
async (source) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const { createControlBar } = await import(url);
  const calls = [];
  const joined = (ctx) => ctx.call.state === "joined";
  const controls = [
    { action: "mute", icon: "microphone", label: "Mic", visible: () => true,
      pressed: (ctx) => ctx.media.microphone, crossWhenOff: true,
      state: (ctx) => (ctx.media.microphone ? "on" : "off"), request: "microphone" },
    { action: "note", icon: "layout", label: "Note", visible: joined,
      run: () => calls.push("ran") },
    { action: "keypad", icon: "share", label: "Keypad", visible: joined,
      panel: (ctx, close, signal) => {
        signal.addEventListener("abort", () => calls.push("panel closed"));
        const panel = document.createElement("button");
        panel.className = "keys";
        panel.textContent = "1";
        panel.addEventListener("click", () => { ctx.request("dtmf", { digits: "1" }); close(); });
        return panel;
      } },
    { action: "end", icon: "hangup", label: "End", visible: () => true, request: "hangup",
      variant: "danger" },
  ];
  const bar = createControlBar(controls, new AbortController().signal);
  document.body.append(bar.panel, bar.bar);
  const context = (call, microphone) => ({
    model: null, call, media: { microphone }, layout: "grid",
    text: (key) => key,
    request: (kind, fields = {}) => Promise.resolve(calls.push({ kind, ...fields })),
  });
  window.bar = { update: (state, microphone) => bar.update(context({ state }, microphone)), calls };
  window.bar.update("joined", true);
}
"""


@pytest.fixture
def bar_source() -> str:
    """js/lib/control_bar.js and its imports as one ES module."""
    return bundle_module("js/lib/control_bar.js")


def test_each_kind_of_control_from_one_entry(page: Page, bar_source: str) -> None:
    """Requests, page actions, toggles and panels, with their labels, states and visibility."""
    page.evaluate(MOUNT_BAR_JS, bar_source)
    mute = page.locator("[data-action=mute]")
    assert mute.get_attribute("aria-pressed") == "true"
    assert mute.get_attribute("title") == "Mic: on"
    assert (
        page.locator("[data-action=end]").get_attribute("class") == "sc-control sc-control--danger"
    )
    mute.click()
    page.click("[data-action=note]")
    page.click("[data-action=end]")
    assert page.evaluate("bar.calls") == [{"kind": "microphone"}, "ran", {"kind": "hangup"}]

    page.evaluate("bar.update('joined', false)")
    assert mute.get_attribute("aria-pressed") == "false"
    assert page.locator("[data-action=mute] .sc-icon--crossed").count() == 1

    keypad = page.locator("[data-action=keypad]")
    keypad.click()
    assert keypad.get_attribute("aria-expanded") == "true"
    assert page.get_attribute(".sc-panel", "data-panel") == "keypad"
    page.click(".sc-panel .keys")  # the panel's own action, then it closes itself
    assert page.evaluate("bar.calls")[-2:] == [{"kind": "dtmf", "digits": "1"}, "panel closed"]
    assert not page.is_visible(".sc-panel")
    assert keypad.get_attribute("aria-expanded") == "false"

    keypad.click()
    assert page.is_visible(".sc-panel .keys")
    page.evaluate("bar.update('ringing', false)")  # its control hides: the panel closes
    assert not page.is_visible("[data-action=keypad]")
    assert not page.is_visible(".sc-panel")
    assert page.evaluate("bar.calls")[-1] == "panel closed"
