"""The "Hosting a call" tutorial in JupyterLab, then its call driven by clicks alone.

The test copies ``notebooks/08_hosting_a_call.ipynb`` into the session's JupyterLab root
and runs all its cells: alice hosts a live livestream that bob watches without the right to
speak, and both CallViews show in one output. Then, as a person would, only by clicks in
the page: Stop live and Go live in alice's view (the kernel's call follows); Raise hand in
bob's view, Deny, Raise hand again, Grant in alice's view (bob's capabilities in the kernel
gain send-audio, his Raise hand gives way to a microphone button, off until he clicks it); Record in
alice's view (REC in both views) and Stop recording (a playable file in the kernel's
folder); and the notebook's "End the call for everyone" button. The kernel is only
read, never driven.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from .jupyter import JupyterServer, cell_locator, kernel_execute, open_notebook, run_all_cells

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "notebooks" / "08_hosting_a_call.ipynb"
VIEWS_MARK = "ipywidgets.HBox([host_view, viewer_view])"
"""The tutorial cell that shows alice's and bob's views side by side."""
END_MARK = "End the call for everyone"
"""The tutorial's last cell: a button that ends the call for everyone."""
TIMEOUT_MS = 30_000
KERNEL_TIMEOUT = 30.0
SCREENSHOTS = os.environ.get("STREAMCALL_SCREENSHOT")
"""When set (a file name), pictures of the two views are saved beside it: the host asked
to grant, and the call recording."""


def _shot(views: Locator, name: str) -> None:
    """Save a picture of the views' output as ``<name>.png`` beside STREAMCALL_SCREENSHOT."""
    if SCREENSHOTS:
        target = Path(SCREENSHOTS).with_name(f"{name}.png")
        target.parent.mkdir(parents=True, exist_ok=True)
        views.screenshot(path=str(target))


def _cell_index(mark: str) -> int:
    """The index (among all cells) of the tutorial's code cell containing ``mark``."""
    cells = json.loads(TUTORIAL.read_text())["cells"]
    return next(i for i, c in enumerate(cells) if mark in "".join(c["source"]))


def _kernel_says(page: Page, code: str, expected: str) -> None:
    """Wait until ``code``, run in the kernel, prints ``expected``."""
    deadline = time.monotonic() + KERNEL_TIMEOUT
    said = kernel_execute(page, code).strip()
    while said != expected:
        assert time.monotonic() < deadline, f"{code!r} printed {said!r}, not {expected!r}"
        page.wait_for_timeout(100)
        said = kernel_execute(page, code).strip()


@pytest.fixture
def tutorial(chromium: Browser, jupyter_lab: JupyterServer) -> Iterator[Page]:
    """The tutorial, copied into the server's root (a recording made by click goes next to
    it, not into the repository), opened and run from top to bottom."""
    name = TUTORIAL.name
    shutil.copy(TUTORIAL, jupyter_lab.root / name)
    page = open_notebook(chromium, jupyter_lab, name)
    try:
        run_all_cells(page)
        yield page
    finally:
        page.close()
        for session in jupyter_lab.api("sessions"):
            if session["path"] == name:
                jupyter_lab.api(f"sessions/{session['id']}", "DELETE")


def _go_live_by_clicks(page: Page, host: Locator) -> None:
    """Run All left the call live: Stop live, then Go live, the kernel following each."""
    host.get_by_role("button", name="Stop live").click()
    go_live = host.get_by_role("button", name="Go live")
    expect(go_live).to_have_attribute("title", "Go live: Backstage", timeout=TIMEOUT_MS)
    _kernel_says(page, "print(show.is_live, bob_call.is_live)", "False False")
    go_live.click()
    expect(host.get_by_role("button", name="Stop live")).to_have_attribute(
        "aria-pressed", "true", timeout=TIMEOUT_MS
    )
    _kernel_says(page, "print(show.is_live, bob_call.is_live)", "True True")


