"""Marks that prove media went end to end: an id drawn into video, a tone per user in audio.

A call test cannot compare pixels or samples after a lossy codec, but it can read back a
16-bit id drawn as large black and white blocks, and the loudest frequency of a sine.
The blocks are 16x16 pixels on the 16-pixel grid that VP8 and H264 macroblocks use, and
pure black or white, so neither chroma subsampling nor a low bitrate blurs them enough to
flip a bit. Same resolution in and out is assumed: no scaling is undone.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import numpy.typing as npt

from streamcall_widget.errors import InputError

__all__ = [
    "STAMP_HEIGHT",
    "STAMP_WIDTH",
    "dominant_frequency",
    "read_stamp",
    "stamp_id",
    "user_stamp",
    "user_tone",
]

_BLOCK = 16
_BITS = 16
# White-black before the id and black-white after it: a frame without a stamp almost never
# has all four guards, and all 16 data blocks, clearly black or white.
_START = (1, 0)
_END = (0, 1)
_BLOCKS = len(_START) + _BITS + len(_END)

STAMP_WIDTH = _BLOCKS * _BLOCK
"""Pixels the stamp takes from the left edge (it sits at the top-left corner)."""
STAMP_HEIGHT = _BLOCK
"""Pixels the stamp takes from the top edge."""

# Block means at or below _DARK read as 0, at or above _LIGHT as 1, between as no stamp.
# Only the inner 12x12 pixels of a block are averaged, away from edge ringing.
_DARK = 80
_LIGHT = 175
_MARGIN = 2

_TONE_LOW = 300
_TONE_STEP = 50
_TONE_COUNT = (3000 - _TONE_LOW) // _TONE_STEP + 1


def _check_image(image: npt.NDArray[Any]) -> None:
    """Raise InputError unless ``image`` is a uint8 RGB array big enough for a stamp."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise InputError("the image must be a numpy uint8 array (height x width x 3, RGB)")
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"the image must be height x width x 3 (RGB), not {image.shape}")
    height, width = image.shape[:2]
    if height < STAMP_HEIGHT or width < STAMP_WIDTH:
        raise InputError(
            f"a stamp needs an image of at least {STAMP_WIDTH}x{STAMP_HEIGHT}, not {width}x{height}"
        )


def stamp_id(image: npt.NDArray[Any], ident: int) -> None:
    """Draw ``ident`` (0..65535) into the top-left corner of an RGB ``image``, in place.

    Draw it last: anything drawn over the corner afterwards breaks the stamp.
    """
    _check_image(image)
    if not 0 <= ident <= 0xFFFF:
        raise InputError(f"a stamp id must be in 0..65535, not {ident}")
    bits = [*_START, *((ident >> (_BITS - 1 - i)) & 1 for i in range(_BITS)), *_END]
    levels = np.repeat(np.array(bits, dtype=np.uint8) * 255, _BLOCK)
    image[:STAMP_HEIGHT, :STAMP_WIDTH, :] = levels[np.newaxis, :, np.newaxis]


def read_stamp(image: npt.NDArray[Any]) -> int | None:
    """Read the id :func:`stamp_id` drew, or ``None`` when the corner holds no stamp."""
    _check_image(image)
    corner = image[:STAMP_HEIGHT, :STAMP_WIDTH, :].astype(np.float32)
    blocks = corner.reshape(_BLOCK, _BLOCKS, _BLOCK, 3)
    inner = blocks[_MARGIN:-_MARGIN, :, _MARGIN:-_MARGIN, :]
    means = inner.mean(axis=(0, 2, 3))
    if np.any((means > _DARK) & (means < _LIGHT)):
        return None
    bits = [int(mean >= _LIGHT) for mean in means]
    if tuple(bits[: len(_START)]) != _START or tuple(bits[-len(_END) :]) != _END:
        return None
    ident = 0
    for bit in bits[len(_START) : len(_START) + _BITS]:
        ident = ident << 1 | bit
    return ident


def user_stamp(user_id: str) -> int:
    """The stamp id a user's synthetic camera draws: the same on every run and machine."""
    return zlib.crc32(user_id.encode()) & 0xFFFF


def user_tone(user_id: str) -> float:
    """The tone a user's synthetic microphone plays: 300..3000 Hz on a 50 Hz grid.

    The grid matches the 50 Hz resolution of one 20 ms frame at 48 kHz, so two users'
    tones fall in different FFT bins; the upper half of the CRC is used so that the tone
    does not follow the stamp.
    """
    index = (zlib.crc32(user_id.encode()) >> 16) % _TONE_COUNT
    return float(_TONE_LOW + _TONE_STEP * index)


def dominant_frequency(
    samples: npt.NDArray[np.generic], sample_rate: int, *, channels: int = 1
) -> float:
    """The loudest frequency in ``samples``, in Hz (0.0 for silence).

    ``samples`` is mono, or packed (interleaved) with ``channels`` channels as PyAV's
    ``AudioFrame.to_ndarray()`` returns s16 stereo; channels are averaged to mono. A Hann
    window keeps leakage down and a parabola through the peak bin and its neighbours
    refines the estimate between bins.
    """
    if sample_rate <= 0 or channels <= 0:
        raise InputError(
            f"sample_rate and channels must be positive, not {sample_rate} and {channels}"
        )
    flat = np.asarray(samples, dtype=np.float64).reshape(-1)
    if flat.size % channels:
        raise InputError(f"{flat.size} samples do not split into {channels} channels")
    mono = flat.reshape(-1, channels).mean(axis=1)
    if mono.size < 3:
        raise InputError(f"need at least 3 samples per channel, got {mono.size}")
    mono -= mono.mean()
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
    peak = int(np.argmax(spectrum))
    if spectrum[peak] == 0.0:
        return 0.0
    offset = 0.0
    if 0 < peak < spectrum.size - 1:
        left, centre, right = np.log(spectrum[peak - 1 : peak + 2] + 1e-12)
        denominator = left - 2 * centre + right
        if denominator < 0:
            offset = 0.5 * (left - right) / denominator
    return float((peak + offset) * sample_rate / mono.size)
