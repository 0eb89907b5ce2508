"""Participant measurements: connection quality from RTCP, audio level and speaking.

Pure functions and small state holders, no asyncio and no aiortc objects, so the
thresholds are tested directly and the engine only feeds numbers in.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "ConnectionQuality",
    "SpeakingDetector",
    "audio_level",
    "connection_quality",
    "dominant_speaker",
]


class ConnectionQuality(enum.StrEnum):
    """The plugin's ConnectionQuality values."""

    UNSPECIFIED = "unspecified"
    POOR = "poor"
    GOOD = "good"
    EXCELLENT = "excellent"


def connection_quality(
    fraction_lost: float | None, round_trip_time: float | None
) -> ConnectionQuality:
    """Grade a link from RTCP receiver reports: loss (0..1) and round-trip time (s).

    Excellent: under 2 % loss and 150 ms; good: under 10 % and 400 ms; else poor. No report
    yet: unspecified.
    """
    if fraction_lost is None and round_trip_time is None:
        return ConnectionQuality.UNSPECIFIED
    loss = fraction_lost or 0.0
    rtt = round_trip_time or 0.0
    if loss < 0.02 and rtt < 0.150:
        return ConnectionQuality.EXCELLENT
    if loss < 0.10 and rtt < 0.400:
        return ConnectionQuality.GOOD
    return ConnectionQuality.POOR


def audio_level(samples: npt.NDArray[np.generic]) -> float:
    """Loudness of one audio frame, 0 (silence) to 1 (full scale), from its RMS in dBFS.

    -60 dBFS and below is 0, 0 dBFS is 1, linear in between (how WebRTC's audioLevel feels).
    """
    if samples.size == 0:
        return 0.0
    scale = 32768.0 if samples.dtype == np.int16 else 1.0
    rms = float(np.sqrt(np.mean(np.square(samples.astype(np.float32) / scale))))
    if rms <= 0.0:
        return 0.0
    dbfs = 20.0 * math.log10(rms)
    return min(1.0, max(0.0, (dbfs + 60.0) / 60.0))


@dataclass
class SpeakingDetector:
    """Speaking = level above ``threshold``, held for ``hangover`` frames after it drops.

    The hangover keeps short pauses between words from flickering the indicator.
    """

    threshold: float = 0.35
    hangover: int = 25
    _quiet_frames: int = 1 << 30

    def update(self, level: float) -> bool:
        """Feed one frame's level; whether the participant is speaking now."""
        self._quiet_frames = 0 if level >= self.threshold else self._quiet_frames + 1
        return self._quiet_frames <= self.hangover


def dominant_speaker(levels: dict[str, tuple[bool, float]], current: str | None) -> str | None:
    """The key of the loudest speaking participant; the current one keeps it on a tie.

    ``levels`` maps a participant key to ``(is_speaking, audio_level)``. Nobody speaking
    keeps the current dominant speaker (as Stream does), if still present.
    """
    speaking = {key: level for key, (talking, level) in levels.items() if talking}
    if not speaking:
        return current if current in levels else None
    loudest = max(speaking, key=lambda key: speaking[key])
    if current in speaking and speaking[current] >= speaking[loudest]:
        return current
    return loudest
