"""Colour spaces of video frames (streamcall_widget.engine.colour), with PyAV alone.

Frames are built by hand: known RGB colours turned into yuv420p planes with the standard
formulas of each colour space, so the expected answer does not come from the code under
test (swscale). Each must come back within ±3 per channel after ``to_canonical`` and
``to_rgb_array``: rounding in the two 8-bit YUV steps, and swscale's fixed-point maths.
"""

from __future__ import annotations

import fractions

import av
import numpy as np
import pytest

from streamcall_widget.engine.colour import (
    CANONICAL,
    ColourSpace,
    page_source_space,
    to_canonical,
    to_rgb_array,
)
from streamcall_widget.errors import InputError

COLOURS = [
    (10, 144, 10),
    (200, 30, 60),
    (128, 128, 128),
    (255, 255, 255),
    (0, 0, 0),
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 0),
    (0, 255, 255),
    (255, 0, 255),
]
KR_KB = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}
TOLERANCE = 3


def _yuv_frame(rgb: tuple[int, int, int], space: ColourSpace) -> av.VideoFrame:
    """A 32x16 yuv420p frame of one colour, planes computed with the textbook formulas."""
    kr, kb = KR_KB[space.matrix]
    r, g, b = (c / 255 for c in rgb)
    y = kr * r + (1 - kr - kb) * g + kb * b
    u = (b - y) / (2 * (1 - kb))
    v = (r - y) / (2 * (1 - kr))
    if space.full_range:
        levels = (255 * y, 128 + 255 * u, 128 + 255 * v)
    else:
        levels = (16 + 219 * y, 128 + 224 * u, 128 + 224 * v)
    y8, u8, v8 = (int(np.clip(round(level), 0, 255)) for level in levels)
    width, height = 32, 16
    planes = np.concatenate(
        [
            np.full((height, width), y8, np.uint8),
            np.full((height // 4, width), u8, np.uint8),
            np.full((height // 4, width), v8, np.uint8),
        ]
    )
    frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    frame.pts = 1234
    frame.time_base = fractions.Fraction(1, 90000)
    return frame


@pytest.mark.parametrize(
    "space",
    [ColourSpace("bt709", full_range=True), ColourSpace("bt601", full_range=True), CANONICAL],
    ids=["bt709-full", "bt601-full", "bt601-limited"],
)
@pytest.mark.parametrize("rgb", COLOURS, ids=str)
def test_a_frame_of_any_space_reads_back_as_its_colour(
    space: ColourSpace, rgb: tuple[int, int, int]
) -> None:
    canonical = to_canonical(_yuv_frame(rgb, space), space)
    assert canonical.format.name == "yuv420p"
    assert (canonical.pts, canonical.time_base) == (1234, fractions.Fraction(1, 90000))
    array = to_rgb_array(canonical)
    assert array.shape == (16, 32, 3)
    assert array.dtype == np.uint8
    error = np.abs(array.astype(int) - np.array(rgb)).max()
    assert error <= TOLERANCE, f"{rgb} came back as {array[8, 16].tolist()}"


def test_reading_bt709_full_as_canonical_is_visibly_wrong() -> None:
    """The defect this module exists for, so the tests above could fail: (10,144,10) in
    BT.709 full range read as BT.601 limited range becomes about (6,173,0)."""
    frame = _yuv_frame((10, 144, 10), ColourSpace("bt709", full_range=True))
    wrong = to_rgb_array(frame)[8, 16].astype(int)
    assert np.abs(wrong - np.array([6, 173, 0])).max() <= TOLERANCE


def test_a_canonical_frame_passes_unchanged() -> None:
    frame = _yuv_frame((200, 30, 60), CANONICAL)
    assert to_canonical(frame, CANONICAL) is frame
    assert to_canonical(frame, ColourSpace("bt601", full_range=False)) is frame


def test_to_rgb_array_honours_the_frames_own_tags() -> None:
    """A decoder that read H264's VUI tags its frames; such a frame reads right without
    being made canonical first."""
    frame = _yuv_frame((10, 144, 10), ColourSpace("bt709", full_range=True))
    frame.colorspace = 1  # AVCOL_SPC_BT709
    frame.color_range = 2  # AVCOL_RANGE_JPEG
    assert np.abs(to_rgb_array(frame)[8, 16].astype(int) - [10, 144, 10]).max() <= TOLERANCE


def test_an_rgb_frame_reads_as_it_is() -> None:
    array = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(array, format="rgb24")
    assert np.array_equal(to_rgb_array(frame), array)


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ({"matrix": "bt709", "fullRange": True}, ColourSpace("bt709", full_range=True)),
        ({"matrix": "smpte170m", "fullRange": False}, CANONICAL),
        ({"matrix": "bt470bg", "full_range": True}, ColourSpace("bt601", full_range=True)),
    ],
)
def test_from_page_reads_the_pages_colour_space(
    reported: dict[str, object], expected: ColourSpace
) -> None:
    assert ColourSpace.from_page(reported) == expected


@pytest.mark.parametrize(
    ("reported", "allowed"),
    [
        ({"matrix": "bt2020-ncl", "fullRange": False}, "['bt470bg', 'bt709', 'smpte170m']"),
        ({"matrix": "rgb", "fullRange": True}, "['bt470bg', 'bt709', 'smpte170m']"),
        ({"matrix": "bt709"}, "true or false"),
        ({"matrix": "bt709", "fullRange": "yes"}, "true or false"),
        ("bt709", "dict"),
    ],
)
def test_a_bad_page_colour_space_names_what_is_allowed(reported: object, allowed: str) -> None:
    with pytest.raises(InputError, match=allowed.replace("[", r"\[").replace("]", r"\]")):
        ColourSpace.from_page(reported)  # type: ignore[arg-type]


def test_a_bad_colour_space_names_what_is_allowed() -> None:
    with pytest.raises(InputError, match=r"\['bt601', 'bt709'\]"):
        ColourSpace("bt2020", full_range=False)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="True or False"):
        ColourSpace("bt601", full_range=1)  # type: ignore[arg-type]


def test_page_sources_follow_the_measured_rule() -> None:
    bt709_full = ColourSpace("bt709", full_range=True)
    rgb_page = {"matrix": "rgb", "fullRange": True, "primaries": "bt709"}
    assert page_source_space("canvas", rgb_page) == bt709_full
    assert page_source_space("canvas", None) == bt709_full
    assert page_source_space("screen", None) == bt709_full
    assert page_source_space("camera", None) == CANONICAL
    camera = {"matrix": "smpte170m", "fullRange": False}
    assert page_source_space("camera", camera) == CANONICAL
    assert page_source_space("screen", camera) == CANONICAL
    assert page_source_space("camera", {"matrix": "bt709", "fullRange": True}) == bt709_full
    with pytest.raises(InputError, match=r"\['camera', 'canvas', 'screen'\]"):
        page_source_space("window", None)  # type: ignore[arg-type]
