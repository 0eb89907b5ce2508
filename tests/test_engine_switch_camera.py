"""switch_camera: front/back by label or order, seen by the other side in the pixels."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamcall_widget import Call, StreamCall
from streamcall_widget.engine.devices import BACK_STAMP_MASK
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
