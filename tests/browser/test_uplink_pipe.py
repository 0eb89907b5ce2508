"""The comm-pipe uplink end to end: Chromium's fake camera and microphone through
js/lib/uplink_pipe.js, its messages fed to a real :class:`PipeUplink` in this process.

The page's module is loaded alone from a Blob URL (it has no imports); FakeModel's ``send``
is replaced by one that keeps each message with its buffer, which the test hands to the
kernel end, and the kernel's acks and keyframe requests go back through FakeModel.receive,
as the widget channel would carry them.
"""

from __future__ import annotations

import base64
import itertools
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from streamcall_widget.render.uplink import PipeUplink
from tests.browser.chromium import launch_chromium
from tests.browser.test_renderers import page

__all__ = ["page"]  # the renderer tests' page fixture: a routed localhost page with FakeModel

UPLINK_JS = (Path(__file__).parent.parent.parent / "js" / "lib" / "uplink_pipe.js").read_text(
    encoding="utf-8"
)
VIDEO_FRAMES = 30
AUDIO_SECONDS = 3.0

START_JS = """
async ([source, options]) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const { createPipeUplink } = await import(url);
  URL.revokeObjectURL(url);
  const model = new FakeModel({});
  window.outbox = [];
  model.send = (content, callbacks, buffers) => {
    const bytes = new Uint8Array(buffers[0]);
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    window.outbox.push([content, btoa(text)]);
  };
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: 640, height: 480 },
    audio: true,
  });
  window.controller = new AbortController();
  window.uplink = createPipeUplink(model, controller.signal, options);
  uplink.start("camera", stream.getVideoTracks()[0]);
  uplink.start("microphone", stream.getAudioTracks()[0]);
  window.model = model;
  window.stream = stream;
}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # The capture AudioContext starts at once, as after the click that turns the mic on.
    with launch_chromium(extra_flags=("--autoplay-policy=no-user-gesture-required",)) as chromium:
        yield chromium


class Kernel:
    """A PipeUplink whose sends and decoded frames are kept for the test's thread."""

    def __init__(self) -> None:
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.video: list[av.VideoFrame] = []
        self.audio: list[av.AudioFrame] = []
        self.uplink = PipeUplink(lambda content, buffers: self.replies.put(content), self._frame)

    def _frame(self, role: str, frame: av.VideoFrame | av.AudioFrame) -> None:
        if isinstance(frame, av.VideoFrame):
            assert role == "camera"
            self.video.append(frame)
        else:
            assert role == "microphone"
            self.audio.append(frame)

    def audio_seconds(self) -> float:
        return sum(frame.samples / frame.sample_rate for frame in list(self.audio))


def run_call(page: Page, options: dict[str, str]) -> tuple[Kernel, list[dict[str, Any]]]:
    """Start the uplink in the page and relay both ways until enough media was decoded."""
    kernel = Kernel()
    page.evaluate(START_JS, [UPLINK_JS, options])
    received: list[dict[str, Any]] = []
    try:
        for _ in range(2000):  # a bound, not a timing: each round waits for page work
            batch = cast(list[list[Any]], page.evaluate("() => outbox.splice(0)"))
            for content, data in batch:
                received.append(content)
                assert kernel.uplink.receive(content, [base64.b64decode(data)])
            replies = []
            while not kernel.replies.empty():
                replies.append(kernel.replies.get())
            page.evaluate("replies => replies.forEach((r) => model.receive(r))", replies)
            if len(kernel.video) >= VIDEO_FRAMES and kernel.audio_seconds() >= AUDIO_SECONDS:
                break
            page.wait_for_timeout(20)
        stats = cast(dict[str, Any], page.evaluate("uplink.stats()"))
        page.evaluate("controller.abort()")
        assert page.evaluate("model.listenerCount()") == 0
    finally:
        kernel.uplink.close()
    assert stats["camera"]["codec"] == options.get("codec", "vp8")
    assert stats["camera"]["errors"] == 0
    return kernel, received


def check_video(kernel: Kernel, received: list[dict[str, Any]], codec: str) -> None:
    """The fake camera's picture (a moving pattern, not one colour) at its 640x480."""
    assert len(kernel.video) >= VIDEO_FRAMES
    video = [m for m in received if m["kind"] == "up_video"]
    assert {m["codec"] for m in video} == {codec}
    assert [m["seq"] for m in video] == list(range(1, len(video) + 1))
    for frame in kernel.video:
        assert (frame.width, frame.height, frame.format.name) == (640, 480, "yuv420p")
    luma = kernel.video[-1].to_ndarray()[:480]
    assert luma.std() > 10, "the fake camera draws a pattern; a flat frame means no picture"
    pts = [frame.pts for frame in kernel.video]
    assert all(a is not None and b is not None and a < b for a, b in itertools.pairwise(pts))
    assert kernel.uplink.stats.decode_errors == 0


def check_audio(kernel: Kernel) -> float:
    """The fake microphone's beep (a short burst every half second): the spectrum's peak
    above 50 Hz, the same in every one-second window with sound, half overlapping.
    Returns it (Hz): 398 here, Chromium's 400 Hz beep within a bin or two."""
    rate = kernel.audio[0].sample_rate
    channels = len(kernel.audio[0].layout.channels)
    samples = np.concatenate([f.to_ndarray().reshape(-1, channels)[:, 0] for f in kernel.audio])
    assert np.abs(samples).max() > 10000, "no sound from the fake microphone"
    window, low = rate, 50  # one-second windows: 1 Hz bins
    peaks = []
    for start in range(0, len(samples) - window + 1, window // 2):
        chunk = samples[start : start + window].astype(np.float64)
        if np.abs(chunk).max() < 10000:
            continue  # capture had not started yet (the first chunks may be silent)
        spectrum = np.abs(np.fft.rfft(chunk * np.hanning(window)))
        peaks.append(float(np.argmax(spectrum[low:]) + low) * rate / window)
    assert len(peaks) >= 2
    assert max(peaks) - min(peaks) <= 3, f"the tone's peak moved: {peaks}"
    return float(np.median(peaks))


@pytest.mark.parametrize(
    "options",
    [{}, {"codec": "jpeg"}, {"codec": "jpeg", "reader": "video"}],
    ids=["vp8-webcodecs", "jpeg-forced", "jpeg-video-element"],
)
def test_fake_camera_and_microphone_reach_the_kernel(page: Page, options: dict[str, str]) -> None:
    """getUserMedia's fake camera and microphone, up through the widget channel, decode in
    the kernel to the camera's picture and the microphone's tone: VP8 from WebCodecs, the
    JPEG fallback, and frames read through a <video> element (no MediaStreamTrackProcessor)."""
    kernel, received = run_call(page, options)
    codec = options.get("codec", "vp8")
    check_video(kernel, received, codec)
    frequency = check_audio(kernel)
    print(f"{codec}: fake microphone tone at {frequency:.0f} Hz")
    audio = [m for m in received if m["kind"] == "up_audio"]
    assert {(m["rate"], m["channels"]) for m in audio} <= {(48000, 1), (48000, 2)}
