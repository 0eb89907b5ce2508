"""A synthetic camera and microphone: media sources for machines without devices, and tests.

Both are aiortc tracks paced in real time like aiortc's own ``VideoStreamTrack`` and
``AudioStreamTrack`` (video pts on the 90 kHz RTP clock, audio pts in samples), so a call
fed by them behaves like one fed by a device. The camera is a benchmark source at
640x480@30 on two cores, so it is built to be cheap: the background, the user's name and
the stamp are rendered once, and each frame only repaints the moving square and the frame
counter. It paints straight into yuv420p, the format every encoder wants: measured on the
2-core machine this was written on, a 640x480 frame costs about 0.12 ms this way, against
0.2-0.4 ms to build it as rgb24 plus 0.5-1 ms for *each* encoder to convert it.
"""

from __future__ import annotations

import asyncio
import colorsys
import fractions
import math
import time
import zlib

import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import (
    VIDEO_CLOCK_RATE,
    VIDEO_TIME_BASE,
    MediaStreamError,
    MediaStreamTrack,
)
from av import AudioFrame, VideoFrame
from PIL import Image, ImageDraw, ImageFont

from streamcall_widget.errors import InputError

from .stamp import STAMP_HEIGHT, STAMP_WIDTH, stamp_id

__all__ = ["SyntheticCamera", "SyntheticMicrophone", "SyntheticScreen"]

_Plane = npt.NDArray[np.uint8]
_Rect = tuple[int, int, int, int]
"""x, y, width, height in luma pixels, all even so chroma (half size) lines up."""

_MIN_SIDE = 32
_MAX_SIDE = 4096
_COUNTER_DIGITS = 7


class _Pacer:
    """Real-time clock for a source of fixed-length frames, as a capture device runs.

    ``next()`` returns the index of the next frame once its time has come. A consumer
    more than a frame behind gets the frame for *now*, not a burst of stale ones: the
    indexes skipped are frames a real device would have dropped.
    """

    def __init__(self, period: float) -> None:
        self._period = period
        self._start: float | None = None
        self._index = 0

    async def next(self) -> int:
        """Wait until the next frame is due and return its index (0 at once, first)."""
        now = time.monotonic()
        if self._start is None:
            self._start = now
            return 0
        index = self._index + 1
        if now - (self._start + index * self._period) > self._period:
            index = int((now - self._start) / self._period)
        self._index = index
        await asyncio.sleep(max(0.0, self._start + index * self._period - now))
        return index


