"""Colours from a real Chromium page reach Python right: canvas → WebRTC → aiortc.

The page fills a ``<canvas>`` with one known colour at a time and sends its
``captureStream()`` over an RTCPeerConnection whose signalling is ``page.evaluate`` calls
to an aiortc peer in this loop (no ICE servers on either side: the machine is offline).
The page reads the track's colour space with ``describeColourSpace`` (js/lib/colour.js);
each received frame goes through ``to_canonical(frame, page_source_space("canvas",
reported))`` and ``to_rgb_array`` and must match the canvas colour within ±8 per channel:
VP8 and H264 quantise a flat frame's planes by a level or two, which the BT.709 → BT.601 limited
→ RGB steps amplify (a YUV level is up to ~2 RGB levels), and 4:2:0 chroma adds rounding.
Reading the same frame as plain BT.601 limited range (what the kernel did before) must be
off by more than that for (10,144,10): proof that this test can fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from playwright.async_api import Page, async_playwright

from streamcall_widget.engine.colour import page_source_space, to_canonical, to_rgb_array
from streamcall_widget.engine.ice import forget_mdns
from tests.browser.chromium import CHROMIUM, CHROMIUM_FLAGS
from tests.test_colour import COLOURS

ORIGIN = "http://localhost:8765/"
COLOUR_JS = (Path(__file__).parents[2] / "js" / "lib" / "colour.js").read_text(encoding="utf-8")
TOLERANCE = 8
STABLE_FRAMES = 4
"""Frames in a row whose centre must agree before one counts as showing the new colour
(VP8 refines a changed picture over a few frames)."""
MAX_FRAMES = 300
"""Frames to wait for one colour at most (10 s at 30 frames a second)."""

PAGE = """<!doctype html><html><body><canvas id="c" width="320" height="240"></canvas>
<script>
window.colour = [10, 144, 10];
const canvas = document.getElementById("c");
const g = canvas.getContext("2d");
const draw = () => { g.fillStyle = `rgb(${colour.join(",")})`; g.fillRect(0, 0, 320, 240); };
setInterval(draw, 20);
draw();
</script></body></html>"""

START_JS = """
async ([source, codec]) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const { describeColourSpace } = await import(url);
  const track = document.getElementById("c").captureStream(30).getVideoTracks()[0];
  const reported = await describeColourSpace(track);
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.pc = pc;
  window.track = track;
  const transceiver = pc.addTransceiver(track, { direction: "sendonly" });
  const codecs = RTCRtpSender.getCapabilities("video").codecs;
  const wanted = codecs.filter((c) => c.mimeType === `video/${codec}`);
  transceiver.setCodecPreferences([...wanted, ...codecs.filter((c) => !wanted.includes(c))]);
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") return done();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") done();
    });
  });
  return { sdp: pc.localDescription.sdp, reported, live: track.readyState };
}
"""


class _Link:
    """The aiortc end: the page's video frames, in order, as they are decoded."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.frames: asyncio.Queue[av.VideoFrame] = asyncio.Queue()
        self._pumps: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._pumps.append(asyncio.ensure_future(self._pump(track)))

    async def _pump(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            assert isinstance(frame, av.VideoFrame)
            await self.frames.put(frame)

    async def answer(self, offer_sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def close(self) -> None:
        await self.pc.close()
        for pump in self._pumps:
            pump.cancel()


@pytest.fixture
async def canvas_page() -> AsyncIterator[Page]:
    """A page in headless Chromium with the colour canvas; browser closed afterwards.
    Each test has an event loop of its own, so aioice's mDNS state (for the page's
    ``.local`` candidates) is made afresh, as the engine does for each of its loops."""
    forget_mdns()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_FLAGS)
        )
        try:
            page = await browser.new_page()
            await page.route(
                ORIGIN, lambda route: route.fulfill(body=PAGE, content_type="text/html")
            )
            await page.goto(ORIGIN)
            yield page
        finally:
            await browser.close()


