"""The person's own camera and microphone, from the page, in a call (JupyterLab, Chromium).

Alice's notebook shows a CallView with no devices chosen: the page's (Chromium's fake
camera and microphone) become hers. Bob is a second client in the same kernel with
synthetic devices. Bob's hooks must see Alice's *page* frames (Chromium's fake pattern, not
the synthetic stamp the kernel would draw for alice) and her page's tone, and Alice's page
must draw Bob's frames in a native ``<video>`` element: over the WebRTC link by default,
over the widget channel when the link is forced off.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import NotebookPageFactory
from .jupyter import JupyterServer, kernel_execute, run_all_cells, wait_for_widget

TIMEOUT_MS = 45_000
FAKE_BEEP_HZ = 400.0
"""The tone of Chromium's fake microphone (``--use-fake-device-for-media-stream``)."""

SETUP = (
    "from streamcall_widget import StreamCall\n"
    "from streamcall_widget.widgets import CallView, LoginPanel\n"
    "alice = StreamCall()\n"
    "alice.login('alice', name='Alice').result(20)\n"
    "view = CallView(alice, tile_layout='grid', media_path={path!r})\n"
    "view"
)
CALL = (
    "from streamcall_widget.engine.stamp import read_stamp, user_stamp, user_tone, dominant_frequency\n"
    "bob = StreamCall(camera='synthetic-camera', microphone='synthetic-microphone')\n"
    "bob.login('bob', name='Bob').result(20)\n"
    "seen = {'video': [], 'audio': []}\n"
    "ring = bob.call(['alice']).result(20)\n"
    "ring.on_remote_video(lambda who, rgb: seen['video'].append(rgb))\n"
    "ring.on_remote_audio(lambda who, pcm: seen['audio'].append(pcm))\n"
    "alice.accept_call().result(20)\n"
    "print('ok')"
)
WHAT_BOB_SEES = (
    "import json, numpy as np\n"
    "frames = seen['video'][-10:]\n"
    "pcm = np.concatenate([a.reshape(-1) for a in seen['audio'][-50:]]) if seen['audio'] else []\n"
    "print(json.dumps({\n"
    "  'camera': alice.media.camera.id if alice.media.camera else None,\n"
    "  'microphone': alice.media.microphone.id if alice.media.microphone else None,\n"
    "  'frames': len(seen['video']),\n"
    "  'stamps': [read_stamp(f) for f in frames],\n"
    "  'alice_stamp': user_stamp('alice'),\n"
    "  'spread': float(np.std(frames[-1])) if frames else 0.0,\n"
    "  'audio_frames': len(seen['audio']),\n"
    "  'peak_hz': dominant_frequency(pcm, 48000, channels=2) if len(pcm) else None,\n"
    "  'alice_tone': user_tone('alice'),\n"
    "}))"
)


def _setup(page: Page) -> Locator:
    run_all_cells(page)
    return wait_for_widget(page, 0, ".sc-call", timeout_ms=TIMEOUT_MS)


def _bob_sees(page: Page) -> dict[str, Any]:
    seen: dict[str, Any] = json.loads(kernel_execute(page, WHAT_BOB_SEES))
    return seen


def _wait(page: Page, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not check(seen := _bob_sees(page)):
        assert time.monotonic() < deadline, f"{what}: {seen}"
        page.wait_for_timeout(500)
    return seen


@pytest.mark.parametrize("path", ["auto", "pipe"])
def test_page_camera_and_microphone_reach_the_other_kernel(
    jupyter_lab: JupyterServer, notebook_page: NotebookPageFactory, path: str
) -> None:
    page = notebook_page(jupyter_lab, [SETUP.format(path=path)])
    view = _setup(page)
    assert kernel_execute(page, CALL).strip().endswith("ok")
    # Bob's hooks get Alice's page camera: Chromium's pattern, never the synthetic stamp.
    seen = _wait(page, lambda s: s["frames"] >= 30 and s["audio_frames"] >= 50, "bob's hooks")
    assert seen["camera"].startswith("browser:") and seen["microphone"].startswith("browser:")
    assert seen["alice_stamp"] not in seen["stamps"], seen
    assert seen["spread"] > 10, "a flat picture is not the fake camera's pattern"
    # Chromium's fake microphone beeps at 400 Hz; the synthetic one would play alice's tone.
    assert seen["peak_hz"] and abs(seen["peak_hz"] - FAKE_BEEP_HZ) < 20, seen
    assert abs(seen["alice_tone"] - FAKE_BEEP_HZ) > 100
    # Alice's page shows Bob: a native <video> over the link, else a canvas.
    expect(view).to_have_attribute(
        "data-path", path if path == "pipe" else "webrtc", timeout=TIMEOUT_MS
    )
    tile = view.locator(".sc-tile:not(.sc-local)").first
    if path == "auto":
        expect(tile).to_have_class(re.compile("sc-native"), timeout=TIMEOUT_MS)
        page.wait_for_function(
            "(v) => v.videoWidth > 0 && v.currentTime > 0.5",
            arg=tile.locator("video").element_handle(),
            timeout=TIMEOUT_MS,
        )
    drawn = int(view.get_attribute("data-frames-drawn") or 0)
    page.wait_for_function(
        "([el, before]) => Number(el.dataset.framesDrawn) > before + 20",
        arg=[view.element_handle(), drawn],
        timeout=TIMEOUT_MS,
    )
    kernel_execute(page, "bob.close(); alice.close()")