def _even(value: float) -> int:
    """``value`` rounded down to an even number, at least 2 (chroma is half size)."""
    return max(2, int(value) // 2 * 2)


def _planes(flat: _Plane, width: int, height: int) -> tuple[_Plane, _Plane, _Plane]:
    """Views of the Y, U and V planes of a flat yuv420p buffer."""
    luma, chroma = width * height, width * height // 4
    return (
        flat[:luma].reshape(height, width),
        flat[luma : luma + chroma].reshape(height // 2, width // 2),
        flat[luma + chroma :].reshape(height // 2, width // 2),
    )


def _to_yuv(rgb: _Plane) -> _Plane:
    """Convert an RGB image to a flat yuv420p buffer the way decoders convert back."""
    frame = VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    return np.ascontiguousarray(frame.to_ndarray(), dtype=np.uint8).reshape(-1)


def _yuv_colour(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """The Y, U, V values of one RGB colour."""
    flat = _to_yuv(np.full((2, 2, 3), rgb, dtype=np.uint8))
    return int(flat[0]), int(flat[4]), int(flat[5])


def _hsv(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    """An 8-bit RGB colour from HSV; ``hue`` wraps around 1."""
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(red * 255), round(green * 255), round(blue * 255)


def _bounce(distance: float, span: int) -> int:
    """Position after travelling ``distance`` back and forth over ``0..span``, even."""
    if span <= 0:
        return 0
    offset = distance % (2 * span)
    return int(offset if offset <= span else 2 * span - offset) // 2 * 2


def _render_digits(height: int) -> _Plane:
    """Luma tiles of white digits 0-9 on black: ``tiles[d]`` is digit ``d``'s cell."""
    font = ImageFont.load_default(size=max(8, height // 16))
    cell_width = _even(math.ceil(max(font.getlength(d) for d in "0123456789")) + 2)
    _, top, _, bottom = font.getbbox("0123456789", anchor="lm")
    cell_height = _even(bottom - top + 4)
    black, white = _yuv_colour((0, 0, 0))[0], _yuv_colour((255, 255, 255))[0]
    tiles = np.empty((10, cell_height, cell_width), dtype=np.uint8)
    for digit in range(10):
        mask = Image.new("L", (cell_width, cell_height), 0)
        ImageDraw.Draw(mask).text(
            (cell_width / 2, cell_height / 2), str(digit), font=font, fill=255, anchor="mm"
        )
        coverage = np.asarray(mask, dtype=np.float32) / 255
        tiles[digit] = np.rint(black + (white - black) * coverage).astype(np.uint8)
    return tiles


def _render_background(
    label: str, colour: tuple[int, int, int], width: int, height: int, counter: _Rect
) -> _Plane:
    """The still part of every frame, RGB: ``label`` centred, black under the counter."""
    image = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(image)
    size = max(8, height // 6)
    length = ImageFont.load_default(size=size).getlength(label or " ")
    size = max(8, min(size, int(size * 0.9 * width / max(length, 1))))
    font = ImageFont.load_default(size=size)
    draw.text((width / 2, height / 2), label, font=font, fill=(255, 255, 255), anchor="mm")
    x, y, w, h = counter
    draw.rectangle((x, y, x + w - 1, y + h - 1), fill=(0, 0, 0))
    return np.asarray(image, dtype=np.uint8).copy()


class SyntheticCamera(MediaStreamTrack):
    """A video track showing a name, a bouncing square and a frame counter, in real time.

    The counter shows the frame number at ``fps`` since the first frame, so a jump in it
    shows frames skipped because the consumer fell behind. With ``stamp`` set, the id is
    drawn in the top-left corner (see :mod:`.stamp`) so a receiver can prove whose video
    it got. ``frames_sent`` counts the frames handed out.
    """

    kind = "video"

    def __init__(
        self,
        label: str,
        *,
        width: int = 640,
        height: int = 480,
        fps: int = 30,
        stamp: int | None = None,
    ) -> None:
        for name, side in (("width", width), ("height", height)):
            if not (_MIN_SIDE <= side <= _MAX_SIDE and side % 2 == 0):
                raise InputError(
                    f"{name} must be an even number of pixels in {_MIN_SIDE}..{_MAX_SIDE}, "
                    f"not {side}"
                )
        if not 1 <= fps <= 60:
            raise InputError(f"fps must be in 1..60, not {fps}")
        super().__init__()
        self.frames_sent = 0
        self._width, self._height, self._fps = width, height, fps
        self._pacer = _Pacer(1 / fps)

        hue = (zlib.crc32(label.encode()) % 360) / 360
        self._counter_tiles = _render_digits(height)
        _, counter_height, cell_width = self._counter_tiles.shape
        margin = _even(height / 60)
        self._counter: _Rect = (
            margin,
            height - margin - counter_height,
            min(cell_width * _COUNTER_DIGITS, width - 2 * margin),
            counter_height,
        )
        pixels = self._render(label, hue, width, height)
        self._stamp: _Rect | None = None
        if stamp is not None:
            stamp_id(pixels, stamp)
            self._stamp = (0, 0, STAMP_WIDTH, STAMP_HEIGHT)

        self._background = _planes(_to_yuv(pixels), width, height)
        self._buffer = np.concatenate([plane.reshape(-1) for plane in self._background])
        self._frame_planes = _planes(self._buffer, width, height)
        self._square_colour = _yuv_colour(_hsv(hue + 0.5, 0.8, 1.0))
        self._square_side = _even(height / 8)
        self._square: _Rect = (0, 0, 0, 0)

    def _render(self, label: str, hue: float, width: int, height: int) -> _Plane:
        """The still picture (RGB): ``label`` on a dark colour of ``hue``."""
        return _render_background(label, _hsv(hue, 0.45, 0.3), width, height, self._counter)

    def _restore(self, rect: _Rect) -> None:
        """Put the background back inside ``rect`` on all three planes."""
        x, y, w, h = rect
        for plane, background, sub in zip(
            self._frame_planes, self._background, (1, 2, 2), strict=True
        ):
            rows, cols = slice(y // sub, (y + h) // sub), slice(x // sub, (x + w) // sub)
            plane[rows, cols] = background[rows, cols]

    def _draw(self, index: int) -> npt.NDArray[np.uint8]:
        """Paint frame ``index`` into the buffer, touching only what moves or changes."""
        seconds, side = index / self._fps, self._square_side
        self._restore(self._square)
        x = _bounce(seconds * self._width / 4, self._width - side)
        y = _bounce(seconds * self._height / 3, self._height - side)
        self._square = (x, y, side, side)
        for plane, value, sub in zip(
            self._frame_planes, self._square_colour, (1, 2, 2), strict=True
        ):
            plane[y // sub : (y + side) // sub, x // sub : (x + side) // sub] = value

        self._restore(self._counter)
        x, y, w, h = self._counter
        digits = [int(d) for d in f"{index % 10**_COUNTER_DIGITS:0{_COUNTER_DIGITS}d}"]
        strip = self._counter_tiles[digits].transpose(1, 0, 2).reshape(h, -1)
        self._frame_planes[0][y : y + h, x : x + w] = strip[:, :w]
        if self._stamp is not None:
            self._restore(self._stamp)
        return self._buffer.reshape(self._height * 3 // 2, self._width)

    async def recv(self) -> VideoFrame:
        """The next frame, once its time has come (yuv420p, pts on the 90 kHz clock)."""
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        frame = VideoFrame.from_ndarray(self._draw(index), format="yuv420p")
        frame.pts = index * VIDEO_CLOCK_RATE // self._fps
        frame.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        return frame


class SyntheticScreen(SyntheticCamera):
    """A shared screen: a light desktop with windows, ``"<label>'s screen"`` in a title
    bar, the moving square as the pointer; 960x540 at 15 fps by default.

    Light where the camera is dark, wide where it is 4:3, so a person tells a screen from
    a camera at a glance; tests tell them apart by the stamp (the devices give a screen
    the user's stamp XOR ``SCREEN_STAMP_MASK``).
    """

    def __init__(
        self,
        label: str,
        *,
        width: int = 960,
        height: int = 540,
        fps: int = 15,
        stamp: int | None = None,
    ) -> None:
        super().__init__(label, width=width, height=height, fps=fps, stamp=stamp)

    def _render(self, label: str, hue: float, width: int, height: int) -> _Plane:
        """A desktop: light background, two windows, a title bar naming whose screen."""
        image = Image.new("RGB", (width, height), (226, 230, 236))
        draw = ImageDraw.Draw(image)
        bar = max(12, height // 14)
        draw.rectangle((0, 0, width, bar), fill=_hsv(hue, 0.5, 0.55))
        font = ImageFont.load_default(size=max(8, bar * 2 // 3))
        draw.text(
            (width / 2, bar / 2), f"{label}'s screen", font=font, fill=(255, 255, 255), anchor="mm"
        )
        for index, (left, top, right, bottom) in enumerate(
            ((0.08, 0.2, 0.55, 0.75), (0.45, 0.35, 0.92, 0.88))
        ):
            box = (left * width, top * height, right * width, bottom * height)
            draw.rectangle(box, fill=(250, 250, 250), outline=(90, 90, 110), width=2)
            draw.rectangle(
                (box[0], box[1], box[2], box[1] + bar // 2), fill=_hsv(hue + 0.3 * index, 0.3, 0.8)
            )
            for line in range(1, 6):
                y = box[1] + bar // 2 + line * (box[3] - box[1]) / 7
                draw.line(
                    (box[0] + 12, y, box[2] - 12 - 30 * (line % 3), y),
                    fill=(160, 160, 170),
                    width=3,
                )
        x, y, w, h = self._counter
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=(0, 0, 0))
        return np.asarray(image, dtype=np.uint8).copy()


class SyntheticMicrophone(MediaStreamTrack):
    """An audio track playing a sine (or silence with ``frequency=None``), in real time.

    Frames are s16 mono of ``ptime_ms``, pts counted in samples with time base
    1/``sample_rate``. The sine is computed from the sample index, so its phase runs on
    unbroken from one frame to the next.
    """

    kind = "audio"

    def __init__(
        self,
        *,
        frequency: float | None = 440.0,
        sample_rate: int = 48000,
        ptime_ms: int = 20,
        amplitude: float = 0.3,
    ) -> None:
        if not 8000 <= sample_rate <= 192000:
            raise InputError(f"sample_rate must be in 8000..192000 Hz, not {sample_rate}")
        if not 10 <= ptime_ms <= 120 or sample_rate * ptime_ms % 1000:
            raise InputError(
                f"ptime_ms must be in 10..120 and a whole number of samples at "
                f"{sample_rate} Hz, not {ptime_ms}"
            )
        if frequency is not None and not 0 < frequency < sample_rate / 2:
            raise InputError(
                f"frequency must be None (silence) or in (0, {sample_rate / 2:g}) Hz, "
                f"not {frequency}"
            )
        if not 0.0 <= amplitude <= 1.0:
            raise InputError(f"amplitude must be in 0..1, not {amplitude}")
        super().__init__()
        self._frequency = frequency
        self._sample_rate = sample_rate
        self._samples = sample_rate * ptime_ms // 1000
        self._amplitude = amplitude * 32767
        self._time_base = fractions.Fraction(1, sample_rate)
        self._pacer = _Pacer(self._samples / sample_rate)

    async def recv(self) -> AudioFrame:
        """The next frame of audio, once its time has come."""
        if self.readyState != "live":
            raise MediaStreamError
        start = await self._pacer.next() * self._samples
        if self._frequency is None:
            samples = np.zeros(self._samples, dtype=np.int16)
        else:
            cycles_per_sample = self._frequency / self._sample_rate
            phase = math.fmod(start * cycles_per_sample, 1.0)
            angles = 2 * np.pi * (phase + cycles_per_sample * np.arange(self._samples))
            samples = np.rint(self._amplitude * np.sin(angles)).astype(np.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self._sample_rate
        frame.pts = start
        frame.time_base = self._time_base
        return frame
