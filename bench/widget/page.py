"""The page side of the CallView benchmark: an init script that observes, and its readers.

The init script runs in the JupyterLab page before any of its code and changes no product
code; it only wraps browser APIs and defines the draw hook ``js/lib/frames.js`` calls:

- ``window.__streamcall_on_draw`` records every paint of a tile: the frame's kernel time
  ``ts`` (0 for a native video's frame: the WebRTC link carries none), the paint time, the
  id read back from the pixels of a remote tile (the stamp's block centres: on a canvas
  scaled to where the frame is drawn in it; for a native ``<video>``, in its
  requestVideoFrameCallback, from the 320x16 corner copied into a small canvas), the size,
  which view drew it and whether it is the self-preview;
- ``createImageBitmap`` and ``CanvasRenderingContext2D.drawImage`` are wrapped to tag each
  decoded picture with when its decode started (the frames message has just arrived) and
  ended, so every paint also says how long the frame was on its way, in decoding and
  waiting for an animation frame;
- ``requestAnimationFrame`` is wrapped so that, once ``window.__bench.rafInterval`` is set
  (ms), callbacks run together at most once per interval, on a native animation frame: the
  page then draws at most 1000 / interval times a second, like a slow or busy page;
- a probe counts native animation frames, to measure the page's frame interval;
- ``getUserMedia`` for video returns a 640x480 canvas's ``captureStream(30)`` instead of a
  camera; the canvas draws the wall clock (ms mod 2^32) each animation frame as two stamps
  (high and low 16 bits side by side), which bob's kernel reads to time the uplink.

Times are ``performance.timeOrigin + performance.now()`` (ms since the epoch), as the hook's
``drawnAt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page

from bench.media.tally import HEIGHT, WIDTH

__all__ = [
    "BENCH_CSS",
    "INIT_SCRIPT",
    "Draw",
    "PageWindow",
    "read_window",
    "set_quickstart",
    "set_raf_interval",
    "start_window",
]

_INIT = """
(() => {
  const SOURCE_WIDTH = %(width)d, SOURCE_HEIGHT = %(height)d;
  const BLOCK = 16, BLOCKS = 20, DARK = 80, LIGHT = 175;
  const now = () => performance.timeOrigin + performance.now();
  const bench = { rafInterval: 0, draws: [], rafFrames: 0, rafStart: 0 };
  window.__bench = bench;

  const nativeRaf = window.requestAnimationFrame.bind(window);
  const nativeCancel = window.cancelAnimationFrame.bind(window);
  let queue = new Map();
  let nextId = 1e9;
  let pending = 0;
  let lastFlush = -Infinity;
  const flush = (t) => {
    pending = 0;
    if (t - lastFlush < bench.rafInterval) {
      pending = nativeRaf(flush);
      return;
    }
    lastFlush = t;
    const run = queue;
    queue = new Map();
    for (const callback of run.values()) {
      try { callback(t); } catch (error) { setTimeout(() => { throw error; }); }
    }
  };
  window.requestAnimationFrame = (callback) => {
    if (!bench.rafInterval && !queue.size) return nativeRaf(callback);
    const id = nextId++;
    queue.set(id, callback);
    if (!pending) pending = nativeRaf(flush);
    return id;
  };
  window.cancelAnimationFrame = (id) => {
    if (!queue.delete(id)) nativeCancel(id);
  };
  const probe = () => { bench.rafFrames++; nativeRaf(probe); };
  nativeRaf(probe);

  const nativeDecode = window.createImageBitmap.bind(window);
  window.createImageBitmap = (...args) => {
    const received = now();
    return nativeDecode(...args).then((bitmap) => {
      bitmap.__bench = { received, decoded: now() };
      return bitmap;
    });
  };
  const nativeDraw = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (image, ...rest) {
    if (image && image.__bench) this.canvas.__bench = image.__bench;
    return nativeDraw.call(this, image, ...rest);
  };

  // The stamp (streamcall_widget/engine/stamp.py) from one pixel row through the block
  // centres: `row` RGBA, the stamp's left edge at `left`, drawn `scale` times its size.
  const decodeRow = (row, left, scale) => {
    let id = 0;
    for (let i = 0; i < BLOCKS; i++) {
      const at = 4 * Math.floor(left + (BLOCK * i + BLOCK / 2) * scale);
      const level = (row[at] + row[at + 1] + row[at + 2]) / 3;
      if (level > DARK && level < LIGHT) return null;
      const bit = level >= LIGHT ? 1 : 0;
      if ((i === 0 && !bit) || ((i === 1 || i === 18) && bit) || (i === 19 && !bit)) return null;
      if (i >= 2 && i < 18) id = (id << 1) | bit;
    }
    return id;
  };
  const readStamp = (canvas) => {
    const width = canvas.width, height = canvas.height;
    const scale = Math.min(width / SOURCE_WIDTH, height / SOURCE_HEIGHT);
    const left = (width - SOURCE_WIDTH * scale) / 2;
    const top = (height - SOURCE_HEIGHT * scale) / 2;
    const row = canvas.getContext("2d")
      .getImageData(0, Math.floor(top + (BLOCK / 2) * scale), width, 1).data;
    return decodeRow(row, left, scale);
  };
  // A presented video frame's stamp: its STAMP_WIDTH x STAMP_HEIGHT corner (in the video's
  // own pixels) copied into a small canvas, one row read back.
  const corner = document.createElement("canvas");
  corner.width = BLOCK * BLOCKS; corner.height = BLOCK;
  const cornerContext = corner.getContext("2d", { willReadFrequently: true });
  const readVideoStamp = (video) => {
    const scale = video.videoWidth / SOURCE_WIDTH;
    if (!scale) return null;
    cornerContext.drawImage(video, 0, 0, corner.width * scale, corner.height * scale,
      0, 0, corner.width, corner.height);
    return decodeRow(cornerContext.getImageData(0, BLOCK / 2, corner.width, 1).data, 0, 1);
  };

  window.__streamcall_on_draw = ({ key, ts, canvas, video, native, drawnAt }) => {
    const element = native ? video : canvas;
    const root = element.closest(".sc-call");
    const view = root ? [...document.querySelectorAll(".sc-call")].indexOf(root) : -1;
    const local = key === "local";
    const tag = (!native && canvas.__bench) || { received: NaN, decoded: NaN };
    const stamp = local ? null : native ? readVideoStamp(video) : readStamp(canvas);
    bench.draws.push([ts, drawnAt, tag.received, tag.decoded, stamp,
      native ? video.videoWidth : canvas.width, native ? video.videoHeight : canvas.height,
      view, local, Boolean(native), key]);
  };

  // The page's camera, for the uplink figure: a canvas drawing the wall clock (ms mod 2^32)
  // as two stamps, the high 16 bits at the left, the low 16 bits right of it.
  const stampInto = (context, id, left) => {
    const bits = [1, 0, ...Array.from({ length: 16 }, (_, i) => (id >> (15 - i)) & 1), 0, 1];
    bits.forEach((bit, i) => {
      context.fillStyle = bit ? "#fff" : "#000";
      context.fillRect(left + BLOCK * i, 0, BLOCK, BLOCK);
    });
  };
  const devices = navigator.mediaDevices;
  const nativeGetUserMedia = devices && devices.getUserMedia.bind(devices);
  if (devices) devices.getUserMedia = async (constraints) => {
    if (!constraints || !constraints.video) return nativeGetUserMedia(constraints);
    const camera = document.createElement("canvas");
    camera.width = SOURCE_WIDTH; camera.height = SOURCE_HEIGHT;
    const context = camera.getContext("2d");
    const tick = () => {
      const ms = Math.floor(now()) %% 4294967296;
      context.fillStyle = "#468";
      context.fillRect(0, 0, SOURCE_WIDTH, SOURCE_HEIGHT);
      stampInto(context, Math.floor(ms / 65536), 0);
      stampInto(context, ms %% 65536, BLOCK * BLOCKS);
      nativeRaf(tick);
    };
    tick();
    bench.cameraOpened = (bench.cameraOpened || 0) + 1;
    return camera.captureStream(30);
  };
})();
"""

INIT_SCRIPT = _INIT % {"width": WIDTH, "height": HEIGHT}
"""The script every bench page runs first (see the module docstring)."""

BENCH_CSS = f"""
body:not(.bench-quickstart) .sc-call .sc-tile.sc-local {{ display: none; }}
body:not(.bench-quickstart) .sc-call .sc-tile:not(.sc-local) {{
  width: {WIDTH}px; height: {HEIGHT}px; aspect-ratio: auto; box-sizing: content-box;
}}
"""
"""Styles that show the remote tile's canvas at exactly the source size (at device scale
factor 1) and hide the local preview tile, whose size 0 keeps the kernel from encoding it:
every JPEG the kernel makes is then one source frame at its own size. The body class
``bench-quickstart`` turns them off (the quickstart windows show every tile as a user sees
it)."""


@dataclass(frozen=True)
class Draw:
    """One paint of a remote tile, times in ms since the epoch."""

    ts: float
    """When the kernel got the frame (from the frames message)."""
    drawn_at: float
    received: float
    """When the page started decoding it (its message had just arrived); NaN if unknown."""
    decoded: float
    stamp: int | None
    """The id read back from the canvas or the video, None if unreadable."""
    canvas: tuple[int, int]
    """The canvas's size, or the video's for a native draw."""
    view: int = 0
    """Which ``.sc-call`` on the page (in document order) drew it; -1 for none."""
    local: bool = False
    """The self-preview tile."""
    native: bool = False
    """A frame a native ``<video>`` presented (WebRTC path; ``ts`` is 0)."""
    key: str = ""


@dataclass(frozen=True)
class PageWindow:
    """What the page did between :func:`start_window` and :func:`read_window`."""

    seconds: float
    draws: list[Draw]
    frames_drawn: int
    """Increase of the view's ``data-frames-drawn`` (fresh frames painted)."""
    raf_frames: int
    """Native animation frames in the window."""
    clock_offset_ms: float
    """``Date.now()`` minus the page's ``timeOrigin + now()`` at the end (the page clock's
    offset from the wall clock the kernel's ``ts`` uses, to the millisecond)."""


