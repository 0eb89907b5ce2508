"""encode_tile: the size a tile is encoded at, and what the JPEG holds."""

from __future__ import annotations

import av
import numpy as np
import pytest
import simplejpeg

from streamcall_widget.engine.stamp import read_stamp, stamp_id
from streamcall_widget.errors import InputError
from streamcall_widget.render.encoder import encode_tile, fit_size


def rgb_frame(
    width: int, height: int, colour: tuple[int, int, int] = (40, 160, 220)
) -> av.VideoFrame:
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[:] = colour
    return av.VideoFrame.from_ndarray(pixels, format="rgb24")


@pytest.mark.parametrize(
    ("native", "max_size", "expected"),
    [
        ((640, 480), None, (640, 480)),
        ((640, 480), (320, 320), (320, 240)),
        ((640, 480), (1000, 240), (320, 240)),
        ((640, 480), (1920, 1080), (640, 480)),
        ((641, 481), None, (640, 480)),
        ((640, 360), (301, 301), (300, 168)),
        ((480, 640), (200, 200), (150, 200)),
        ((640, 480), (1, 1), (2, 2)),
    ],
)
def test_fit_size(
    native: tuple[int, int], max_size: tuple[int, int] | None, expected: tuple[int, int]
) -> None:
    """Fits inside max_size, keeps the aspect, never enlarges, rounds down to even sides."""
    assert fit_size(*native, max_size) == expected


def test_fit_size_rejects_bad_sizes() -> None:
    """A zero max_size or a frame under 2x2 is an InputError."""
    with pytest.raises(InputError):
        fit_size(640, 480, (0, 100))
    with pytest.raises(InputError):
        fit_size(1, 480, None)


@pytest.mark.parametrize(
    ("frame", "max_size", "expected"),
    [
        (rgb_frame(640, 480).reformat(format="yuv420p"), None, (640, 480)),
        (rgb_frame(640, 480).reformat(format="yuv420p"), (160, 200), (160, 120)),
        (rgb_frame(641, 363).reformat(format="yuv420p"), None, (640, 362)),
        (rgb_frame(640, 480), (320, 240), (320, 240)),
        (rgb_frame(642, 482), None, (642, 482)),
    ],
)
def test_jpeg_decodes_at_reported_size(
    frame: av.VideoFrame, max_size: tuple[int, int] | None, expected: tuple[int, int]
) -> None:
    """The JPEG decodes to the size the tile says, padded planes and RGB input included."""
    tile = encode_tile(frame, max_size, 80)
    assert (tile.width, tile.height) == expected
    image = simplejpeg.decode_jpeg(tile.data)
    assert image.shape == (expected[1], expected[0], 3)


def test_colours_survive_roughly() -> None:
    """A flat colour comes back within the range-compression and JPEG error."""
    colour = (40, 160, 220)
    tile = encode_tile(rgb_frame(320, 240, colour), None, 90)
    mean = simplejpeg.decode_jpeg(tile.data).reshape(-1, 3).mean(axis=0)
    # Limited-range planes are stored as they are: values move towards mid-grey a little.
    assert np.all(np.abs(mean - np.array(colour)) < 20)


def test_stamp_reads_back_at_native_size() -> None:
    """A stamped 640x480 frame encoded at native size reads back the same id."""
    pixels = np.full((480, 640, 3), 90, dtype=np.uint8)
    stamp_id(pixels, 0xBEEF)
    frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
    tile = encode_tile(frame, None, 80)
    assert read_stamp(simplejpeg.decode_jpeg(tile.data)) == 0xBEEF


def test_quality_out_of_range() -> None:
    """Quality outside 1..100 is an InputError."""
    with pytest.raises(InputError):
        encode_tile(rgb_frame(64, 64), None, 0)
