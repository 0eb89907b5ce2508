"""MediaPipe with a recorded send(): what reaches the page, and when, with real frames."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import av
import numpy as np
import pytest
import simplejpeg
from IPython.core.events import EventManager, available_events

from streamcall_widget.render.media_pipe import CHUNK_SAMPLES, MediaPipe
from streamcall_widget.widgets import kernel_activity

Message = tuple[dict[str, Any], list[bytes]]
DEADLINE = 5.0


class Recorder:
    """A send() that keeps every message, and can be told to fail."""

    def __init__(self) -> None:
        self.log: list[Message] = []
        self.fail_next = 0
        self.attempts = 0
        self._changed = threading.Condition()

    def __call__(self, content: dict[str, Any], buffers: list[bytes]) -> None:
        with self._changed:
            self.attempts += 1
            self._changed.notify_all()
            if self.fail_next:
                self.fail_next -= 1
                raise ConnectionError("comm closed")
            self.log.append((content, buffers))
            self._changed.notify_all()

    def wait_attempts(self, count: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.attempts >= count, DEADLINE)

    def messages(self, kind: str = "frames") -> list[Message]:
        with self._changed:
            return [m for m in self.log if m[0]["kind"] == kind]

    def wait_for(self, count: int, kind: str = "frames") -> list[Message]:
        """The first ``count`` messages of ``kind``, waiting for them up to the deadline."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.messages(kind)) >= count, DEADLINE)
        messages = self.messages(kind)
        assert len(messages) >= count, f"only {len(messages)} {kind} messages"
        return messages[:count]


class CountingClock:
    """A clock frozen at one time that counts how often the sender thread reads it."""

    def __init__(self) -> None:
        self.reads = 0
        self._changed = threading.Condition()

    def __call__(self) -> float:
        with self._changed:
            self.reads += 1
            self._changed.notify_all()
        return 1000.0

    def wait_reads(self, count: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.reads >= count, DEADLINE)


