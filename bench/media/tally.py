"""What both variants measure the same way: frame arrivals, the CPU window, the encoders.

A variant (raw aiortc or StreamCall) opens a :class:`Pair`, a 1:1 call between alice and
bob in this process, and counts each frame where the application gets it, as a numpy array,
with an :class:`Arrivals` per receiver. :func:`measure_window` then reads process CPU time
(every thread: event loop, encoder and hook workers) over a fixed wall-clock window.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from aiortc import RTCRtpSender

__all__ = [
    "FPS",
    "HEIGHT",
    "TONE_HZ",
    "WIDTH",
    "Arrivals",
    "Pair",
    "Window",
    "cpu_by_thread",
    "encoders_in_use",
    "measure_window",
]

WIDTH, HEIGHT, FPS = 640, 480, 30
"""The synthetic camera every variant sends, in both directions."""
TONE_HZ = 440.0
"""The synthetic microphone's tone, sent in both directions."""


@dataclass
class Arrivals:
    """Frames one receiver got as arrays, and when the first video frame came.

    Each kind is counted by one thread at a time (raw: the event loop; StreamCall: that
    hook's worker) and read by the measuring thread between windows."""

    video: int = 0
    audio: int = 0
    first_video_at: float | None = None
    """``time.perf_counter()`` at the first video frame."""
    first_video: threading.Event = field(default_factory=threading.Event)

    def on_video(self, *_: object) -> None:
        """Count a video frame (any arguments: StreamCall passes participant and array)."""
        if self.first_video_at is None:
            self.first_video_at = time.perf_counter()
            self.first_video.set()
        self.video += 1

    def on_audio(self, *_: object) -> None:
        """Count an audio frame."""
        self.audio += 1

    async def wait_first_video(self, timeout: float) -> float:
        """The arrival time of the first video frame, waiting up to ``timeout`` seconds."""
        if not await asyncio.to_thread(self.first_video.wait, timeout):
            raise TimeoutError(f"no video frame within {timeout} s")
        assert self.first_video_at is not None
        return self.first_video_at


class Pair(Protocol):
    """A running 1:1 call: alice and bob each send camera and microphone to the other."""

    started: float
    """``time.perf_counter()`` when the timed setup began."""
    at_bob: Arrivals
    """What bob receives from alice."""
    at_alice: Arrivals

    async def close(self) -> None:
        """Hang up and release everything the call holds."""


@dataclass(frozen=True)
class Window:
    """One steady-state window of a running call."""

    wall_seconds: float
    cpu_seconds: float
    """Process CPU time (user + system, all threads) spent during the window."""
    video_frames: tuple[int, int]
    """Video frames received in the window by bob and by alice."""
    audio_frames: tuple[int, int]
    encoders: dict[str, int]
    """aiortc encoder classes in use by this process's senders (name: count)."""
    threads: dict[str, float]
    """CPU seconds of the window by thread group (see :func:`cpu_by_thread`)."""

    @property
    def fps(self) -> float:
        """Video frames per second received by the receiver that got fewer."""
        return min(self.video_frames) / self.wall_seconds

    @property
    def cpu_share(self) -> float:
        """CPU seconds per wall second (1.0: one core busy)."""
        return self.cpu_seconds / self.wall_seconds


def encoders_in_use() -> dict[str, int]:
    """The encoder class of every live aiortc sender, counted by name.

    aiortc keeps a sender's encoder private (created on its first frame), so this reads the
    name-mangled attribute; it proves which encoder really ran (e.g. FastH264Encoder)."""
    names: Counter[str] = Counter()
    for obj in gc.get_objects():
        if isinstance(obj, RTCRtpSender):
            encoder = getattr(obj, "_RTCRtpSender__encoder", None)
            if encoder is not None:
                names[type(encoder).__name__] += 1
    return dict(sorted(names.items()))


_TASKS = "/proc/self/task"
_NUMBERED = re.compile(r"[_-]\d+$")


def cpu_by_thread() -> dict[str, float]:
    """CPU seconds so far of each thread group of this process (Linux; else empty).

    Python threads are grouped by name without their number: ``MainThread`` (the raw
    variant's event loop), ``asyncio`` (aiortc's encoder calls run in the loop's executor),
    ``video-decoder`` / ``audio-decoder`` (aiortc's receiver threads), StreamCall's own
    threads; threads Python did not start (libx264's and FFmpeg's workers) are ``native``.
    """
    if not os.path.isdir(_TASKS):
        return {}
    names = {t.native_id: _NUMBERED.sub("", t.name) for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    groups: dict[str, float] = {}
    for tid in os.listdir(_TASKS):
        try:
            with open(f"{_TASKS}/{tid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
        name = names.get(int(tid), "native")
        groups[name] = groups.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return groups


def _counts(pair: Pair) -> tuple[tuple[int, int], tuple[int, int]]:
    """(video, audio) frames received so far, each as (bob, alice)."""
    return (pair.at_bob.video, pair.at_alice.video), (pair.at_bob.audio, pair.at_alice.audio)


async def measure_window(pair: Pair, *, settle: float, window: float, timeout: float) -> Window:
    """Wait for both sides' first video frame, let the call settle for ``settle`` seconds
    (bitrate ramp-up, first keyframes), then measure a ``window`` of wall-clock time."""
    await pair.at_bob.wait_first_video(timeout)
    await pair.at_alice.wait_first_video(timeout)
    await asyncio.sleep(settle)
    video0, audio0 = _counts(pair)
    threads0 = cpu_by_thread()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    await asyncio.sleep(window)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    threads1 = cpu_by_thread()
    video1, audio1 = _counts(pair)
    return Window(
        wall_seconds=wall1 - wall0,
        cpu_seconds=cpu1 - cpu0,
        video_frames=(video1[0] - video0[0], video1[1] - video0[1]),
        audio_frames=(audio1[0] - audio0[0], audio1[1] - audio0[1]),
        encoders=encoders_in_use(),
        threads={
            name: round(seconds - threads0.get(name, 0.0), 3)
            for name, seconds in sorted(threads1.items())
        },
    )
