"""The page side of the CallView benchmark: an init script that observes, and its readers.

The init script runs in the JupyterLab page before any of its code and changes no product
code; it only wraps browser APIs and defines the draw hook ``js/lib/frames.js`` calls:

- ``window.__streamcall_on_draw`` records, for every paint of a remote tile, the frame's
  kernel time ``ts``, the paint time, the id read back from the canvas pixels (the stamp's
  block centres, scaled to where the frame is drawn in the canvas) and the canvas size;
- ``createImageBitmap`` and ``CanvasRenderingContext2D.drawImage`` are wrapped to tag each
  decoded picture with when its decode started (the frames message has just arrived) and
  ended, so every paint also says how long the frame was on its way, in decoding and
  waiting for an animation frame;
- ``requestAnimationFrame`` is wrapped so that, once ``window.__bench.rafInterval`` is set
  (ms), callbacks run together at most once per interval, on a native animation frame: the
  page then draws at most 1000 / interval times a second, like a slow or busy page;
- a probe counts native animation frames, to measure the page's frame interval.

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

  const readStamp = (canvas) => {
    const width = canvas.width, height = canvas.height;
    const scale = Math.min(width / SOURCE_WIDTH, height / SOURCE_HEIGHT);
    const left = (width - SOURCE_WIDTH * scale) / 2;
    const top = (height - SOURCE_HEIGHT * scale) / 2;
    const row = canvas.getContext("2d")
      .getImageData(0, Math.floor(top + (BLOCK / 2) * scale), width, 1).data;
    let bits = [];
    for (let i = 0; i < BLOCKS; i++) {
      const at = 4 * Math.floor(left + (BLOCK * i + BLOCK / 2) * scale);
      const level = (row[at] + row[at + 1] + row[at + 2]) / 3;
      if (level > DARK && level < LIGHT) return null;
      bits.push(level >= LIGHT ? 1 : 0);
    }
    if (bits[0] !== 1 || bits[1] !== 0 || bits[18] !== 0 || bits[19] !== 1) return null;
    return bits.slice(2, 18).reduce((id, bit) => (id << 1) | bit, 0);
  };

  window.__streamcall_on_draw = ({ key, ts, canvas, drawnAt }) => {
    if (key === "local") return;
    const tag = canvas.__bench || { received: NaN, decoded: NaN };
    bench.draws.push([ts, drawnAt, tag.received, tag.decoded, readStamp(canvas),
      canvas.width, canvas.height]);
  };
})();
"""

INIT_SCRIPT = _INIT % {"width": WIDTH, "height": HEIGHT}
"""The script every bench page runs first (see the module docstring)."""

BENCH_CSS = f"""
.sc-call .sc-tile.sc-local {{ display: none; }}
.sc-call .sc-tile:not(.sc-local) {{
  width: {WIDTH}px; height: {HEIGHT}px; aspect-ratio: auto; box-sizing: content-box;
}}
"""
"""Styles that show the remote tile's canvas at exactly the source size (at device scale
factor 1) and hide the local preview tile, whose size 0 keeps the kernel from encoding it:
every JPEG the kernel makes is then one source frame at its own size."""


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
    """The id read back from the canvas, None if unreadable."""
    canvas: tuple[int, int]


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
  framesDrawn: Number(document.querySelector('.sc-call').dataset.framesDrawn),
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
            Draw(ts, at, received or float("nan"), decoded or float("nan"), stamp, (w, h))
            for ts, at, received, decoded, stamp, w, h in end["draws"]
        ],
        frames_drawn=int(end["framesDrawn"] - start["framesDrawn"]),
        raf_frames=int(end["rafFrames"] - start["rafFrames"]),
        clock_offset_ms=float(end["dateNow"] - end["now"]),
    )


def set_raf_interval(page: Page, milliseconds: float) -> None:
    """Run animation frame callbacks at most every ``milliseconds`` (0: natively)."""
    page.evaluate("(ms) => { window.__bench.rafInterval = ms; }", milliseconds)
