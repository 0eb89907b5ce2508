"""The recording's worker: composes the grid, mixes the audio and encodes, off the engine loop.

A :class:`Recorder` owns one thread and one output file. The engine loop only hands it
frames (:meth:`Recorder.offer_video`, :meth:`Recorder.offer_audio`), which never blocks:
a video frame just replaces the latest one of its cell, an audio frame goes into a bounded
queue and is dropped (counted) when the worker is behind. So a slow disk or a slow encoder
loses *recorded* frames, never live ones, and the thread runs at a lower priority than the
call's (:func:`yield_to_the_call`), so on busy cores the scheduler serves the call first.

The thread is driven by a clock at :data:`FPS`: at each tick it draws every cell's latest
frame, scaled to fit its cell (aspect kept), into a :data:`WIDTH` x :data:`HEIGHT` canvas,
as the grid a viewer sees (``ceil(sqrt(n))`` columns, cells in the order the sources were
added), and encodes it with presentation time ``tick / FPS``, so the file's duration is the
wall time recorded. A worker behind the clock catches up, writing frames late (their
times stay right); one more than :data:`MAX_LAG` behind skips the missed ticks, counted in
``dropped_frames`` (the player shows the previous frame a little longer).

Audio is mixed by time: each source is resampled to 48 kHz mono s16 and buffered; the mix
up to ``t - AUDIO_DELAY`` is the sum of what every source holds for it (silence where a
source has nothing: a muted or late participant), clipped, so jitter of up to
:data:`AUDIO_DELAY` loses nothing. The output is MP4: H.264 (``libx264``, ``ultrafast``,
``zerolatency``) and AAC, which every ordinary player plays; both encoders ship in PyAV's
wheel (see ``av.codec.codecs_available``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from .colour import reformatted

__all__ = [
    "AUDIO_DELAY",
    "FPS",
    "HEIGHT",
    "SAMPLE_RATE",
    "WIDTH",
    "Cell",
    "Recorder",
    "RecorderCounts",
    "fit_frame",
    "grid_cells",
    "yield_to_the_call",
]

logger = logging.getLogger(__name__)

FPS = 30
"""Output frames per second (the synthetic and usual camera rate)."""
WIDTH = 960
"""Output width in pixels."""
HEIGHT = 540
"""Output height in pixels."""
SAMPLE_RATE = 48_000
"""Output audio rate (Opus's rate: no resampling of what arrives)."""
AUDIO_DELAY = 0.2
"""Seconds the mix waits for late audio before writing silence in its place."""
MAX_LAG = 4.0
"""Seconds the worker may fall behind the clock (a busy machine, a stalled write) and still
catch up by writing every frame late; beyond that the missed frames are dropped. Falling
behind costs no memory (each tick draws the newest frame of each cell), only a later stop:
with 1 s, two test workers on two cores made the recorder drop a fifth of a 4 s grid."""
NICENESS = 2
"""How much lower the recorder's thread runs than the call's (Linux, per thread): when the
cores are busy the scheduler serves the live call first, and the recorder drops frames."""
AUDIO_QUEUE = 256
"""Audio frames (about 5 s) the worker may fall behind before new ones are dropped."""
_MAX_BUFFERED = SAMPLE_RATE
"""Samples a source may hold ahead of the mix before its oldest are dropped (1 s)."""

Array = npt.NDArray[Any]


@dataclass(frozen=True)
class Cell:
    """Where one source's video sits in the recorded grid."""

    key: str
    """The source: a session id."""
    x: int
    y: int
    width: int
    height: int


@dataclass
class RecorderCounts:
    """What the worker did, read when it stopped."""

    video_frames: int = 0
    audio_frames: int = 0
    dropped_frames: int = 0
    dropped_audio: int = 0
    duration: float = 0.0
    cells: tuple[Cell, ...] = ()
    files: tuple[Path, ...] = ()


def grid_cells(keys: list[str], width: int = WIDTH, height: int = HEIGHT) -> tuple[Cell, ...]:
    """The grid of ``keys``: ``ceil(sqrt(n))`` columns, rows as needed, equal cells (sizes
    multiples of 4, as yuv420p planes need), in order, left to right then top to bottom."""
    if not keys:
        return ()
    columns = math.ceil(math.sqrt(len(keys)))
    rows = math.ceil(len(keys) / columns)
    cell_w, cell_h = width // columns // 4 * 4, height // rows // 4 * 4
    return tuple(
        Cell(key, (i % columns) * cell_w, (i // columns) * cell_h, cell_w, cell_h)
        for i, key in enumerate(keys)
    )


def yield_to_the_call() -> None:
    """Lower the calling thread's priority by :data:`NICENESS` (Linux, where a thread's
    nice value is its own; elsewhere the process's would change, so nothing is done).
    Threads it starts (the encoder's) inherit it."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)


def fit_frame(frame_w: int, frame_h: int, cell: Cell) -> tuple[int, int, int, int]:
    """Where a ``frame_w`` x ``frame_h`` frame shows in ``cell``, aspect kept, centred:
    (x, y, width, height), the place even and the sizes multiples of 4."""
    scale = min(cell.width / frame_w, cell.height / frame_h)
    w = max(4, int(frame_w * scale) // 4 * 4)
    h = max(4, int(frame_h * scale) // 4 * 4)
    return cell.x + (cell.width - w) // 4 * 2, cell.y + (cell.height - h) // 4 * 2, w, h


class _Planes:
    """A yuv420p picture as PyAV packs it: Y rows, then U and V (each a quarter of Y)."""

    def __init__(self, width: int, height: int, packed: Array | None = None) -> None:
        self.size = (width, height)
        self.packed = packed if packed is not None else np.zeros((height * 3 // 2, width), np.uint8)
        quarter = self.packed[height:].reshape(2, height // 2, width // 2)
        self.y, self.u, self.v = self.packed[:height], quarter[0], quarter[1]

    @classmethod
    def of(cls, frame: Any) -> _Planes:
        """The planes of a yuv420p ``av.VideoFrame`` (even width, height a multiple of 4)."""
        return cls(frame.width, frame.height, frame.to_ndarray())

    def blank(self) -> None:
        """Black."""
        self.y[:] = 16
        self.u[:] = self.v[:] = 128

    def paste(self, other: _Planes, x: int, y: int) -> None:
        """Draw ``other`` with its top-left corner at (``x``, ``y``), both even."""
        w, h = other.size
        self.y[y : y + h, x : x + w] = other.y
        self.u[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = other.u
        self.v[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] = other.v


@dataclass
class _AudioSource:
    resampler: Any
    samples: list[Array] = field(default_factory=list)
    buffered: int = 0

    def take(self, count: int) -> Array:
        """The next ``count`` samples (zeros where the source has none)."""
        out = np.zeros(count, dtype=np.int32)
        filled = 0
        while filled < count and self.samples:
            chunk = self.samples[0]
            used = min(count - filled, len(chunk))
            out[filled : filled + used] = chunk[:used]
            filled += used
            if used == len(chunk):
                self.samples.pop(0)
            else:
                self.samples[0] = chunk[used:]
        self.buffered -= filled
        return out


class Recorder:
    """One recording in progress: a thread writing ``path`` (see the module doc)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[str, Any] = {}
        """The newest video frame of each cell (replaced, never queued)."""
        self._keys: list[str] = []
        self._audio: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=AUDIO_QUEUE)
        self._stop = threading.Event()
        self._stopped_at = 0.0
        """When ``stop`` was asked (the recording's end, however late the thread sees it)."""
        self._counts = RecorderCounts()
        self._failure: BaseException | None = None
        self._container = av.open(str(path), mode="w", format="mp4")
        self._video = self._container.add_stream("libx264", rate=FPS)
        self._video.width, self._video.height = WIDTH, HEIGHT
        self._video.pix_fmt = "yuv420p"
        self._video.options = {"preset": "ultrafast", "tune": "zerolatency"}
        self._video.codec_context.time_base = Fraction(1, FPS)
        self._sound = self._container.add_stream("aac", rate=SAMPLE_RATE)
        self._sound.codec_context.layout = "mono"
        self._sound.codec_context.time_base = Fraction(1, SAMPLE_RATE)
        self._thread = threading.Thread(target=self._run, name=f"recorder {path.name}")
        self._started = 0.0

    # -- engine loop side: never blocks -------------------------------------------------

    def start(self) -> None:
        """Start the clock and the thread."""
        self._started = self._clock()
        self._thread.start()

    def set_sources(self, users: dict[str, str]) -> None:
        """The cells, in order: the sessions in the call (with their users; a participant
        joining gets a cell, one leaving loses it)."""
        with self._lock:
            self._keys = list(users)
            for gone in set(self._latest) - set(users):
                del self._latest[gone]

    def offer(self, session_id: str, track_type: str, kind: str, frame: Any) -> None:
        """One frame of a track: a camera's goes to its cell, every audio to the mix (a
        shared screen's video is not drawn)."""
        if kind == "audio":
            self.offer_audio(f"{session_id}/{track_type}", frame)
        elif track_type == "video":
            self.offer_video(session_id, frame)

    def offer_video(self, key: str, frame: Any) -> None:
        """``frame`` is now the newest of ``key``'s cell."""
        with self._lock:
            if key in self._keys:
                self._latest[key] = frame

    def offer_audio(self, key: str, frame: Any) -> None:
        """Queue ``frame`` for the mix; dropped (counted) when the worker is behind."""
        try:
            self._audio.put_nowait((key, frame))
        except queue.Full:
            self._counts.dropped_audio += 1

    def abort(self) -> None:
        """Give up before starting: close and remove the (empty) file."""
        with contextlib.suppress(Exception):  # nothing was muxed: the header may fail
            self._container.close()
        self.path.unlink(missing_ok=True)

    def stop(self) -> RecorderCounts:
        """Stop at the current time, finish the file and return the counts (blocks until
        the file is written: call it from a worker thread)."""
        self._stopped_at = self._clock() - self._started
        self._stop.set()
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return self._counts

    # -- the worker thread ---------------------------------------------------------------

    def _run(self) -> None:
        yield_to_the_call()
        sources: dict[str, _AudioSource] = {}
        cached: dict[str, tuple[Any, _Planes]] = {}
        canvas = _Planes(WIDTH, HEIGHT)
        mixed = 0
        tick = 0
        try:
            while True:
                stopping = self._stop.is_set()
                now = self._stopped_at if stopping else self._clock() - self._started
                due = int(now * FPS) + 1 if not stopping else math.ceil(now * FPS)
                if due - tick > MAX_LAG * FPS and not stopping:
                    self._counts.dropped_frames += due - tick - 1
                    tick = due - 1
                if tick < due:
                    self._draw(canvas, cached)
                    self._encode_video(canvas, tick)
                    tick += 1
                self._drain_audio(sources)
                audio_end = int((now if stopping else max(0.0, now - AUDIO_DELAY)) * SAMPLE_RATE)
                mixed = self._mix(sources, mixed, audio_end)
                if stopping and tick >= due:
                    break
                wait = (tick / FPS) - (self._clock() - self._started)
                if wait > 0:
                    self._stop.wait(wait)
            self._counts.duration = tick / FPS
            self._counts.files = (self.path,)
            self._finish()
        except BaseException as exc:  # handed to stop(), which raises it to the user
            self._failure = exc
            logger.debug("recording %s failed", self.path, exc_info=exc)
            self._container.close()

    def _draw(self, canvas: _Planes, cached: dict[str, tuple[Any, _Planes]]) -> None:
        """Paint every cell's latest frame into the yuv420p planes (a frame already scaled
        is not scaled again; no RGB round trip: the encoder takes yuv420p)."""
        with self._lock:
            latest = dict(self._latest)
            cells = grid_cells(self._keys)
        canvas.blank()
        for cell in cells:
            frame = latest.get(cell.key)
            if frame is None:
                continue
            x, y, w, h = fit_frame(frame.width, frame.height, cell)
            previous = cached.get(cell.key)
            if previous is not None and previous[0] is frame and previous[1].size == (w, h):
                pixels = previous[1]
            else:
                pixels = _Planes.of(reformatted(frame, width=w, height=h, format="yuv420p"))
                cached[cell.key] = (frame, pixels)
            canvas.paste(pixels, x, y)
        for gone in set(cached) - set(latest):
            del cached[gone]
        self._counts.cells = cells

    def _encode_video(self, canvas: _Planes, tick: int) -> None:
        frame = av.VideoFrame.from_ndarray(canvas.packed, format="yuv420p")
        frame.pts = tick
        frame.time_base = Fraction(1, FPS)
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        self._counts.video_frames += 1

    def _drain_audio(self, sources: dict[str, _AudioSource]) -> None:
        """Move queued audio into each source's buffer, as 48 kHz mono s16."""
        while True:
            try:
                key, frame = self._audio.get_nowait()
            except queue.Empty:
                return
            source = sources.get(key)
            if source is None:
                source = sources[key] = _AudioSource(
                    av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
                )
            self._counts.audio_frames += 1
            for out in source.resampler.resample(frame):
                samples = out.to_ndarray().reshape(-1).astype(np.int32)
                source.samples.append(samples)
                source.buffered += len(samples)
            if source.buffered > _MAX_BUFFERED:
                source.take(source.buffered - _MAX_BUFFERED // 2)

    def _mix(self, sources: dict[str, _AudioSource], mixed: int, until: int) -> int:
        """Encode the mix from sample ``mixed`` up to ``until``; the new ``mixed``."""
        count = until - mixed
        if count <= 0:
            return mixed
        total = np.zeros(count, dtype=np.int32)
        for source in sources.values():
            total += source.take(count)
        samples = np.clip(total, -32768, 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = mixed
        frame.time_base = Fraction(1, SAMPLE_RATE)
        for packet in self._sound.encode(frame):
            self._container.mux(packet)
        return until

    def _finish(self) -> None:
        for stream in (self._video, self._sound):
            for packet in stream.encode(None):
                self._container.mux(packet)
        self._container.close()