_STATE = """() => ({
  now: performance.timeOrigin + performance.now(),
  dateNow: Date.now(),
  framesDrawn: Number(document.querySelector('.sc-call')?.dataset.framesDrawn || 0),
  rafFrames: window.__bench.rafFrames,
})"""


def start_window(page: Page) -> dict[str, float]:
    """Forget the draws so far; the page's state at the window's start."""
    page.evaluate("() => { window.__bench.draws = []; }")
    state: dict[str, float] = page.evaluate(_STATE)
    return state


def read_window(page: Page, start: dict[str, float]) -> PageWindow:
    """The draws and counts since ``start``."""
    end: dict[str, Any] = page.evaluate(
        f"() => ({{...({_STATE})(), draws: window.__bench.draws.splice(0)}})"
    )
    return PageWindow(
        seconds=(end["now"] - start["now"]) / 1000,
        draws=[
            Draw(
                ts,
                at,
                received or float("nan"),
                decoded or float("nan"),
                stamp,
                (w, h),
                view,
                local,
                native,
                key,
            )
            for ts, at, received, decoded, stamp, w, h, view, local, native, key in end["draws"]
        ],
        frames_drawn=int(end["framesDrawn"] - start["framesDrawn"]),
        raf_frames=int(end["rafFrames"] - start["rafFrames"]),
        clock_offset_ms=float(end["dateNow"] - end["now"]),
    )


def set_quickstart(page: Page, on: bool) -> None:
    """Show every tile at the layout's own size (True), or the bench's one pinned tile."""
    page.evaluate("(on) => document.body.classList.toggle('bench-quickstart', on)", on)


def set_raf_interval(page: Page, milliseconds: float) -> None:
    """Run animation frame callbacks at most every ``milliseconds`` (0: natively)."""
    page.evaluate("(ms) => { window.__bench.rafInterval = ms; }", milliseconds)
