"""Replacing or removing a processor or hook while a frame waits for it.

A hook runs its function in one worker thread; a frame can be queued for that thread when
the hook is closed. Closing used to cancel the queued call, so ``CancelledError`` came out
of ``LocalTrack.recv`` and the relay reading the local track died: the other side got no
more frames of that kind while the track stayed live (audio stopped after 17 to 26
set/remove cycles in 2 runs of 4). These tests queue a frame behind a busy worker on
purpose, then close the hook.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

from streamcall_widget.engine.local_media import LocalMedia
from streamcall_widget.engine.media import Hook

from .engine_helpers import RESULT, Clients, Recorder, ring_and_accept, wait_growing

Errors = Recorder[tuple[str, BaseException]]


@pytest.fixture
async def media() -> AsyncIterator[tuple[LocalMedia, Errors]]:
    """Local media on the synthetic camera, and the errors it reports; closed after."""
    errors = Errors()
    local = LocalMedia(lambda where, exc: errors((where, exc)))
    await local.select_camera(await local.list(), "synthetic-camera")
    yield local, errors
    await local.close()


def _blocking(release: threading.Event, calls: Recorder[int]) -> Any:
    """A processor that waits for ``release`` on its first call, then returns its input."""

    def fn(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
        calls(1)
        if len(calls.items) == 1:
            assert release.wait(RESULT)
        return array

    return fn


async def test_replaced_processor_hands_a_waiting_frame_to_the_new_one(
    media: tuple[LocalMedia, Errors],
) -> None:
    """A frame queued behind the old processor's busy thread when the processor is replaced
    goes to the new processor; the track goes on."""
    local, errors = media
    release, old_calls = threading.Event(), Recorder[int]()
    local.set_processor("video", _blocking(release, old_calls))
    old = local.video.processor
    assert old is not None
    busy = asyncio.ensure_future(old.run(np.zeros((2, 2, 3), np.uint8)))  # holds the thread
    receiving = asyncio.ensure_future(local.video.recv())  # its frame queues behind
    await asyncio.sleep(0.3)
    assert not receiving.done()

    def grey(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        return np.full_like(rgb, 100)

    local.set_processor("video", grey)
    release.set()
    frame = await asyncio.wait_for(receiving, RESULT)
    await busy
    assert isinstance(frame, av.VideoFrame)
    assert old_calls.items == [1]  # the old processor never saw the queued frame
    # The new processor's work, as the encoders get it: yuv420p (a grey survives it within
    # a level or two; the 0s of the original frame would not).
    assert frame.format.name == "yuv420p"
    assert (abs(frame.to_ndarray(format="rgb24").astype(int) - 100) <= 2).all()
    assert isinstance(await asyncio.wait_for(local.video.recv(), RESULT), av.VideoFrame)
    assert errors.items == []


async def test_removed_processor_lets_a_waiting_frame_pass_unchanged(
    media: tuple[LocalMedia, Errors],
) -> None:
    """A frame queued when the processor is removed passes unchanged; frames keep coming."""
    local, errors = media
    release, calls = threading.Event(), Recorder[int]()
    local.set_processor("video", _blocking(release, calls))
    hook = local.video.processor
    assert hook is not None
    busy = asyncio.ensure_future(hook.run(np.zeros((2, 2, 3), np.uint8)))
    receiving = asyncio.ensure_future(local.video.recv())
    await asyncio.sleep(0.3)
    local.set_processor("video", None)
    release.set()
    frame = await asyncio.wait_for(receiving, RESULT)
    await busy
    assert isinstance(frame, av.VideoFrame)
    assert calls.items == [1]
    for _ in range(3):
        assert isinstance(await asyncio.wait_for(local.video.recv(), RESULT), av.VideoFrame)
    assert errors.items == []


async def test_closed_hook_skips_queued_and_later_calls_without_reporting() -> None:
    """A remote-frame hook removed with a call queued (or about to start) returns None for
    it: its function is not called and nothing is reported (it used to raise
    ``CancelledError`` or report ``cannot schedule new futures after shutdown``)."""
    errors, calls, release = Errors(), Recorder[int](), threading.Event()
    hook: Hook[Any] = Hook(
        _blocking(release, calls), "on_remote_video hook", lambda w, e: errors((w, e))
    )
    running = asyncio.ensure_future(hook.run("first"))
    queued = asyncio.ensure_future(hook.run("second"))
    await asyncio.sleep(0.3)
    hook.close()
    release.set()
    assert await asyncio.wait_for(running, RESULT) == "first"  # the call in progress ends
    assert await asyncio.wait_for(queued, RESULT) is None
    assert await hook.run("after") is None
    await hook.aclose()
    assert calls.items == [1]
    assert errors.items == []


def test_processors_swapped_in_a_loop_keep_both_media_flowing(clients: Clients) -> None:
    """Audio and video processors set and removed 60 times in a row: bob still receives
    both kinds afterwards, and nothing is reported."""
    alice, bob = clients("alice"), clients("bob")
    _, answered = ring_and_accept(alice, bob)
    counts = {"audio": 0, "video": 0}

    def count(kind: str) -> Any:
        def hook(_who: object, _array: object) -> None:
            counts[kind] += 1

        return hook

    answered.on_remote_audio(count("audio"))
    answered.on_remote_video(count("video"))
    wait_growing(lambda: counts["audio"], "alice's audio at bob")
    wait_growing(lambda: counts["video"], "alice's video at bob")

    def quieter(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        return samples // 4

    def same(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        return rgb

    for _ in range(60):
        alice.sc.set_audio_processor(quieter).result(RESULT)
        alice.sc.set_video_processor(same).result(RESULT)
        alice.sc.set_audio_processor(None).result(RESULT)
        alice.sc.set_video_processor(None).result(RESULT)
    wait_growing(lambda: counts["audio"], "alice's audio at bob after the swaps", by=25)
    wait_growing(lambda: counts["video"], "alice's video at bob after the swaps", by=15)
    alice.flush()
    bob.flush()
    assert alice.errors.items == []
    assert bob.errors.items == []
