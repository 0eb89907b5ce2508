"""Media keeps flowing for the whole call, in every reader, with two clients in one process.

Two clients of one process share each synthetic device, and each local track is read by
the client's preview and by every peer's sender: a frame object is seen by many readers.
A reader that changed a shared frame in place (its timestamps) made the others' timelines
shift it again and again until the timestamp overflowed and the track died, a second or
so into the call; and a track read by two readers handed some frames to both. These tests
watch the call well past that point.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from fractions import Fraction
from functools import partial
from typing import Any

import av
import numpy as np

from streamcall_widget.engine.media import Hook, LocalTrack, Timeline
from streamcall_widget.engine.synthetic import SyntheticCamera
from streamcall_widget.engine.taps import LOCAL

from .engine_helpers import Clients, ring_and_accept, session_of, wait_for, wait_growing


def test_video_audio_and_previews_keep_flowing_three_seconds_in(clients: Clients) -> None:
    """After 3 s of a 1:1 call, remote video and audio still arrive on both sides, and the
    taps still get remote and local frames of both kinds."""
    alice, bob = clients("alice"), clients("bob")
    seen: Counter[tuple[str, str, str]] = Counter()
    lock = threading.Lock()

    def tap_of(who: str) -> Any:
        def tap(key: str, kind: str, _frame: Any) -> None:
            with lock:
                seen[(who, "local" if key == LOCAL else "remote", str(kind))] += 1

        return tap

    handles = [alice.sc.watch_media(tap_of("alice")), bob.sc.watch_media(tap_of("bob"))]
    try:
        outgoing, incoming = ring_and_accept(alice, bob)
        bob_session, alice_session = session_of(outgoing, "bob"), session_of(incoming, "alice")
        wait_for(lambda: outgoing.remote_frame_count(bob_session) > 90, "3 s of bob's video")
        for call, session in ((outgoing, bob_session), (incoming, alice_session)):
            for kind in ("video", "audio"):
                wait_growing(partial(call.remote_frame_count, session, kind), kind, by=30)

        with lock:
            before = Counter(seen)
        wait_for(
            lambda: all(seen[key] >= before[key] + 20 for key in before) and len(before) == 8,
            "every tap (2 clients x local/remote x video/audio) still fed",
        )
    finally:
        for handle in handles:
            handle.remove()


def _video_frame(pts: int) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, np.uint8), format="rgb24")
    frame.pts = pts
    frame.time_base = Fraction(1, 90_000)
    return frame


def test_a_timeline_never_changes_a_frame_others_read() -> None:
    """Two timelines placing the same frames: a frame that must move is a copy with the new
    timestamp, the original is untouched, and both timelines stay rising."""
    first, second = Timeline(), Timeline()
    frames = [_video_frame(3000 * n) for n in (1, 2, 2, 3)]  # the source repeats a stamp
    placed = [(first.place(f), second.place(f)) for f in frames]
    assert [f.pts for f in frames] == [3000, 6000, 6000, 9000]
    for outputs in zip(*placed, strict=True):
        stamps = [f.pts for f in outputs]
        assert stamps == sorted(set(stamps))
    moved, same = placed[2][0], placed[1][0]
    assert moved is not frames[2]
    assert same is frames[1]
    assert np.array_equal(moved.to_ndarray(), frames[2].to_ndarray())


SHARED_FRAMES = """
import threading
import av, numpy as np
from streamcall_widget.engine.colour import reformatted
frames = [
    av.VideoFrame.from_ndarray(np.full((240, 320, 3), n, np.uint8), format="rgb24")
    for n in range(12)
]
def work():
    for _ in range(60):
        for frame in frames:
            reformatted(frame, format="yuv420p")
threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
"""


def test_one_frame_converted_by_many_threads_at_once_is_safe() -> None:
    """One frame is read by several threads at once (each peer's and the page link's
    encoder, hooks, the widget channel). PyAV's ``reformat`` keeps one scaler on the frame,
    and threads sharing it crash the process (libswscale); ``reformatted`` gives each call
    its own (with ``frame.reformat`` this script dies with SIGSEGV, return code -11). Run
    in a subprocess, so a crash is a return code, not a dead test run."""
    converted = subprocess.run([sys.executable, "-c", SHARED_FRAMES], check=False)
    assert converted.returncode == 0


async def test_a_processed_frame_leaves_the_local_track_in_yuv420p() -> None:
    """A video processor returns RGB; the local track converts it once, so no encoder
    thread converts a frame that other threads read."""
    track = LocalTrack("video", SyntheticCamera("alice", stamp=7), enabled=True)
    track.processor = Hook(lambda rgb: rgb[::-1].copy(), "flip", lambda where, error: None)
    frame = await track.recv()
    track.stop()
    assert isinstance(frame, av.VideoFrame)
    assert frame.format.name == "yuv420p"
