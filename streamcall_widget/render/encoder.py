"""One video frame to one JPEG tile, sized for the page, straight from its YUV planes.

Decoders hand out yuv420p, which is what a JPEG stores, so the planes go to libjpeg-turbo
(simplejpeg) as they are: no RGB conversion, and no copy unless the frame must be scaled
or is in another pixel format. A 640x480 frame encodes in about 0.4 ms this way.

The planes are passed as they come (limited "TV" range, 16..235) and not stretched to the
full range JPEG assumes: the stretch costs more than the encoding itself, and only lowers
contrast by about an eighth. Scaling only ever shrinks, to the size the page draws the tile
at, so a small tile costs less to encode, to send and to decode.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt
import simplejpeg
from av.video.reformatter import VideoReformatter

from streamcall_widget.errors import InputError

__all__ = ["EncodedTile", "encode_tile", "fit_size"]

_FORMAT = "yuv420p"
_REFORMATTERS_KEPT = 8
_ScaleKey = tuple[int, int, str, int, int]
"""Source width, height and pixel format; target width and height."""
_local = threading.local()


@dataclass(frozen=True)
class EncodedTile:
    """A JPEG ready to send."""

    data: bytes
    """The JPEG file."""
    width: int
    """Its width in pixels (even)."""
    height: int
    """Its height in pixels (even)."""


def fit_size(width: int, height: int, max_size: tuple[int, int] | None) -> tuple[int, int]:
    """The even size a ``width`` x ``height`` frame is encoded at to fit in ``max_size``.

    The aspect ratio is kept, the frame is never enlarged, and sides are rounded down to
    even numbers (4:2:0 chroma has half the luma size), at least 2. None: the native size.
    """
    if width < 2 or height < 2:
        raise InputError(f"a frame must be at least 2x2, not {width}x{height}")
    scale = 1.0
    if max_size is not None:
        max_width, max_height = max_size
        if max_width < 1 or max_height < 1:
            raise InputError(f"max_size must be positive, not {max_size}")
        scale = min(1.0, max_width / width, max_height / height)
    return _even(width * scale), _even(height * scale)


def _even(side: float) -> int:
    return max(2, int(side) & ~1)


def encode_tile(
    frame: av.VideoFrame, max_size: tuple[int, int] | None, quality: int
) -> EncodedTile:
    """Encode ``frame`` as a JPEG of ``quality`` (1..100) fitting in ``max_size``."""
    if not 1 <= quality <= 100:
        raise InputError(f"quality must be in 1..100, not {quality}")
    width, height = fit_size(frame.width, frame.height, max_size)
    if (width, height) != (frame.width & ~1, frame.height & ~1) or frame.format.name != _FORMAT:
        frame = _reformat(frame, width, height)
    luma, blue, red = (_plane(frame, index) for index in range(3))
    data = simplejpeg.encode_jpeg_yuv_planes(
        luma[:height, :width],
        blue[: height // 2, : width // 2],
        red[: height // 2, : width // 2],
        quality=quality,
    )
    return EncodedTile(data, width, height)


def _reformat(frame: av.VideoFrame, width: int, height: int) -> av.VideoFrame:
    """``frame`` as yuv420p, scaled to ``width`` x ``height`` unless only the odd pixel is off.

    Each frame's own ``reformat()`` builds a new scaler context, which costs more than
    the scaling, so this thread keeps one reformatter per recent scaling instead.
    """
    if (width, height) == (frame.width & ~1, frame.height & ~1):
        width, height = frame.width, frame.height
    key = (frame.width, frame.height, frame.format.name, width, height)
    return _reformatter(key).reformat(frame, width=width, height=height, format=_FORMAT, threads=1)


def _reformatter(key: _ScaleKey) -> VideoReformatter:
    kept: dict[_ScaleKey, VideoReformatter] = _local.__dict__.setdefault("reformatters", {})
    if key not in kept:
        if len(kept) >= _REFORMATTERS_KEPT:
            del kept[next(iter(kept))]
        kept[key] = VideoReformatter()
    return kept[key]


def _plane(frame: av.VideoFrame, index: int) -> npt.NDArray[np.uint8]:
    """A view of plane ``index`` without its line padding (rows are ``line_size`` apart)."""
    plane = frame.planes[index]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
    return rows[: plane.height, : plane.width]