def _raise_hand(viewer: Locator, host: Locator) -> Locator:
    """Bob raises his hand; alice's view shows his request (returned)."""
    viewer.get_by_role("button", name="Raise hand").click()
    asked = host.locator(".sc-ask[data-user=bob]")
    expect(asked).to_have_text("Bob asks to speakGrantDeny", timeout=TIMEOUT_MS)
    return asked


def _deny_then_grant(page: Page, host: Locator, viewer: Locator) -> None:
    """Deny closes the request and changes nothing; a second request granted gives bob
    send-audio, and his microphone button replaces Raise hand, off (a grant never makes
    a microphone live by itself) until he clicks it."""
    has_audio = "print('send-audio' in bob_call.own_capabilities)"
    _raise_hand(viewer, host).get_by_role("button", name="Deny").click()
    expect(host.locator(".sc-asks")).to_be_hidden(timeout=TIMEOUT_MS)
    _kernel_says(page, has_audio, "False")

    asked = _raise_hand(viewer, host)
    _shot(host.locator(".."), "hosting-asks-to-speak")
    asked.get_by_role("button", name="Grant").click()
    expect(host.locator(".sc-asks")).to_be_hidden(timeout=TIMEOUT_MS)
    _kernel_says(page, has_audio, "True")
    microphone = viewer.get_by_role("button", name="Microphone")
    expect(microphone).to_have_attribute("aria-pressed", "false", timeout=TIMEOUT_MS)
    expect(viewer.get_by_role("button", name="Raise hand")).to_have_count(0)
    _kernel_says(page, "print(bob.is_microphone_enabled().result(10).enabled)", "False")
    microphone.click()
    expect(microphone).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT_MS)
    _kernel_says(page, "print(bob.is_microphone_enabled().result(10).enabled)", "True")


def _record_by_clicks(page: Page, host: Locator, viewer: Locator) -> None:
    """Record shows REC in both views; Stop recording says where the file went, and it is
    a playable MP4 beside the notebook (the kernel's working directory)."""
    host.get_by_role("button", name="Record").click()
    for view in (host, viewer):
        expect(view.locator(".sc-rec")).to_be_visible(timeout=TIMEOUT_MS)
    _shot(host.locator(".."), "hosting-recording")
    host.get_by_role("button", name="Stop recording").click()
    for view in (host, viewer):
        expect(view.locator(".sc-rec")).to_be_hidden(timeout=TIMEOUT_MS)
    saved = re.compile(r"^Recording saved: recording-[0-9a-f-]+-\d{8}T\d{6}Z\.mp4 \(00:\d\d\)$")
    expect(host.locator(".sc-saved")).to_have_text(saved, timeout=TIMEOUT_MS)
    playable = (
        "import av\n"
        "path = show.last_recording.path\n"
        "with av.open(str(path)) as f:\n"
        "    print(path.parent == Path.cwd(), sorted(s.type for s in f.streams))"
    )
    _kernel_says(page, playable, "True ['audio', 'video']")


def test_host_and_viewer_by_clicks(tutorial: Page) -> None:
    """After Run All of the tutorial: live, hands, grants, recording and the end, all by
    clicks in alice's and bob's views."""
    page = tutorial
    views = cell_locator(page, _cell_index(VIEWS_MARK)).locator(".sc-call")
    expect(views).to_have_count(2)
    host, viewer = views.nth(0), views.nth(1)
    for view in (host, viewer):
        expect(view).to_have_attribute("data-state", "joined", timeout=TIMEOUT_MS)
    try:
        _go_live_by_clicks(page, host)
        _deny_then_grant(page, host, viewer)
        _record_by_clicks(page, host, viewer)

        end = cell_locator(page, _cell_index(END_MARK))
        end.get_by_role("button", name=END_MARK).click()
        expect(end).to_contain_text("bob heard: ended", timeout=TIMEOUT_MS)
        expect(end).to_contain_text("closed: logged_out logged_out", timeout=TIMEOUT_MS)
        for view in (host, viewer):
            expect(view).not_to_have_attribute("data-state", "joined", timeout=TIMEOUT_MS)
    finally:
        kernel_execute(page, "bob.close()\nalice.close()")
