"""DTMF tones in the outgoing audio: the dual-tone samples and the overlay that plays them.

aiortc has no RFC 4733 telephone-event sender, so a digit is heard the way an analogue
line carries it: its two sines (:data:`~streamcall_widget.engine.dtmf.FREQUENCIES`) take the
place of the microphone's samples for the digit's duration. The overlay sits in the local
audio track before the processor (:attr:`~streamcall_widget.engine.media.LocalTrack.overlay`),
so a processor, the local preview and every peer get the same tone; it counts samples, not
wall-clock time, and says when the digit has been played.
"""

from __future__ import annotations

from collections.abc import Callable

import av
import numpy as np
import numpy.typing as npt

from .dtmf import FREQUENCIES

__all__ = ["AMPLITUDE", "ToneOverlay", "dtmf_samples"]

AMPLITUDE = 0.35
"""Each of the two sines at this fraction of full scale: together at most 0.7 (no clipping)."""


def dtmf_samples(digit: str, count: int, rate: int, start: int = 0) -> npt.NDArray[np.int16]:
    """``count`` s16 samples of ``digit``'s dual tone at ``rate`` Hz, from sample ``start``
    of the tone (so consecutive frames continue the same sines)."""
    low, high = FREQUENCIES[digit]
    t = (start + np.arange(count, dtype=np.float64)) / rate
    wave = np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t)
    return np.round(wave * AMPLITUDE * 32767).astype(np.int16)


class ToneOverlay:
    """Plays one digit into s16 audio frames: ``overlay(frame)`` returns a new frame whose
    first samples (as many as are left of the digit) are the tone; ``done()`` is called
    once the digit's last sample went out."""

    def __init__(self, digit: str, duration_ms: int, done: Callable[[], None]) -> None:
        self.digit = digit
        self._duration_ms = duration_ms
        self._done = done
        self._played = 0
        self._total: int | None = None
        """Samples of the digit, known from the first frame's rate."""

    @property
    def finished(self) -> bool:
        """Whether every sample of the digit has been played."""
        return self._total is not None and self._played >= self._total

    def __call__(self, frame: av.AudioFrame) -> av.AudioFrame:
        """``frame`` with the tone in place of its samples (unchanged once finished)."""
        if self._total is None:
            self._total = frame.sample_rate * self._duration_ms // 1000
        left = self._total - self._played
        if left <= 0 or frame.format.name != "s16":
            return frame
        samples = frame.to_ndarray().copy()  # packed s16: shape (1, samples x channels)
        channels = len(frame.layout.channels)
        count = min(left, frame.samples)
        tone = dtmf_samples(self.digit, count, frame.sample_rate, self._played)
        samples[0, : count * channels] = np.repeat(tone, channels)
        toned = av.AudioFrame.from_ndarray(samples, format="s16", layout=frame.layout.name)
        toned.sample_rate = frame.sample_rate
        toned.pts = frame.pts
        toned.time_base = frame.time_base
        self._played += count
        if self.finished:
            self._done()
        return toned
