"""switch_camera: front/back by label or order among real cameras (files never count),
seen by the other side in the pixels."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from streamcall_widget import Call, StreamCall
from streamcall_widget.engine.devices import (
    BACK_STAMP_MASK,
    SYNTHETIC_BACK_CAMERA,
    SYNTHETIC_CAMERA,
    Device,
    DeviceKind,
    DeviceList,
)
from streamcall_widget.engine.local_media import _facing
from streamcall_widget.engine.stamp import read_stamp, user_stamp
from streamcall_widget.errors import DeviceError


@pytest.fixture
def in_call(tmp_path: Path) -> Iterator[tuple[StreamCall, Call]]:
    """Alice and Bob joined to one call; yields Alice's client and Bob's call."""
    alice = StreamCall(runtime_dir=tmp_path, settings_dir=tmp_path)
    bob = StreamCall(runtime_dir=tmp_path, settings_dir=tmp_path)
    alice.login("alice").result(10)
    bob.login("bob").result(10)
    call = alice.call(["bob"], ring=False).result(10)
    yield alice, bob.join_call(call.id).result(10)
    bob.close()
    alice.close()


def _sees_stamp(call: Call, stamp: int, timeout: float = 30.0) -> bool:
    seen: list[int | None] = []

    def keep(_participant: object, frame: Any) -> None:
        seen.append(read_stamp(frame))

    handle = call.on_remote_video(keep)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if seen and seen[-1] == stamp:
                return True
            time.sleep(0.05)
        return False
    finally:
        handle.remove()


def test_back_and_front_cameras_switch_the_picture(in_call: tuple[StreamCall, Call]) -> None:
    """On a machine without cameras, "back" is the second synthetic camera (its own stamp)
    and "front" the first; the remote side sees each in turn, switch after switch (each
    device restarts its clock: the sent timeline must still only go forward)."""
    alice, bob_call = in_call
    front, back = user_stamp("alice"), user_stamp("alice") ^ BACK_STAMP_MASK
    assert _sees_stamp(bob_call, front)
    for _ in range(2):
        alice.switch_camera("back").result(10)
        assert _sees_stamp(bob_call, back)
        alice.switch_camera("front").result(10)
        assert _sees_stamp(bob_call, front)


def test_unknown_camera_is_refused_and_the_call_goes_on(
    in_call: tuple[StreamCall, Call],
) -> None:
    """An unknown camera name raises DeviceError naming the cameras; video keeps flowing."""
    alice, bob_call = in_call
    with pytest.raises(DeviceError, match="synthetic-camera-back") as refused:
        alice.switch_camera("periscope").result(10)
    assert "periscope" in str(refused.value)
    assert _sees_stamp(bob_call, user_stamp("alice"))


def _camera(device_id: str, label: str, fmt: str | None) -> Device:
    return Device(DeviceKind.CAMERA, device_id, label, "/x", fmt)


FILE_FRONT = _camera("file:/clips/front.mp4", "front.mp4", None)
FILE_CLIP = _camera("file:/clips/clip.mp4", "clip.mp4", None)
USB = _camera("v4l2:/dev/video0", "USB camera", "v4l2")
REAR = _camera("v4l2:/dev/video2", "Rear (back) camera", "v4l2")


@pytest.mark.parametrize(
    ("cameras", "front", "back"),
    [
        # Files first (as listed), named to look like a side: neither counts.
        ((FILE_FRONT, FILE_CLIP), SYNTHETIC_CAMERA, SYNTHETIC_BACK_CAMERA),
        # One real camera: it is the front; no second one, so back is synthetic.
        ((FILE_CLIP, USB), USB, SYNTHETIC_BACK_CAMERA),
        # A real camera labelled "back" is the back one wherever it is listed.
        ((FILE_CLIP, REAR, USB), REAR, REAR),
        ((FILE_CLIP, USB, REAR), USB, REAR),
    ],
)
def test_front_and_back_choose_among_real_cameras_only(
    cameras: tuple[Device, ...], front: Device, back: Device
) -> None:
    """``front``/``back``: a real camera labelled so, else the first/second real camera,
    else the synthetic front/back camera; media files never count."""
    devices = DeviceList(cameras=(*cameras, SYNTHETIC_CAMERA, SYNTHETIC_BACK_CAMERA))
    assert (_facing(devices, "front"), _facing(devices, "back")) == (front, back)


def test_front_with_a_media_file_listed_is_the_synthetic_front_camera(tmp_path: Path) -> None:
    """With a video file as the default camera, "back" and "front" are the synthetic
    cameras (front used to resolve to the file), and the file is still chosen by name."""
    clip = tmp_path / "clip.mp4"
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for _ in range(5):
            black = av.VideoFrame.from_ndarray(np.zeros((120, 160, 3), np.uint8), format="rgb24")
            out.mux(stream.encode(black))
        out.mux(stream.encode(None))
    alice = StreamCall(runtime_dir=tmp_path, settings_dir=tmp_path, media_files=(str(clip),))
    try:
        alice.login("alice").result(10)
        assert alice.list_devices().result(10).cameras[0].id == f"file:{clip.resolve()}"
        chosen = []
        for camera in ("back", "front", "clip.mp4"):
            alice.switch_camera(camera).result(10)
            assert alice.media.camera is not None
            chosen.append(alice.media.camera.id)
        assert chosen == ["synthetic-camera-back", "synthetic-camera", f"file:{clip.resolve()}"]
    finally:
        alice.close()
