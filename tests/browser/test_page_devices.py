"""The person's own camera, microphone and screen, from the page, in a call (JupyterLab).

Alice's notebook shows a CallView and chooses no devices: the page's (Chromium's fake
camera and microphone) become hers. Bob is a second client in the same kernel with
synthetic devices. Bob's hooks must see Alice's *page* frames (Chromium's pattern, not the
synthetic stamp the kernel would draw for alice) and the page's tone, and Alice's page
must draw Bob: over the WebRTC link (native ``<video>``) by default, over the widget
channel when the link is forced off. Also: a refused permission (readable in Python and in
the view, the call goes on with the kernel's devices), a screen shared from the page and
stopped from the page, and a device plugged into the page raising ``devicesUpdated``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from .chromium import launch_chromium
from .conftest import NotebookPageFactory
from .jupyter import (
    JupyterServer,
    kernel_execute,
    open_notebook,
    run_all_cells,
    wait_for_widget,
    write_notebook,
)

TIMEOUT_MS = 45_000
FAKE_BEEP_HZ = 400.0
"""The tone of Chromium's fake microphone (``--use-fake-device-for-media-stream``)."""

SETUP = (
    "from streamcall_widget import StreamCall\n"
    "from streamcall_widget.widgets import CallView\n"
    "alice = StreamCall()\n"
    "alice.login('alice', name='Alice').result(20)\n"
    "view = CallView(alice, tile_layout='grid', media_path={path!r})\n"
    "view"
)
BOB_CALLS = (
    "from streamcall_widget.engine.stamp import (\n"
    "    dominant_frequency, read_stamp, user_stamp, user_tone)\n"
    "bob = StreamCall(camera='synthetic-camera', microphone='synthetic-microphone')\n"
    "bob.login('bob', name='Bob').result(20)\n"
    "seen = {'video': [], 'audio': [], 'screen': []}\n"
    "ring = bob.call(['alice']).result(20)\n"
    "ring.on_remote_video(lambda who, rgb: seen['video'].append(rgb))\n"
    "ring.on_remote_video(lambda who, rgb: seen['screen'].append(rgb), 'screen_share')\n"
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
    "  'permission': alice.get_permission_state().state,\n"
    "  'frames': len(seen['video']),\n"
    "  'screens': len(seen['screen']),\n"
    "  'stamps': [read_stamp(f) for f in frames],\n"
    "  'alice_stamp': user_stamp('alice'),\n"
    "  'spread': float(np.std(frames[-1])) if frames else 0.0,\n"
    "  'audio_frames': len(seen['audio']),\n"
    "  'peak_hz': dominant_frequency(pcm, 48000, channels=2) if len(pcm) else None,\n"
    "  'alice_tone': user_tone('alice'),\n"
    "}))"
)
CLOSE = "for c in ('bob', 'alice'):\n    globals()[c].close() if c in globals() else None"


def _bob_sees(page: Page) -> dict[str, Any]:
    seen: dict[str, Any] = json.loads(kernel_execute(page, WHAT_BOB_SEES))
    return seen


