"""Colour spaces of video frames: which YUV matrix and range a frame's numbers mean.

Every video frame inside the kernel is :data:`CANONICAL` (BT.601 matrix, limited range),
because everything downstream assumes it: aiortc's VP8 encoder copies the planes as they
are, VP8 carries no colour metadata, aiortc negotiates no colour-space RTP header extension,
and the decoders of the other participants read BT.601 limited range. A frame from a source
that encodes otherwise is converted once, where it enters the kernel, with
:func:`to_canonical`; Python hooks get RGB through :func:`to_rgb_array`, which reads a frame
by the colour space it says it is in (a decoder that read H264's VUI tags its frames).

What Chromium sends over WebRTC was measured with Chromium 156 (Debian, headless, software
rendering) and aiortc 1.16: see :func:`page_source_space` and docs/engine.md, *Colour
spaces*. The conversions themselves are swscale's (``VideoFrame.reformat``), not numpy's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import ColorRange, Colorspace, Interpolation, VideoReformatter

from streamcall_widget.errors import InputError

__all__ = [
    "CANONICAL",
    "ColourSpace",
    "Matrix",
    "PageSource",
    "frame_space",
    "page_source_space",
    "reformatted",
    "to_canonical",
    "to_rgb_array",
    "yuv420p",
]


Matrix = Literal["bt601", "bt709"]
"""The YUV matrix (coefficients) a frame's numbers were made with: ``"bt601"`` (SD video,
SMPTE 170M / BT.470 BG: cameras, and what every VP8 peer assumes) or ``"bt709"`` (HD video:
what Chromium turns RGB frames into before encoding)."""

_MATRICES: Final[tuple[Matrix, ...]] = ("bt601", "bt709")

_SWS_MATRIX: Final[dict[Matrix, Colorspace]] = {
    "bt601": Colorspace.ITU601,
    "bt709": Colorspace.ITU709,
}
"""swscale's name for each matrix (``reformat``'s ``src_colorspace``/``dst_colorspace``)."""

_EXACT: Final = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
"""swscale flags for :func:`to_canonical`: with swscale's defaults a colour ends up to 5
levels off after source → canonical → RGB; accurate rounding and full horizontal chroma
interpolation here keep it within 3 (tests/test_colour.py). They cost: about 7 ms a 720p
frame instead of 2 on this machine. :func:`to_rgb_array`, run for every frame a hook
gets, keeps swscale's fast defaults (0.3 ms a 720p frame; 8 with these flags), which do
not add to the error once the conversion was exact."""

_PAGE_MATRICES: Final[dict[str, Matrix]] = {
    "bt709": "bt709",
    "smpte170m": "bt601",
    "bt470bg": "bt601",
}
"""``VideoColorSpace.matrix`` values (WebCodecs) this module can convert from."""

_AV_BT709: Final = 1
"""FFmpeg's ``AVColorSpace`` value for BT.709, as a decoded frame's ``colorspace`` carries
it; every other value (2 is unspecified, 5 and 6 are BT.601's) is read as BT.601."""

_FULL_RANGE_FORMATS: Final = frozenset({"yuvj420p", "yuvj422p", "yuvj444p", "yuvj440p"})
"""Pixel formats that are full range whatever the frame's ``color_range`` says (FFmpeg's
H264 decoder gives these for a stream whose VUI says full range)."""


@dataclass(frozen=True)
class ColourSpace:
    """How YUV numbers map to colours: the matrix, and full (0-255) or limited (16-235
    luma, 16-240 chroma) range. Primaries and transfer are not here: nothing in a call
    converts them (the page reports BT.709 for a canvas, SMPTE 170M for the camera), and
    the difference they make is small next to reading the wrong matrix or range."""

    matrix: Matrix
    full_range: bool

    def __post_init__(self) -> None:
        if self.matrix not in _MATRICES:
            raise InputError(f"matrix must be one of {list(_MATRICES)}, got {self.matrix!r}")
        if not isinstance(self.full_range, bool):
            raise InputError(f"full_range must be True or False, got {self.full_range!r}")

    @classmethod
    def from_page(cls, reported: Mapping[str, Any]) -> ColourSpace:
        """The colour space a page's ``VideoFrame.colorSpace`` describes.

        ``reported`` is the WebCodecs ``VideoColorSpace`` as JSON (``{matrix, fullRange,
        primaries, transfer}``) or as ``describeColourSpace`` (js/lib/colour.js) gives it
        (``full_range`` instead of ``fullRange``). Only YUV matrices are accepted: a frame
        whose matrix is ``"rgb"`` holds RGB, and what YUV it becomes on the wire is
        Chromium's choice, which :func:`page_source_space` knows.
        """
        if not isinstance(reported, Mapping):
            raise InputError(f"a colour space must be a dict, got {type(reported).__name__}")
        matrix = reported.get("matrix")
        if matrix not in _PAGE_MATRICES:
            raise InputError(
                f"colour space matrix must be one of {sorted(_PAGE_MATRICES)}, got {matrix!r}"
            )
        full_range = reported.get("full_range", reported.get("fullRange"))
        if not isinstance(full_range, bool):
            raise InputError(f"colour space fullRange must be true or false, got {full_range!r}")
        return cls(_PAGE_MATRICES[matrix], full_range=full_range)


CANONICAL: Final = ColourSpace("bt601", full_range=False)
"""What every video frame inside the kernel is: BT.601 limited range, the only colour space
the decoders downstream (VP8 carries no colour metadata) assume."""

BT709_FULL: Final = ColourSpace("bt709", full_range=True)
"""What Chromium's WebRTC encodes RGB frames (canvas, screen) as (measured)."""

PageSource = Literal["camera", "screen", "canvas"]
"""Where a page's video track comes from."""

_BY_KIND: Final[dict[str, ColourSpace]] = {
    "camera": CANONICAL,
    "screen": BT709_FULL,
    "canvas": BT709_FULL,
}


def page_source_space(kind: PageSource, reported: Mapping[str, Any] | None) -> ColourSpace:
    """The colour space of the YUV that arrives over WebRTC from a page's video track.

    ``reported`` is the track's ``VideoFrame.colorSpace`` as the page read it (None when
    the page could not). Measured with Chromium 156 → aiortc, VP8 and H264:

    - A track whose frames are YUV (the fake camera, and the fake screen device: I420,
      ``smpte170m``, limited) is encoded as it is, bytes unchanged, so the reported colour
      space predicts the data and is used. H264's VUI says the same (SMPTE 170M, limited).
    - A track whose frames are RGB (``canvas.captureStream()``: BGRA, matrix ``"rgb"``,
      full range) is converted by Chromium to **BT.709 full range** before encoding; the
      reported colour space describes the RGB, not the data, so it cannot be used: the
      measured rule is. H264's VUI says BT.709 full range too, VP8 says nothing.
    - Without a report, the kind decides: a camera gives YUV (BT.601 limited), a canvas
      gives RGB (BT.709 full), and so is a screen taken to (screen capture delivers RGB
      pixels; headless Chromium could not capture a real screen to measure it).

    Raises :class:`InputError` for an unknown ``kind`` or a malformed ``reported``.
    """
    if kind not in _BY_KIND:
        raise InputError(f"page source must be one of {sorted(_BY_KIND)}, got {kind!r}")
    if reported is None or (isinstance(reported, Mapping) and reported.get("matrix") is None):
        return _BY_KIND[kind]
    if isinstance(reported, Mapping) and reported.get("matrix") == "rgb":
        return BT709_FULL
    return ColourSpace.from_page(reported)


def to_canonical(frame: av.VideoFrame, space: ColourSpace) -> av.VideoFrame:
    """``frame``, made by a source that encodes in ``space``, as canonical yuv420p.

    ``space`` wins over the frame's own tags (VP8 frames carry none). The same frame comes
    back when there is nothing to do; otherwise a new frame with ``frame``'s pts and
    time_base, tagged BT.601 limited.
    """
    if space == CANONICAL and frame.format.name == "yuv420p":
        return frame
    converted = reformatted(
        frame,
        format="yuv420p",
        src_colorspace=_SWS_MATRIX[space.matrix],
        dst_colorspace=_SWS_MATRIX["bt601"],
        src_color_range=ColorRange.JPEG if space.full_range else ColorRange.MPEG,
        dst_color_range=ColorRange.MPEG,
        interpolation=_EXACT,
    )
    converted.pts = frame.pts  # reformat copies both already; pts is the one that matters
    if frame.time_base is not None:
        converted.time_base = frame.time_base
    return converted


def reformatted(frame: av.VideoFrame, **options: Any) -> av.VideoFrame:
    """``frame.reformat(**options)`` with a scaler of its own.

    PyAV keeps one scaler on each frame and every ``reformat`` of that frame uses it; one
    frame is read by several threads at once (each peer's and the page link's encoder, a
    hook, the widget channel), and two threads in one scaler crash libswscale (a segfault
    of the kernel, seen with a video processor's frames). A scaler per call costs a few
    microseconds more.
    """
    return VideoReformatter().reformat(frame, **options)


def yuv420p(frame: av.VideoFrame) -> av.VideoFrame:
    """``frame`` in yuv420p, the format every encoder wants: converted once, here, so
    that no encoder thread converts a frame other threads read (see :func:`reformatted`)."""
    return frame if frame.format.name == "yuv420p" else reformatted(frame, format="yuv420p")


def frame_space(frame: av.VideoFrame) -> ColourSpace:
    """The colour space ``frame`` says it is in, :data:`CANONICAL` where it says nothing.

    A decoder that read H264's VUI tags the frame (``colorspace``, ``color_range``, or a
    full-range ``yuvj`` format); VP8 frames and frames made in Python are untagged. A
    matrix other than BT.601/BT.709 is read as BT.601.
    """
    matrix: Matrix = "bt709" if frame.colorspace == _AV_BT709 else "bt601"
    full = frame.format.name in _FULL_RANGE_FORMATS or frame.color_range == ColorRange.JPEG
    return ColourSpace(matrix, full_range=full)


def to_rgb_array(frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
    """``frame`` as an HxWx3 uint8 RGB array, read in the colour space it says it is in
    (:func:`frame_space`); frames in an RGB format are only repacked as rgb24."""
    if not _is_yuv(frame):
        rgb = reformatted(frame, format="rgb24").to_ndarray()
    else:
        space = frame_space(frame)
        rgb = reformatted(
            frame,
            format="rgb24",
            src_colorspace=_SWS_MATRIX[space.matrix],
            src_color_range=ColorRange.JPEG if space.full_range else ColorRange.MPEG,
            dst_color_range=ColorRange.JPEG,
        ).to_ndarray()
    return np.asarray(rgb, dtype=np.uint8)


def _is_yuv(frame: av.VideoFrame) -> bool:
    """Whether the frame's numbers are YUV (need a matrix to become RGB)."""
    name = frame.format.name
    return name.startswith(("yuv", "nv", "uyvy"))
