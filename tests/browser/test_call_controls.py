"""The call controls over the video, end reasons and a kernel restart, in real JupyterLab.

One notebook, one kernel: Alice's CallView, LoginPanel and DeviceControls, and Carol's
CallView; Bob and Carol are more clients in the same kernel (real aiortc peers, synthetic
devices). Alice rings Bob (her own preview behind "Calling Bob"), turns her microphone off
by its button over the video (Bob gets ``microphone_disabled``), cycles the layouts to
fullscreen with the controls still there, and Carol calling her hears she is busy. Then
the kernel is restarted mid-call: every widget says so and offers nothing that could not
work. In between, by clicks: Hold (Bob sees Alice on hold, then back), the keypad's 5 and #
(Bob's dtmf listener gets them) and the chat (Bob's message raises the unread badge; Alice
reads it and answers). (Hang up by the overlay button: test_call_in_jupyterlab.py.)

Set ``STREAMCALL_SCREENSHOTS`` to a directory to keep a picture of each step.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from .conftest import NotebookPageFactory
from .jupyter import JupyterServer, kernel_execute, run_all_cells, wait_for_widget

DEVICES = "camera='synthetic-camera', microphone='synthetic-microphone'"
CELLS = [
    "from streamcall_widget import StreamCall\n"
    "from streamcall_widget.widgets import CallView, DeviceControls, LoginPanel\n"
    f"alice, bob, carol = (StreamCall({DEVICES}) for _ in range(3))\n"
    "for client, name in ((alice, 'Alice'), (bob, 'Bob'), (carol, 'Carol')):\n"
    "    client.login(name.lower(), name=name).result(20)\n"
    "bob_saw = []\n"
    "bob.add_listener('callEvent', lambda e: bob_saw.append((e.state.value, e.user_id)))\n"
    "bob_heard = []\n"
    "bob.add_listener('dtmf', lambda d: bob_heard.append(d.digit))\n"
    "bob.add_listener('message', lambda m: bob_heard.append(m.text))",
    "view = CallView(alice, tile_layout='grid')\nview",
    "LoginPanel(alice)",
    "DeviceControls(alice)",
    "CallView(carol)",
]
TIMEOUT_MS = 30_000
SHOTS = os.environ.get("STREAMCALL_SCREENSHOTS")


def _shot(view: Locator, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        view.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def _until(page: Page, code: str, what: str) -> None:
    """Poll the kernel until ``code`` prints True."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while kernel_execute(page, f"print({code})").strip() != "True":
        assert time.monotonic() < deadline, what
        page.wait_for_timeout(200)


def _ring_out_with_preview(page: Page, view: Locator) -> None:
    kernel_execute(page, "alice.call(['bob']).result(20)")
    expect(view).to_have_attribute("data-state", "ringing", timeout=TIMEOUT_MS)
    expect(view.locator(".sc-headline")).to_have_text("Calling Bob")
    expect(view.locator(".sc-tile[data-key=local]")).to_be_visible()
    _shot(view, "1-ringing-out")
    kernel_execute(page, "bob.accept_call().result(20)")
    expect(view).to_have_attribute("data-state", "joined", timeout=TIMEOUT_MS)


def _microphone_off_by_its_button(page: Page, view: Locator) -> None:
    microphone = view.locator(".sc-controls [data-action=microphone]")
    expect(microphone).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT_MS)
    microphone.click()
    expect(microphone).to_have_attribute("aria-pressed", "false", timeout=TIMEOUT_MS)
    expect(microphone).to_have_attribute("title", "Microphone: Microphone off")
    expect(microphone.locator(".sc-icon--crossed")).to_be_visible()
    _until(page, "('microphone_disabled', 'alice') in bob_saw", "Bob never saw the mic off")
    _shot(view, "2-microphone-off")