def _wait(page: Page, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not check(seen := _bob_sees(page)):
        assert time.monotonic() < deadline, f"{what}: {seen}"
        page.wait_for_timeout(500)
    return seen


def _heard_the_fake_microphone(seen: dict[str, Any]) -> bool:
    """30 video frames, and bob's last second of audio peaks at the fake device's beep
    (a second that caught a gap, on a loaded machine, peaks elsewhere: the next may not)."""
    if seen["frames"] < 30 or seen["audio_frames"] < 50 or seen["peak_hz"] is None:
        return False
    return abs(float(seen["peak_hz"]) - FAKE_BEEP_HZ) < 20


def _in_a_call(page: Page) -> Locator:
    run_all_cells(page)
    view = wait_for_widget(page, 0, ".sc-call", timeout_ms=TIMEOUT_MS)
    assert kernel_execute(page, BOB_CALLS).strip().endswith("ok")
    return view


def _wait_frames_drawn(page: Page, view: Locator, count: int = 20) -> None:
    """Wait until the view draws ``count`` more frames (canvas paints or presented
    frames of native video)."""
    before = int(view.get_attribute("data-frames-drawn") or 0)
    page.wait_for_function(
        "([view, before, count]) => Number(view.dataset.framesDrawn) > before + count",
        arg=[view.element_handle(), before, count],
        timeout=TIMEOUT_MS,
    )


@pytest.mark.parametrize("path", ["auto", "pipe"])
def test_page_camera_and_microphone_reach_the_other_kernel(
    jupyter_lab: JupyterServer, notebook_page: NotebookPageFactory, path: str
) -> None:
    """Both ways: the page's camera and microphone to Bob's hooks, Bob to the page."""
    page = notebook_page(jupyter_lab, [SETUP.format(path=path)])
    view = _in_a_call(page)
    try:
        seen = _wait(page, _heard_the_fake_microphone, "bob's hooks hearing the fake beep")
        assert seen["camera"].startswith("browser:"), seen
        assert seen["microphone"].startswith("browser:"), seen
        assert seen["permission"] == "success"
        assert seen["alice_stamp"] not in seen["stamps"], "the kernel's synthetic camera was sent"
        assert seen["spread"] > 10, "a flat picture is not the fake camera's pattern"
        assert abs(seen["alice_tone"] - FAKE_BEEP_HZ) > 100, "the tones must differ"

        expect(view).to_have_attribute(
            "data-path", "pipe" if path == "pipe" else "webrtc", timeout=TIMEOUT_MS
        )
        bob_tile = view.locator(".sc-tile:not(.sc-local)").first
        if path == "auto":
            expect(bob_tile).to_have_class(re.compile(r"\bsc-native\b"), timeout=TIMEOUT_MS)
            page.wait_for_function(
                "(video) => video.videoWidth > 0 && video.currentTime > 0.5",
                arg=bob_tile.locator("video").element_handle(),
                timeout=TIMEOUT_MS,
            )
            # Alice sees herself from the page's own camera: no trip through the kernel.
            own_tile = view.locator(".sc-tile.sc-local").first
            expect(own_tile).to_have_class(re.compile(r"\bsc-mirror\b"), timeout=TIMEOUT_MS)
            assert "False" in kernel_execute(page, "print('local' in view.bridge._shown[0])")
            _speaker_is_chosen_with_set_sink_id(page)
            _bobs_audio_element_follows_his_volume(page)
        else:
            expect(bob_tile.locator("canvas")).to_be_visible(timeout=TIMEOUT_MS)
        _wait_frames_drawn(page, view)
    finally:
        kernel_execute(page, CLOSE)


def _bobs_audio_element_follows_his_volume(page: Page) -> None:
    """``CallView.set_volume`` reaches the page through ``volumes``: the link's ``<audio>``
    element playing bob gets that volume."""
    page.evaluate(
        """() => {
          window.__volumes = [];
          const volume = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, "volume");
          Object.defineProperty(HTMLMediaElement.prototype, "volume", {
            configurable: true,
            get() { return volume.get.call(this); },
            set(value) {
              if (this.srcObject) window.__volumes.push(this);
              volume.set.call(this, value);
            },
          });
        }"""
    )
    kernel_execute(
        page,
        "view.set_volume(alice.current_call.remote_participants[0].session_id, 0.3)",
    )
    page.wait_for_function("() => window.__volumes.some((el) => Math.abs(el.volume - 0.3) < 1e-6)")


def _speaker_is_chosen_with_set_sink_id(page: Page) -> None:
    """Seed 004's set_audio_out_device on a browser speaker moves the call's audio
    elements there (setSinkId) and resolves to success."""
    page.evaluate(
        """() => {
          window.__sinks = [];
          const original = HTMLMediaElement.prototype.setSinkId;
          HTMLMediaElement.prototype.setSinkId = function (id) {
            window.__sinks.push(id);
            return original.call(this, id);
          };
        }"""
    )
    chosen = kernel_execute(
        page,
        "speaker = [s for s in alice.list_devices().result(20).speakers\n"
        "           if s.label.startswith('Fake Audio Output 1')][0]\n"
        "print(speaker.url, alice.set_audio_out_device(speaker.id).result(20).success)",
    ).split()
    assert chosen[1] == "True"
    page.wait_for_function("(id) => window.__sinks.includes(id)", arg=chosen[0])


def test_without_a_path_to_the_kernel_the_widget_channel_takes_over(
    jupyter_lab: JupyterServer, notebook_page: NotebookPageFactory
) -> None:
    """The kernel's answer reaches the page without any candidate it can reach (as a remote
    Jupyter with no UDP path and no TURN server): the link cannot connect, so after its
    timeout the widget channel carries the media both ways, and the view says so."""
    page = notebook_page(jupyter_lab, [SETUP.format(path="auto")])
    page.evaluate(
        """() => {
          const original = RTCPeerConnection.prototype.setRemoteDescription;
          RTCPeerConnection.prototype.setRemoteDescription = function (description) {
            const sdp = description.sdp.replace(/^a=candidate:.*\\r\\n/gm, '');
            return original.call(this, { type: description.type, sdp });
          };
        }"""
    )
    view = _in_a_call(page)
    try:
        expect(view).to_have_attribute("data-path", "pipe", timeout=TIMEOUT_MS)
        expect(view.locator(".sc-path")).to_have_text("Widget channel")
        seen = _wait(page, lambda s: s["frames"] >= 30, "bob's hooks")
        assert seen["camera"].startswith("browser:"), seen
        assert seen["alice_stamp"] not in seen["stamps"]
        bob_tile = view.locator(".sc-tile:not(.sc-local)").first
        expect(bob_tile.locator("canvas")).to_be_visible(timeout=TIMEOUT_MS)
        _wait_frames_drawn(page, view)
    finally:
        kernel_execute(page, CLOSE)


def test_screen_shared_from_the_page_and_stopped_by_the_browser(
    jupyter_lab: JupyterServer, notebook_page: NotebookPageFactory
) -> None:
    """Share screen asks the page (getDisplayMedia); Bob gets the screen; the browser's own
    "Stop sharing" (the track ends) stops our share with ``local_share_closed``."""
    page = notebook_page(jupyter_lab, [SETUP.format(path="auto")])
    view = _in_a_call(page)
    try:
        kernel_execute(
            page,
            "events = []\nalice.add_listener('callEvent', lambda e: events.append(e.state.value))",
        )
        page.evaluate(
            """() => {
              const devices = navigator.mediaDevices;
              const original = devices.getDisplayMedia.bind(devices);
              devices.getDisplayMedia = async (options) => {
                window.__shared = await original(options);
                return window.__shared;
              };
            }"""
        )
        share = view.locator("[data-action=share]")
        expect(share).to_have_attribute("aria-label", "Share screen", timeout=TIMEOUT_MS)
        share.click()
        expect(share).to_have_attribute("aria-label", "Stop sharing", timeout=TIMEOUT_MS)
        seen = _wait(page, lambda s: s["screens"] >= 10, "bob never got alice's page screen")
        assert seen["screens"] >= 10
        assert "browser:screen" in kernel_execute(
            page, "print([s.source for s in alice.current_call.local_streams])"
        )
        # What the browser's "Stop sharing" bar does: the track ends.
        page.evaluate(
            "() => { const t = window.__shared.getVideoTracks()[0];"
            " t.stop(); t.dispatchEvent(new Event('ended')); }"
        )
        expect(share).to_have_attribute("aria-label", "Share screen", timeout=TIMEOUT_MS)
        deadline = time.monotonic() + 20
        while "local_share_closed" not in kernel_execute(page, "print(events)"):
            assert time.monotonic() < deadline, "no local_share_closed event"
            page.wait_for_timeout(200)
        assert "False" in kernel_execute(page, "print(alice.current_call.has_screen_sharing)")
    finally:
        kernel_execute(page, CLOSE)


def test_a_device_plugged_into_the_page_raises_devices_updated(
    jupyter_lab: JupyterServer, notebook_page: NotebookPageFactory
) -> None:
    """The page's ``devicechange`` with a new camera: the kernel's ``devicesUpdated``
    listener gets a list with it, and DeviceControls' camera picker offers it."""
    page = notebook_page(
        jupyter_lab,
        [
            SETUP.format(path="auto"),
            "from streamcall_widget.widgets import DeviceControls\n"
            "updates = []\n"
            "alice.add_listener('devicesUpdated', lambda d: updates.append(d))\n"
            "DeviceControls(alice)",
        ],
    )
    run_all_cells(page)
    controls = wait_for_widget(page, 1, ".sc-devices", timeout_ms=TIMEOUT_MS)
    try:
        page.evaluate(
            """() => {
              const devices = navigator.mediaDevices;
              const original = devices.enumerateDevices.bind(devices);
              devices.enumerateDevices = async () => [...await original(), {
                kind: 'videoinput', deviceId: 'plugged-in', label: 'USB camera',
                groupId: 'usb', toJSON() { return this; },
              }];
              devices.dispatchEvent(new Event('devicechange'));
            }"""
        )
        found = "print(any(c.id == 'browser:plugged-in' for u in updates for c in u.cameras))"
        deadline = time.monotonic() + 20
        while "True" not in kernel_execute(page, found):
            assert time.monotonic() < deadline, "no devicesUpdated with the new camera"
            page.wait_for_timeout(200)
        picker = controls.locator("select[data-kind=camera]")
        expect(picker.locator("option", has_text="USB camera (browser)")).to_have_count(1)
    finally:
        kernel_execute(page, "alice.close()")


def test_a_refused_permission_is_explained_and_the_call_goes_on(
    jupyter_lab: JupyterServer,
) -> None:
    """Chromium without the fake-UI flag refuses the camera and microphone: the
    browser's answer to a person clicking Block. get_permission_state() says ``denied``
    with what to do, the view shows the same words, and the call goes on with the kernel's
    devices (Bob sees alice's synthetic stamp). This Chromium runs in a thread of its own:
    Playwright's sync API allows one instance per thread, and the module's browser has
    this one."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(_refused_permission, jupyter_lab).result()


def _refused_permission(jupyter_lab: JupyterServer) -> None:
    write_notebook(jupyter_lab.root / "refused.ipynb", [SETUP.format(path="auto")])
    with launch_chromium(allow_devices=False) as refusing:
        page = open_notebook(refusing, jupyter_lab, "refused.ipynb")
        try:
            view = _in_a_call(page)
            seen = _wait(page, lambda s: s["frames"] >= 10, "bob's hooks")
            assert seen["permission"] == "denied"
            assert seen["alice_stamp"] in seen["stamps"], "the kernel's camera should stand in"
            assert not seen["camera"].startswith("browser:")
            state = kernel_execute(
                page,
                "s = alice.get_permission_state()\nprint(s.error.reason, '|', s.error.message)",
            )
            reason, message = (part.strip() for part in state.split("|"))
            assert reason == "NotAllowedError"
            assert "Allow it in the address bar" in message
            expect(view.locator(".sc-error")).to_contain_text("Allow it in the address bar")
        finally:
            kernel_execute(page, CLOSE)
            page.close()