def _negotiated_codec(sdp: str) -> str:
    """The codec an SDP answer puts first on its video line: the one that will be sent."""
    lines = sdp.splitlines()
    payload_type = next(line for line in lines if line.startswith("m=video")).split()[3]
    rtpmap = next(line for line in lines if line.startswith(f"a=rtpmap:{payload_type} "))
    return rtpmap.split()[1].split("/")[0]


def _distance(a: Sequence[float], b: Sequence[float]) -> float:
    """The largest per-channel difference of two colours (or YUV triples)."""
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


def _centre(frame: av.VideoFrame) -> tuple[float, float, float]:
    """Mean Y, U, V of the frame's centre block, straight from the decoded planes."""
    planes = []
    for index, (height, width) in enumerate(
        [(frame.height, frame.width), *[(frame.height // 2, frame.width // 2)] * 2]
    ):
        plane = frame.planes[index]
        rows = np.frombuffer(bytes(plane), np.uint8).reshape(height, plane.line_size)[:, :width]
        planes.append(
            float(rows[height // 2 - 8 : height // 2 + 8, width // 2 - 8 : width // 2 + 8].mean())
        )
    return planes[0], planes[1], planes[2]


async def _settled_frame(link: _Link, previous: tuple[float, float, float] | None) -> av.VideoFrame:
    """The first frame that shows a new colour and stays: its centre differs from
    ``previous`` and the next frames agree with it."""
    run: list[tuple[float, float, float]] = []
    for _ in range(MAX_FRAMES):
        frame = await asyncio.wait_for(link.frames.get(), 10)
        centre = _centre(frame)
        if previous is not None and _distance(centre, previous) < 2:
            run = []
            continue
        if run and _distance(centre, run[-1]) > 0.5:
            run = []
        run.append(centre)
        if len(run) >= STABLE_FRAMES:
            return frame
    raise AssertionError(f"no settled frame in {MAX_FRAMES} frames (last centre {run[-1:]})")


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_canvas_colours_reach_python_as_drawn(canvas_page: Page, codec: str) -> None:
    """VP8 frames arrive untagged; H264 ones tagged BT.709 full range from the VUI (and
    yuvj420p): the same rule must hold for both."""
    link = _Link()
    try:
        started: dict[str, Any] = await canvas_page.evaluate(START_JS, [COLOUR_JS, codec])
        reported = started["reported"]
        # What Chromium 156 reports for a canvas track: its frames are RGB.
        assert reported is not None
        assert reported["matrix"] == "rgb"
        assert started["live"] == "live"  # probing a clone left the track itself alone
        answer = await link.answer(started["sdp"])
        await canvas_page.evaluate(
            "(sdp) => pc.setRemoteDescription({ type: 'answer', sdp })", answer
        )
        assert _negotiated_codec(answer) == codec
        space = page_source_space("canvas", reported)

        previous = None
        results: dict[tuple[int, int, int], tuple[list[int], list[int]]] = {}
        for rgb in COLOURS:
            await canvas_page.evaluate("(rgb) => { window.colour = rgb; }", list(rgb))
            frame = await _settled_frame(link, previous)
            previous = _centre(frame)
            height, width = frame.height, frame.width
            converted = to_rgb_array(to_canonical(frame, space))[height // 2, width // 2]
            plain = frame.reformat(
                format="rgb24", src_colorspace="ITU601", src_color_range="MPEG"
            ).to_ndarray()[height // 2, width // 2]
            results[rgb] = (converted.tolist(), plain.tolist())

        for rgb, (converted, _) in results.items():
            error = _distance(converted, rgb)
            assert error <= TOLERANCE, f"canvas {rgb} arrived as {converted}: {results}"
        plain = results[(10, 144, 10)][1]
        assert _distance(plain, (10, 144, 10)) > TOLERANCE, results
    finally:
        await link.close()