def _controls_in_every_layout(view: Locator) -> None:
    layout = view.locator(".sc-controls [data-action=layout]")
    for expected in ("spotlight", "dynamic", "fullscreen", "grid"):
        layout.click()
        expect(view).to_have_attribute("data-layout", expected)
        for action in ("microphone", "camera", "layout", "hangup"):
            expect(view.locator(f".sc-controls [data-action={action}]")).to_be_visible()
        expect(view.locator(".sc-timer")).to_be_visible()
        if expected == "fullscreen":
            _shot(view, "3-fullscreen")


def _hold_keypad_and_chat_by_clicks(page: Page, view: Locator) -> None:
    controls = view.locator(".sc-controls")
    hold = controls.locator("[data-action=hold]")
    hold.click()
    expect(hold).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT_MS)
    expect(view.locator(".sc-banner")).to_contain_text("On hold")
    _until(page, "('held', 'alice') in bob_saw", "Bob never saw Alice hold")
    _shot(view, "3-on-hold")
    hold.click()
    expect(hold).to_have_attribute("aria-pressed", "false", timeout=TIMEOUT_MS)
    _until(page, "('unheld', 'alice') in bob_saw", "Bob never saw Alice resume")

    controls.locator("[data-action=microphone]").click()  # tones travel in the microphone
    expect(controls.locator("[data-action=microphone]")).to_have_attribute(
        "aria-pressed", "true", timeout=TIMEOUT_MS
    )
    controls.locator("[data-action=keypad]").click()
    keypad = view.locator(".sc-panel .sc-keypad")
    for digit in ("5", "#"):
        keypad.locator(f"[data-key='{digit}']").click()
        _until(page, f"{digit!r} in bob_heard", f"Bob never got DTMF {digit}")
    _shot(view, "3-keypad")

    chat = controls.locator("[data-action=chat]")
    kernel_execute(page, "bob.current_call.send_message('Hi Alice').result(20)")
    expect(chat.locator(".sc-badge")).to_have_text("1", timeout=TIMEOUT_MS)
    chat.click()
    panel = view.locator(".sc-panel .sc-chat")
    expect(panel).to_contain_text("Hi Alice")
    expect(chat.locator(".sc-badge")).to_have_count(0, timeout=TIMEOUT_MS)
    panel.locator("input, textarea").first.fill("Hello Bob")
    panel.locator("input, textarea").first.press("Enter")
    _until(page, "'Hello Bob' in bob_heard", "Bob never got Alice's message")
    expect(panel).to_contain_text("Hello Bob")
    _shot(view, "3-chat")
    chat.click()
    expect(panel).to_be_hidden()


def test_controls_end_reasons_and_a_kernel_restart(
    jupyter_lab: JupyterServer, notebook_page: NotebookPageFactory
) -> None:
    """Icon controls over the video in every layout, mic off reaching Bob, hold, keypad and
    chat by clicks, "Alice is busy" for Carol; a kernel restart ends the call on the page."""
    page = notebook_page(jupyter_lab, CELLS)
    run_all_cells(page)
    view = wait_for_widget(page, 1, ".sc-call")
    carol_view = wait_for_widget(page, 4, ".sc-call")

    _ring_out_with_preview(page, view)
    _microphone_off_by_its_button(page, view)
    _controls_in_every_layout(view)
    _hold_keypad_and_chat_by_clicks(page, view)

    kernel_execute(page, "carol.call(['alice']).result(20)")
    expect(carol_view.locator(".sc-headline")).to_have_text("Alice is busy", timeout=TIMEOUT_MS)

    kernel = page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id"
    )
    jupyter_lab.api(f"kernels/{kernel}/restart", "POST")  # as another tab or a script would
    expect(view).to_contain_text(
        "The kernel restarted; this call ended. Run the cell again.", timeout=TIMEOUT_MS
    )
    expect(view.locator("[data-action=hangup]")).to_be_hidden()
    expect(view.locator(".sc-timer")).to_be_hidden()
    for index in (2, 3):
        panel = wait_for_widget(page, index, ".sc-root")
        expect(panel).to_contain_text("The kernel restarted. Run the cell again.")
        expect(panel.locator("button:visible")).to_have_count(0)
    _shot(view, "4-kernel-gone")
