"""A whole call in JupyterLab, driven in Chromium as a person would.

The notebook shows Alice's LoginPanel, CallView and DeviceControls; Bob is a second client
in the same kernel (real aiortc peers, synthetic cameras). The test logs Alice in by
clicking, has Bob ring, clicks Accept on the incoming screen, sees Bob's tile change over
time (also while a cell keeps the kernel busy), sees Bob's avatar once his camera is off,
and hangs up. The last test places a call by clicks alone, with the dialer of CallView's
idle screen, to Bob in a second notebook.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from .conftest import NotebookPageFactory
from .jupyter import (
    JupyterServer,
    kernel_execute,
    kernel_run_state,
    kernel_start,
    run_all_cells,
    wait_for_widget,
)

CELLS = [
    "from streamcall_widget import StreamCall\n"
    "from streamcall_widget.widgets import CallView, DeviceControls, LoginPanel\n"
    "alice = StreamCall(camera='synthetic-camera', microphone='synthetic-microphone')\n"
    "LoginPanel(alice, user_id='alice', name='Alice')",
    "view = CallView(alice, tile_layout='grid')\nview",
    "DeviceControls(alice)",
]
BOB_RINGS = (
    "bob = StreamCall(camera='synthetic-camera', microphone='synthetic-microphone')\n"
    "bob.login('bob', name='Bob').result(20)\n"
    "ring = bob.call(['alice']).result(20)\n"
    "print(ring.state.value)"
)
CLOSE_CLIENTS = (
    "for name in ('bob', 'alice'):\n    if name in globals():\n        globals()[name].close()"
)
TIMEOUT_MS = 30_000
SCREENSHOT = os.environ.get("STREAMCALL_SCREENSHOT")
"""Where to save a screenshot of the live call (the README's picture), when set."""


MEDIA = ".sc-video:visible"
"""A tile's picture as shown: its native <video> over the page link, or its canvas."""


def _pixels(media: Locator) -> str:
    """A digest of a tile's pixels (canvas or video), to see them change."""
    digest: str = media.evaluate(
        """(media) => {
          let canvas = media;
          if (media.tagName === 'VIDEO') {
            canvas = document.createElement('canvas');
            canvas.width = media.videoWidth;
            canvas.height = media.videoHeight;
            canvas.getContext('2d').drawImage(media, 0, 0);
          }
          const {width, height} = canvas;
          if (!width || !height) return 'empty';
          const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
          let sum = 0;
          for (let i = 0; i < data.length; i += 97) sum = (sum * 31 + data[i]) % 1000000007;
          return `${width}x${height}:${sum}`;
        }"""
    )
    return digest


def _frames_drawn(view: Locator) -> int:
    return int(view.get_attribute("data-frames-drawn") or 0)


def _wait_pixels_change(canvas: Locator, timeout: float = 20.0) -> None:
    first = _pixels(canvas)
    deadline = time.monotonic() + timeout
    while _pixels(canvas) == first:
        assert time.monotonic() < deadline, f"the tile stayed {first} for {timeout} s"
        canvas.page.wait_for_timeout(100)


def _log_in(page: Page) -> None:
    panel = wait_for_widget(page, 0, ".sc-login")
    panel.locator("[data-action=login]").click()
    expect(panel).to_contain_text("Logged in", timeout=TIMEOUT_MS)
    expect(panel).to_contain_text("Alice")


def _accept_bobs_ring(page: Page, view: Locator) -> None:
    assert kernel_execute(page, BOB_RINGS).strip() == "ringing"
    expect(view).to_have_attribute("data-state", "ringing", timeout=TIMEOUT_MS)
    expect(view).to_contain_text("Incoming call from Bob")
    view.locator("[data-action=accept]").click()
    expect(view).to_have_attribute("data-state", "joined", timeout=TIMEOUT_MS)


def _in_a_call(server: JupyterServer, notebook_page: NotebookPageFactory) -> tuple[Page, Locator]:
    """The notebook of CELLS run, Alice logged in by click, Bob's ring accepted by click:
    the page and Alice's call view, joined."""
    page = notebook_page(server, CELLS)
    run_all_cells(page)
    _log_in(page)
    view = wait_for_widget(page, 1, ".sc-call")
    _accept_bobs_ring(page, view)
    return page, view


def _frames_flow_while_a_cell_runs(page: Page, view: Locator) -> None:
    kernel_start(page, "import time; time.sleep(5)")
    page.wait_for_function("() => window.__kernelRun.started", timeout=TIMEOUT_MS)
    before = _frames_drawn(view)
    page.wait_for_timeout(2000)
    drawn = _frames_drawn(view) - before
    assert kernel_run_state(page) == "running", "the sleeping cell ended before the check"
    assert drawn >= 10, f"only {drawn} frames drawn in 2 s while a cell ran"
    page.wait_for_function("() => window.__kernelRun.done", timeout=TIMEOUT_MS)


def test_login_ring_accept_watch_and_hang_up(
    jupyter_lab: JupyterServer, notebook_page: NotebookPageFactory
) -> None:
    """Log in by click; Bob rings; Accept; his tile moves (even during a busy cell); his
    camera off shows his avatar; Hang up leaves the call."""
    page, view = _in_a_call(jupyter_lab, notebook_page)
    try:
        bob_tile = view.locator(".sc-tile:not([data-key=local])")
        expect(bob_tile).to_contain_text("Bob", timeout=TIMEOUT_MS)
        canvas = bob_tile.locator(MEDIA)
        expect(canvas).to_be_visible(timeout=TIMEOUT_MS)
        _wait_pixels_change(canvas)
        _frames_flow_while_a_cell_runs(page, view)
        if SCREENSHOT:
            Path(SCREENSHOT).parent.mkdir(parents=True, exist_ok=True)
            view.screenshot(path=SCREENSHOT)

        kernel_execute(page, "bob.set_camera_enabled(False).result(20)")
        expect(bob_tile).to_have_class(re.compile(r"\bsc-video-off\b"), timeout=TIMEOUT_MS)
        expect(canvas).to_be_hidden()
        expect(bob_tile.locator(".sc-face")).to_contain_text("B")

        view.locator("[data-action=hangup]").click()
        expect(view).to_have_attribute("data-state", "left", timeout=TIMEOUT_MS)
        expect(view).to_contain_text("Call ended")
    finally:
        kernel_execute(
            page, "for c in ('bob', 'alice'):\n    globals()[c].close() if c in globals() else None"
        )


def test_screens_are_shared_both_ways_by_click_and_by_code(
    jupyter_lab: JupyterServer, notebook_page: NotebookPageFactory
) -> None:
    """In a call, Bob's shared screen is Alice's big tile in spotlight with live pixels;
    Alice's Share screen button shares hers (Bob receives it) and Stop sharing stops it."""
    page, view = _in_a_call(jupyter_lab, notebook_page)
    try:
        kernel_execute(page, "view.tile_layout = 'spotlight'")
        kernel_execute(page, "bob.current_call.start_screen_share().result(20)")
        screen = view.locator(".sc-tile[data-key$=':screen']")
        expect(screen).to_contain_text("Bob's screen", timeout=TIMEOUT_MS)
        expect(screen).to_have_class(re.compile(r"\bsc-main\b"))
        _wait_pixels_change(screen.locator(MEDIA))
        if SCREENSHOT:
            shared = Path(SCREENSHOT).with_name("screen-share-in-jupyterlab.png")
            view.screenshot(path=str(shared))

        share = view.locator("[data-action=share]")
        expect(share).to_have_attribute("aria-label", "Share screen")
        share.click()
        expect(share).to_have_attribute("aria-label", "Stop sharing", timeout=TIMEOUT_MS)
        bob_sees = "print(sorted(str(r.track_type) for r in bob.current_call.remote_streams))"
        deadline = time.monotonic() + 30
        while "screen_share" not in kernel_execute(page, bob_sees):
            assert time.monotonic() < deadline, "Bob never received Alice's screen"
            page.wait_for_timeout(200)
        share.click()
        expect(share).to_have_attribute("aria-label", "Share screen", timeout=TIMEOUT_MS)
    finally:
        kernel_execute(page, CLOSE_CLIENTS)


def test_incoming_call_notifies_when_no_call_view_is_shown(
    jupyter_lab: JupyterServer, notebook_page: NotebookPageFactory
) -> None:
    """With a CallView made but not displayed, a ring raises a JupyterLab notification whose
    Accept joins the call."""
    page = notebook_page(
        jupyter_lab,
        [
            "from streamcall_widget import StreamCall\n"
            "from streamcall_widget.widgets import CallView\n"
            "alice = StreamCall()\n"
            "alice.login('alice', name='Alice').result(20)\n"
            "view = CallView(alice)",
        ],
    )
    run_all_cells(page)
    try:
        assert kernel_execute(page, BOB_RINGS).strip() == "ringing"
        toast = page.locator(".Toastify__toast").filter(has_text="Incoming call from Bob")
        expect(toast).to_be_visible(timeout=TIMEOUT_MS)
        toast.get_by_role("button", name="Accept").click()
        joined = "print(view.call.get('state'))"
        deadline = time.monotonic() + 30
        while kernel_execute(page, joined).strip() != "joined":
            assert time.monotonic() < deadline, "Accept in the notification did not join"
            page.wait_for_timeout(200)
        expect(toast).to_be_hidden(timeout=TIMEOUT_MS)
    finally:
        kernel_execute(page, CLOSE_CLIENTS)


def test_phone_works_in_notebook7(
    jupyter_notebook7: JupyterServer, notebook_page: NotebookPageFactory
) -> None:
    """In Notebook 7, phone() renders; logging in by click shows the user's live preview."""
    page = notebook_page(
        jupyter_notebook7,
        [
            "import streamcall_widget\n"
            "phone = streamcall_widget.phone(user_id='carol', name='Carol')\n"
            "phone"
        ],
    )
    run_all_cells(page)
    try:
        login = wait_for_widget(page, 0, ".sc-login")
        login.locator("[data-action=login]").click()
        expect(login).to_contain_text("Logged in", timeout=TIMEOUT_MS)
        preview = wait_for_widget(page, 0, ".sc-call").locator(f".sc-tile[data-key=local] {MEDIA}")
        expect(preview).to_be_visible(timeout=TIMEOUT_MS)
        _wait_pixels_change(preview)
    finally:
        kernel_execute(page, "phone.client.close()")


def _dialer_phone_cells(user_id: str, name: str) -> list[str]:
    """A notebook logging ``user_id`` in from code and showing their CallView."""
    return [
        "from streamcall_widget import StreamCall\n"
        "from streamcall_widget.widgets import CallView\n"
        "client = StreamCall(camera='synthetic-camera', microphone='synthetic-microphone')\n"
        f"client.login({user_id!r}, name={name!r}).result(20)",
        "CallView(client, tile_layout='grid')",
    ]


def _open_dialer_phone(
    server: JupyterServer, notebook_page: NotebookPageFactory, user_id: str, name: str
) -> tuple[Page, Locator]:
    page = notebook_page(server, _dialer_phone_cells(user_id, name))
    run_all_cells(page)
    return page, wait_for_widget(page, 1, ".sc-call")


def _answer_alice(view: Locator) -> None:
    view.page.bring_to_front()  # a person switches to the other notebook's tab
    expect(view).to_have_attribute("data-state", "ringing", timeout=TIMEOUT_MS)
    expect(view).to_contain_text("Incoming call from Alice")
    view.locator("[data-action=accept]").click()
    expect(view).to_have_attribute("data-state", "joined", timeout=TIMEOUT_MS)


def test_dial_by_clicks_answer_in_another_notebook_then_call_back(
    jupyter_lab: JupyterServer, notebook_page: NotebookPageFactory
) -> None:
    """The dialer, in two notebooks (two kernels on the embedded coordinator, the first
    hosting it): Alice types "bo" in the Call… field, picks Bob, clicks Video call; Bob
    clicks Accept in his notebook; both join. After hanging up, each history shows the call
    (placed, received) and Call back in Alice's rings Bob again."""
    bob_page, bob_view = _open_dialer_phone(jupyter_lab, notebook_page, "bob", "Bob")
    alice_page, alice_view = _open_dialer_phone(jupyter_lab, notebook_page, "alice", "Alice")
    try:
        expect(alice_view).to_contain_text("No calls yet", timeout=TIMEOUT_MS)
        field = alice_view.locator("[data-role=dial-field]")
        expect(field).to_have_attribute("placeholder", "Call…")
        field.fill("bo")
        suggestion = alice_view.locator(".sc-suggestion[data-user=bob]")
        expect(suggestion).to_contain_text("Bob", timeout=TIMEOUT_MS)
        expect(alice_view.locator(".sc-dialer-suggestions")).to_have_text(
            re.compile(r"^B\s*Bob\s*bob\s*$")  # initials, name, id: nothing else
        )
        suggestion.click()
        expect(alice_view.locator(".sc-chip[data-user=bob]")).to_have_attribute(
            "data-online", "true"
        )
        field.fill("zed")
        field.press("Enter")
        offline = alice_view.locator(".sc-chip[data-user=zed]")
        expect(offline).to_have_attribute("data-online", "false")
        expect(offline).to_contain_text("offline")
        offline.locator("[data-remove]").click()
        expect(offline).to_have_count(0)
        alice_view.locator("[data-action=dial-video]").click()
        expect(alice_view).to_have_attribute("data-state", "ringing", timeout=TIMEOUT_MS)
        _answer_alice(bob_view)
        alice_page.bring_to_front()
        expect(alice_view).to_have_attribute("data-state", "joined", timeout=TIMEOUT_MS)

        alice_view.locator("[data-action=hangup]").click()
        expect(alice_view).to_have_attribute("data-state", "left", timeout=TIMEOUT_MS)
        alice_view.locator("[data-action=dismiss]").click()
        row = alice_view.locator(".sc-history-row").first
        expect(row).to_have_attribute("data-direction", "placed", timeout=TIMEOUT_MS)
        expect(row).to_contain_text("Bob")
        bob_page.bring_to_front()
        expect(bob_view).to_have_attribute("data-state", "left", timeout=TIMEOUT_MS)
        bob_view.locator("[data-action=dismiss]").click()
        expect(bob_view.locator(".sc-history-row").first).to_have_attribute(
            "data-direction", "received", timeout=TIMEOUT_MS
        )

        if SCREENSHOT:
            dialer = Path(SCREENSHOT).with_name("dialer-in-jupyterlab.png")
            alice_view.screenshot(path=str(dialer))
        alice_page.bring_to_front()
        row.locator("[data-action=call-back]").click()
        expect(alice_view).to_have_attribute("data-state", "ringing", timeout=TIMEOUT_MS)
        expect(bob_view).to_contain_text("Incoming call from Alice", timeout=TIMEOUT_MS)
    finally:
        kernel_execute(bob_page, "client.close()")
        kernel_execute(alice_page, "client.close()")