def video(width: int = 64, height: int = 48, value: int = 128) -> av.VideoFrame:
    """A flat grey yuv420p frame."""
    return av.VideoFrame.from_ndarray(
        np.full((height * 3 // 2, width), value, dtype=np.uint8), format="yuv420p"
    )


def tone(frame_index: int) -> av.AudioFrame:
    """20 ms of a 440 Hz sine at 48 kHz mono."""
    t = (np.arange(960) + 960 * frame_index) / 48_000
    samples = np.round(8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = 48_000
    return frame


def viewport(visible: bool = True, **tiles: tuple[int, int]) -> dict[str, Any]:
    return {"kind": "viewport", "visible": visible, "tiles": {k: list(v) for k, v in tiles.items()}}


def give_and_assert_held(
    pipe: MediaPipe, clock: CountingClock, recorder: Recorder, frame: av.VideoFrame, sent: int
) -> None:
    """Give tile alice a frame with the sender idle; prove the sender looked and kept it.

    The sender reads the clock to decide, and again to record a send (after the message
    went out); waking it a second time makes a second read that comes after either.
    """
    reads = clock.reads
    pipe.video_frame("alice", frame)
    clock.wait_reads(reads + 1)
    pipe.receive(viewport(alice=(640, 480)))
    clock.wait_reads(reads + 2)
    assert len(recorder.messages()) == sent


def tile_keys(message: Message) -> list[str]:
    return [tile["key"] for tile in message[0]["tiles"]]


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def clock() -> CountingClock:
    return CountingClock()


@pytest.fixture
def pipe(recorder: Recorder, clock: CountingClock) -> Iterator[MediaPipe]:
    """A pipe on a frozen clock with no minimum interval: only acks pace it."""
    media = MediaPipe(recorder, clock=clock, min_interval=0)
    yield media
    media.close()


def test_one_message_carries_every_changed_tile(pipe: MediaPipe, recorder: Recorder) -> None:
    """Tiles that changed go together in one message, one buffer per tile in order."""
    pipe.video_frame("alice", video(64, 48))
    pipe.video_frame("bob", video(32, 24))
    pipe.receive(viewport(alice=(640, 480), bob=(640, 480)))
    [(content, buffers)] = recorder.wait_for(1)
    assert content["seq"] == 1
    assert tile_keys((content, buffers)) == ["alice", "bob"]
    for tile, jpeg in zip(content["tiles"], buffers, strict=True):
        assert tile["mime"] == "image/jpeg"
        height, width, _, _ = simplejpeg.decode_jpeg_header(jpeg)
        assert (width, height) == (tile["width"], tile["height"])
        assert tile["ts"] == pytest.approx(time.time() * 1000, abs=DEADLINE * 1000)
    assert pipe.stats.frames == 2
    assert pipe.stats.bytes == sum(map(len, buffers))


def test_two_unacked_then_ack_releases_next(
    pipe: MediaPipe, recorder: Recorder, clock: CountingClock
) -> None:
    """With two messages unacknowledged a new frame waits for an ack, then goes."""
    pipe.receive(viewport(alice=(640, 480)))
    for count in (1, 2):
        pipe.video_frame("alice", video())
        recorder.wait_for(count)
    wait_until(lambda: pipe.stats.frames == 2)
    give_and_assert_held(pipe, clock, recorder, video(), sent=2)
    pipe.receive({"kind": "ack", "seq": 1})
    assert recorder.wait_for(3)[2][0]["seq"] == 3


def test_latest_frame_wins(pipe: MediaPipe, recorder: Recorder, clock: CountingClock) -> None:
    """Of several frames of a tile waiting, only the newest is sent."""
    pipe.receive(viewport(alice=(640, 480)))
    for count in (1, 2):
        pipe.video_frame("alice", video())
        recorder.wait_for(count)
    wait_until(lambda: pipe.stats.frames == 2)
    give_and_assert_held(pipe, clock, recorder, video(80, 48), sent=2)
    for width in (96, 112):
        pipe.video_frame("alice", video(width, 48))
    pipe.receive({"kind": "ack", "seq": 2})
    content, _ = recorder.wait_for(3)[2]
    assert [tile["width"] for tile in content["tiles"]] == [112]
    pipe.receive({"kind": "ack", "seq": 3})
    assert pipe.stats.frames == 3


def test_nothing_encoded_while_invisible(
    pipe: MediaPipe, recorder: Recorder, clock: CountingClock
) -> None:
    """No view on screen: frames are held, not encoded; the newest goes once visible."""
    pipe.receive(viewport(False, alice=(640, 480)))
    pipe.video_frame("alice", video(64, 48))
    clock.wait_reads(1)
    pipe.video_frame("alice", video(80, 48))
    clock.wait_reads(2)
    assert recorder.messages() == []
    assert pipe.stats.encode_cpu_seconds == 0.0
    pipe.receive(viewport(True, alice=(640, 480)))
    content, _ = recorder.wait_for(1)[0]
    assert content["tiles"][0]["width"] == 80


def test_viewport_size_respected(pipe: MediaPipe, recorder: Recorder) -> None:
    """A tile is encoded at the size the page draws it, never above it."""
    pipe.receive(viewport(alice=(160, 200)))
    pipe.video_frame("alice", video(640, 480))
    [(content, buffers)] = recorder.wait_for(1)
    assert simplejpeg.decode_jpeg_header(buffers[0])[:2] == (120, 160)
    assert (content["tiles"][0]["width"], content["tiles"][0]["height"]) == (160, 120)


def test_unlisted_tiles_wait(pipe: MediaPipe, recorder: Recorder) -> None:
    """Only the tiles the page lists are sent; an unlisted one goes once listed."""
    pipe.video_frame("bob", video())
    pipe.receive(viewport(alice=(640, 480)))
    pipe.video_frame("alice", video())
    first = recorder.wait_for(1)[0]
    assert tile_keys(first) == ["alice"]
    pipe.receive(viewport(alice=(640, 480), bob=(320, 240)))
    assert tile_keys(recorder.wait_for(2)[1]) == ["bob"]


def test_forgotten_tile_not_sent(pipe: MediaPipe, recorder: Recorder) -> None:
    """A frame of a tile forgotten before sending never reaches the page."""
    pipe.video_frame("alice", video())
    pipe.video_frame("bob", video())
    pipe.forget("alice")
    pipe.receive(viewport(alice=(640, 480), bob=(640, 480)))
    assert tile_keys(recorder.wait_for(1)[0]) == ["bob"]


def test_busy_kernel_keeps_sending_without_acks(recorder: Recorder) -> None:
    """While a cell runs, messages keep going past the window, paced, with no ack read."""
    media = MediaPipe(recorder)
    try:
        media.receive(viewport(alice=(640, 480)))
        media.kernel_busy(True)
        for count in range(1, 6):
            media.video_frame("alice", video())
            recorder.wait_for(count)
        assert [m[0]["seq"] for m in recorder.messages()] == [1, 2, 3, 4, 5]
    finally:
        media.close()


def test_audio_sent_alone_without_video(recorder: Recorder) -> None:
    """With no view, enabled audio goes out alone as 100 ms mono s16 chunks once each has
    waited the hold for a frames message, with no acks."""
    pipe = MediaPipe(recorder, audio_hold=0.01)
    try:
        send_audio_alone(pipe, recorder)
    finally:
        pipe.close()
    assert pipe.stats.audio_messages == 5


def send_audio_alone(pipe: MediaPipe, recorder: Recorder) -> None:
    pipe.audio_frame("alice", tone(0))  # before enabling: dropped
    pipe.audio_enabled = True
    frames_per_chunk = CHUNK_SAMPLES // 960
    for chunk in range(5):
        for index in range(frames_per_chunk):
            pipe.audio_frame("alice", tone(chunk * frames_per_chunk + index))
        recorder.wait_for(chunk + 1, "audio")
    messages = recorder.wait_for(5, "audio")
    assert [m[0] for m in messages] == [
        {"kind": "audio", "seq": seq, "rate": 48_000, "channels": 1} for seq in range(1, 6)
    ]
    assert all(
        len(buffers) == 1 and len(buffers[0]) == CHUNK_SAMPLES * 2 for _, buffers in messages
    )
    wait_until(lambda: pipe.stats.audio_chunks == 5)


def test_audio_rides_in_the_next_frames_message(
    pipe: MediaPipe, recorder: Recorder, clock: CountingClock
) -> None:
    """A ready chunk goes out in the next frames message, after the JPEGs, not alone."""
    pipe.audio_enabled = True
    pipe.video_frame("alice", video())  # held: no view yet, so the clock is not read
    for index in range(CHUNK_SAMPLES // 960):
        pipe.audio_frame("alice", tone(index))
    clock.wait_reads(1)  # the chunk is ready (it reads the clock), and the clock is frozen
    pipe.receive(viewport(alice=(64, 48)))
    content, buffers = recorder.wait_for(1)[0]
    assert content["audio"] == {"seq": 1, "rate": 48_000, "channels": 1}
    assert len(buffers) == len(content["tiles"]) + 1 == 2
    assert buffers[0][:2] == b"\xff\xd8"  # the JPEG first
    assert len(buffers[1]) == CHUNK_SAMPLES * 2
    assert recorder.messages("audio") == []
    wait_until(lambda: pipe.stats.audio_chunks == 1)
    assert pipe.stats.audio_messages == 0


def test_audio_enabled_again_keeps_queued_audio(recorder: Recorder) -> None:
    """Setting audio_enabled to its current value (every widget refresh) drops nothing."""
    pipe = MediaPipe(recorder, audio_hold=0)
    try:
        pipe.audio_enabled = True
        for index in range(CHUNK_SAMPLES // 960):
            pipe.audio_frame("alice", tone(index))
            pipe.audio_enabled = True
        messages = recorder.wait_for(1, "audio")
    finally:
        pipe.close()
    assert len(messages[0][1][0]) == CHUNK_SAMPLES * 2


@pytest.mark.parametrize(
    "content",
    [
        {"kind": "ack"},
        {"kind": "ack", "seq": "3"},
        {"kind": "ack", "seq": -1},
        {"kind": "ack", "seq": True},
        {"kind": "viewport", "visible": "yes", "tiles": {}},
        {"kind": "viewport", "visible": True, "tiles": []},
        {"kind": "viewport", "visible": True, "tiles": {"alice": [640]}},
        {"kind": "viewport", "visible": True, "tiles": {"alice": [10**9, 480]}},
        {"kind": "viewport", "visible": True, "tiles": {"alice": ["640", 480]}},
        {"kind": "viewport", "visible": True, "tiles": {"": [640, 480]}},
    ],
)
def test_bad_page_messages_ignored(
    pipe: MediaPipe, recorder: Recorder, content: dict[str, Any]
) -> None:
    """A malformed media message is claimed and ignored, and the pipe goes on working."""
    assert pipe.receive(content) is True
    pipe.receive(viewport(alice=(640, 480)))
    pipe.video_frame("alice", video())
    assert tile_keys(recorder.wait_for(1)[0]) == ["alice"]


@pytest.mark.parametrize("content", [{}, {"kind": "hangup"}, {"type": "ack", "seq": 1}])
def test_other_messages_not_claimed(pipe: MediaPipe, content: dict[str, Any]) -> None:
    """Messages that are not ack or viewport are left to the widget."""
    assert pipe.receive(content) is False


def test_send_errors_logged_once_and_survived(
    pipe: MediaPipe, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing send is logged once per burst and the next frame still goes."""
    recorder.fail_next = 3
    pipe.receive(viewport(alice=(640, 480)))
    with caplog.at_level(logging.ERROR, logger="streamcall_widget.render.media_pipe"):
        for attempt in range(1, 5):
            pipe.video_frame("alice", video())
            recorder.wait_attempts(attempt)
        [(content, _)] = recorder.wait_for(1)
    assert content["seq"] == 4
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


def test_close_joins_the_thread(recorder: Recorder) -> None:
    """close() stops the sender thread, can be called again, and later frames are ignored."""
    media = MediaPipe(recorder)
    assert any(t.name == "streamcall-frames" for t in threading.enumerate())
    media.close()
    media.close()
    media.receive(viewport(alice=(640, 480)))
    media.video_frame("alice", video())
    assert all(t.name != "streamcall-frames" for t in threading.enumerate())
    assert recorder.messages() == []


class FakeKernelShell:
    """The parts of an IPython kernel shell that watch_kernel_activity uses."""

    def __init__(self) -> None:
        self.kernel = object()
        self.events = EventManager(self, available_events)  # type: ignore[arg-type]

    def run_cell(self) -> None:
        self.events.trigger("pre_execute")
        self.events.trigger("pre_run_cell", None)
        self.events.trigger("post_execute")
        self.events.trigger("post_run_cell", None)

    def handle_comm_message(self) -> None:
        """What the comm package does around each comm message (not a cell)."""
        self.events.trigger("pre_execute")
        self.events.trigger("post_execute")


def test_kernel_activity_reports_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell reports busy then idle; comm messages and an unregistered watch report nothing."""
    shell = FakeKernelShell()
    monkeypatch.setattr(kernel_activity, "get_ipython", lambda: shell)
    seen: list[bool] = []
    unregister = kernel_activity.watch_kernel_activity(seen.append)
    shell.handle_comm_message()
    shell.run_cell()
    shell.handle_comm_message()
    unregister()
    unregister()
    shell.run_cell()
    assert seen == [True, False]


def test_kernel_activity_callback_errors_stay_out_of_cells(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception in the callback is logged, not raised into the cell."""
    shell = FakeKernelShell()
    monkeypatch.setattr(kernel_activity, "get_ipython", lambda: shell)

    def broken(busy: bool) -> None:
        raise RuntimeError(f"busy={busy}")

    kernel_activity.watch_kernel_activity(broken)
    with caplog.at_level(logging.ERROR):
        shell.run_cell()
    assert len(caplog.records) == 2


def test_kernel_activity_outside_ipython(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a kernel nothing is registered and unregistering does nothing."""
    monkeypatch.setattr(kernel_activity, "get_ipython", lambda: None)
    kernel_activity.watch_kernel_activity(lambda busy: None)()
