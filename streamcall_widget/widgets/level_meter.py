"""The microphone meter's motion: quick attack, slow release, like a real level meter.

The engine gives each audio frame's loudness (``audio_level``: RMS in dBFS, -60..0 dB mapped
to 0..1). Shown as the last frame's level 10 times a second, the meter flickers and mostly
sits low between syllables; a meter people read rises at once to the loudest frame since it
was last drawn and falls back slowly.
"""

from __future__ import annotations

import threading
import time

__all__ = ["RELEASE_PER_SECOND", "LevelMeter"]

RELEASE_PER_SECOND = 1.5
"""How fast the shown level falls when the sound stops (full scale in 2/3 s, 20 dB/s)."""


class LevelMeter:
    """Frames' levels in (any thread), the level to show out (the refresher thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loudest = 0.0
        self._shown = 0.0
        self._at: float | None = None

    def frame(self, level: float) -> None:
        """One frame's level, 0..1."""
        with self._lock:
            self._loudest = max(self._loudest, min(max(level, 0.0), 1.0))

    def read(self, now: float | None = None) -> float:
        """The level to show at ``now`` (monotonic seconds): the loudest frame since the
        last read, or the last shown level fallen by ``RELEASE_PER_SECOND``, the higher."""
        now = time.monotonic() if now is None else now
        with self._lock:
            elapsed = 0.0 if self._at is None else max(0.0, now - self._at)
            fallen = max(0.0, self._shown - RELEASE_PER_SECOND * elapsed)
            self._shown = max(fallen, self._loudest)
            self._loudest = 0.0
            self._at = now
            return self._shown

    def reset(self) -> None:
        """Silence at once (the microphone was turned off)."""
        with self._lock:
            self._loudest = self._shown = 0.0
