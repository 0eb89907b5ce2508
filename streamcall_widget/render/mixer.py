"""The remote participants' audio mixed into one 48 kHz mono stream for the page.

Each source is resampled on arrival (its own resampler, since sources differ in rate and
layout) into a FIFO of int16 samples capped at ~200 ms: a source that runs ahead of the
page loses its oldest samples instead of adding delay. Fixed-size chunks come out mixed,
each scaled by its source's volume (:meth:`AudioMixer.set_volumes`, 1.0 unless set),
summed in int32 and clipped, as soon as one source has a full chunk. A source with less
than a chunk waits for the next one rather than being cut short, so a late source is
delayed a little instead of getting holes.
"""

from __future__ import annotations

import threading

import av
import numpy as np
import numpy.typing as npt

from streamcall_widget.errors import InputError

__all__ = ["AudioMixer"]

RATE = 48_000
"""Samples per second of the mixed stream."""

_Samples = npt.NDArray[np.int16]
_INT16 = np.iinfo(np.int16)


class AudioMixer:
    """Per-source FIFOs of 48 kHz mono s16 samples, mixed into chunks; thread-safe."""

    def __init__(self, *, max_samples: int = RATE // 5) -> None:
        if max_samples < 1:
            raise InputError(f"max_samples must be at least 1, not {max_samples}")
        self.max_samples = max_samples
        self._lock = threading.Lock()
        self._resamplers: dict[str, av.AudioResampler] = {}
        self._fifos: dict[str, _Samples] = {}
        self._volumes: dict[str, float] = {}

    def set_volumes(self, volumes: dict[str, float]) -> None:
        """Scale each source by its volume (0.0..1.0) from the next chunk on; a source
        absent from ``volumes`` plays at 1.0, and ``key:...`` (a participant's screen
        share) follows the volume of ``key``."""
        with self._lock:
            self._volumes = dict(volumes)

    def _volume(self, key: str) -> float:
        return self._volumes.get(key.partition(":")[0], 1.0)

    def push(self, key: str, frame: av.AudioFrame) -> None:
        """Add one frame of source ``key``, dropping its oldest samples beyond the cap."""
        if not isinstance(frame, av.AudioFrame):
            raise InputError(f"push takes an av.AudioFrame, not {type(frame).__name__}")
        with self._lock:
            samples = self._resample(key, frame)
            fifo = np.concatenate([self._fifos.get(key, samples[:0]), samples])
            self._fifos[key] = fifo[-self.max_samples :]

    def _resample(self, key: str, frame: av.AudioFrame) -> _Samples:
        """``frame`` as 48 kHz mono int16, through the source's own resampler."""
        try:
            out = self._resampler(key).resample(frame)
        except ValueError:
            # The source changed rate or layout mid-stream: start its resampler afresh.
            del self._resamplers[key]
            out = self._resampler(key).resample(frame)
        parts = [part.to_ndarray().reshape(-1).astype(np.int16) for part in out]
        return np.concatenate(parts) if parts else np.empty(0, np.int16)

    def _resampler(self, key: str) -> av.AudioResampler:
        if key not in self._resamplers:
            self._resamplers[key] = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        return self._resamplers[key]

    def pop(self, chunk_samples: int = 1920) -> bytes | None:
        """The next chunk (s16 little-endian), or None while no source has a full one.

        Sources holding a full chunk are mixed; the others keep their samples for later.
        """
        if chunk_samples < 1:
            raise InputError(f"chunk_samples must be at least 1, not {chunk_samples}")
        with self._lock:
            ready = [key for key, fifo in self._fifos.items() if fifo.size >= chunk_samples]
            if not ready:
                return None
            mixed = np.zeros(chunk_samples, dtype=np.int32)
            for key in ready:
                volume = self._volume(key)
                samples = self._fifos[key][:chunk_samples]
                mixed += samples if volume == 1.0 else (samples * volume).astype(np.int32)
                self._fifos[key] = self._fifos[key][chunk_samples:]
        return np.clip(mixed, _INT16.min, _INT16.max).astype("<i2").tobytes()

    def forget(self, key: str) -> None:
        """Drop source ``key`` (it left): its samples and its resampler."""
        with self._lock:
            self._fifos.pop(key, None)
            self._resamplers.pop(key, None)
