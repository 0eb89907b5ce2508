"""The kernel end of the page link, without a browser: slots and the page's offers.

The browser end (a real Chromium offering, native video drawn) is in
tests/browser/test_page_devices.py; here the slot tracks get real av frames, and the offer
parser gets what a page could send.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
import numpy as np
import pytest

from streamcall_widget.errors import InputError
from streamcall_widget.render.page_link import SlotTrack, parse_offer


def _frame(pts: int, width: int = 640, height: int = 480) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")
    frame.pts = pts
    frame.time_base = Fraction(1, 90000)
    return frame


async def test_a_slot_sends_at_most_the_size_shown_in_yuv420p() -> None:
    slot = SlotTrack("video")
    slot.show("bob")
    slot.size = (320, 300)  # a 4:3 picture fits in 320 wide
    slot.feed(_frame(3000))
    small = await slot.recv()
    assert isinstance(small, av.VideoFrame)
    assert (small.width, small.height, small.format.name) == (320, 240, "yuv420p")
    slot.size = (1920, 1080)  # never scaled up
    slot.feed(_frame(6000))
    same = await slot.recv()
    assert isinstance(same, av.VideoFrame)
    assert (same.width, same.height) == (640, 480)


async def test_a_slot_moved_to_another_tile_keeps_its_time_going_forward() -> None:
    """Each tile's frames count from their own start: after a move, the slot's
    timestamps still rise (libvpx refuses frames that go back)."""
    slot = SlotTrack("video")
    slot.show("bob")
    slot.feed(_frame(900_000))
    first = await slot.recv()
    slot.show("carol")
    slot.feed(_frame(3000))
    second = await slot.recv()
    assert (second.pts or 0) > (first.pts or 0) > 0


async def test_a_slot_keeps_only_the_newest_video_frame() -> None:
    slot = SlotTrack("video")
    slot.show("bob")
    for pts in (3000, 6000, 9000):
        slot.feed(_frame(pts))
    newest = await slot.recv()
    assert newest.pts == 9000


OFFER = {
    "sdp": "v=0\r\n",
    "uplink": {"0": "camera", "1": "microphone", "2": "screen"},
    "video": ["3", "4"],
    "audio": ["5"],
}


def test_an_offer_is_read() -> None:
    sdp, uplink, video, audio = parse_offer(OFFER)
    assert (sdp, uplink, video, audio) == ("v=0\r\n", OFFER["uplink"], ["3", "4"], ["5"])


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"sdp": "hello"}, "sdp must be an SDP offer"),
        ({"sdp": "v=0" + "x" * 300_000}, "at most 262144 bytes"),
        ({"uplink": {"0": "speaker"}}, "roles \\(camera, microphone, screen\\)"),
        ({"uplink": ["0"]}, "uplink must map"),
        ({"video": "3"}, "video must be a list"),
        ({"audio": ["x" * 40]}, "audio must be a list of at most 64 transceiver mids"),
    ],
)
def test_a_malformed_offer_says_what_is_allowed(change: dict[str, Any], says: str) -> None:
    with pytest.raises(InputError, match=says):
        parse_offer({**OFFER, **change})


async def test_a_slot_shifts_its_own_scaled_frame_and_leaves_the_shared_one_alone() -> None:
    """After a move, frames are shifted in time; a frame the slot scaled is its own and
    is shifted in place, while the tile's frame (read by others too) keeps its pts."""
    slot = SlotTrack("video")
    slot.show("bob")
    slot.feed(_frame(900_000))
    await slot.recv()
    slot.show("carol")
    slot.size = (320, 240)
    shared = _frame(3000)
    slot.feed(shared)
    sent = await slot.recv()
    assert shared.pts == 3000
    assert sent is not shared
    assert (sent.pts or 0) > 900_000
