"""Recording a 3-party call to MP4: the grid of cameras, the audio mixed, the events;
a file per track; a participant leaving loses a cell; the recorder leaving ends the
recording for everyone.

One call set-up serves every assertion (test time is scarce): three real clients with
synthetic cameras (each stamps its user's id) and microphones (each plays its user's
tone); alice (the creator, a host) records 10 s, as the issue asks.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import av
import numpy as np
import pytest

from streamcall_widget import Call, CallState, RecordingEvent, RecordingResult
from streamcall_widget.engine.recorder import fit_frame, grid_cells
from streamcall_widget.engine.stamp import dominant_frequency, read_stamp, user_stamp, user_tone
from streamcall_widget.errors import InvalidArguments, InvalidState, NotAllowed
from streamcall_widget.widgets.snapshot import call_snapshot

from .engine_helpers import RESULT, Clients, Recorder, wait_for, wait_growing

RECORDED = 10.0
"""Seconds recorded."""


def _flowing(call: Call, session_id: str, kind: str) -> bool:
    """Whether ``call`` received some ``kind`` frames from ``session_id`` already."""
    return call.remote_frame_count(session_id, kind) > 10


def _cell_stamp(image: np.ndarray, x: int, y: int, w: int, h: int) -> int | None:
    """The stamp in one cell of a recorded frame, scaled back to the camera's 640x480."""
    cell = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[y : y + h, x : x + w]), "rgb24")
    return read_stamp(cell.to_ndarray(format="rgb24", width=640, height=480))


def test_a_three_party_call_is_recorded_as_a_grid_with_the_audio_mixed(
    clients: Clients, tmp_path: Path
) -> None:
    alice, bob, carol = clients("alice"), clients("bob"), clients("carol")
    alice.sc.get_or_create_call("rec", members=["bob", "carol"]).result(RESULT)
    call = alice.sc.join_call("rec").result(RESULT)  # the creator is its host: may record
    bobs = bob.sc.join_call("rec").result(RESULT)
    carols = carol.sc.join_call("rec").result(RESULT)
    heard = Recorder[RecordingEvent]()
    bob.sc.add_listener("recording", heard)
    watched = Recorder[tuple[bool, bool]]()
    bobs.watch("is_recording", lambda new, old: watched((new, old)))
    for other in (bobs, carols):
        session = other.session_id or ""
        for kind in ("video", "audio"):
            flowing = functools.partial(_flowing, call, session, kind)
            wait_for(flowing, f"{kind} from {session}")

    existing = tmp_path / "taken.mp4"
    existing.write_bytes(b"")
    with pytest.raises(InvalidArguments, match="exists already"):
        call.start_recording(str(existing)).result(RESULT)
    with pytest.raises(InvalidArguments, match="writable directory"):
        call.start_recording(str(tmp_path / "missing" / "x.mp4")).result(RESULT)
    with pytest.raises(InvalidArguments, match="mode must be one of grid"):
        call.start_recording(str(tmp_path / "x.mp4"), mode="film").result(RESULT)
    with pytest.raises(NotAllowed, match="start-record-call"):
        bobs.start_recording(str(tmp_path / "bob.mp4")).result(RESULT)
    with pytest.raises(InvalidState, match="not being recorded here"):
        call.stop_recording().result(RESULT)
    assert not (tmp_path / "bob.mp4").exists()

    target = tmp_path / "call.mp4"
    assert call.start_recording(str(target)).result(RESULT) == target
    started = time.monotonic()
    with pytest.raises(InvalidState, match="already being recorded"):
        call.start_recording(str(tmp_path / "again.mp4")).result(RESULT)
    time.sleep(RECORDED)
    wall = time.monotonic() - started  # the wall time recorded: from started to stopping
    result = call.stop_recording().result(RESULT)

    assert isinstance(result, RecordingResult)
    assert result.path == target
    assert abs(result.duration - wall) <= 0.2
    assert result.video_frames + result.dropped_frames == round(result.duration * result.fps)
    heard.wait(lambda e: not e.recording, "bob to hear the recording stop")
    assert [e.recording for e in heard.items] == [True, False]
    wait_for(lambda: len(watched.items) == 2, "bob's is_recording watcher")
    assert watched.items == [(True, False), (False, True)]
    assert call.state is bobs.state is carols.state is CallState.JOINED

    with av.open(str(target)) as container:
        assert container.duration is not None
        assert abs(container.duration / 1e6 - wall) <= 0.2
        decoded = 0
        for frame in container.decode(video=0):  # counted, not kept: 300 frames are 470 MB
            decoded += 1
            last = frame.to_ndarray(format="rgb24")
    assert decoded == result.video_frames
    assert decoded >= 0.95 * result.fps * wall
    users = {p.session_id: p.user_id for p in call.participants}
    assert sorted(users.values()) == ["alice", "bob", "carol"]
    assert {c.key for c in result.cells} == set(users)
    for cell in result.cells:
        assert _cell_stamp(last, *fit_frame(640, 480, cell)) == user_stamp(users[cell.key])

    with av.open(str(target)) as container:
        mix = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
        rate = container.streams.audio[0].rate
    assert abs(len(mix) / rate - wall) <= 0.2
    spectrum = np.abs(np.fft.rfft(mix * np.hanning(mix.size)))
    floor = float(np.median(spectrum))
    for user in users.values():
        bin_of_tone = round(user_tone(user) * mix.size / rate)
        assert spectrum[bin_of_tone - 2 : bin_of_tone + 3].max() > 100 * floor, user

    # Per track: a file per camera and microphone, each with its user's stamp or tone.
    tracks = call.start_recording(tmp_path / "t.mp4", mode="tracks").result(RESULT)  # a Path
    splitter = call._recorder
    assert splitter is not None
    wait_for(lambda: splitter._counts.audio_frames >= 150, "audio frames of the tracks")
    split = call.stop_recording().result(RESULT)
    assert split.path == tracks
    assert not tracks.exists()
    assert split.cells == ()
    expected = {f"t-{u}-{kind}" for u in users.values() for kind in ("video", "audio")}
    assert {f.stem for f in split.files} == expected
    for file in split.files:
        user = file.stem.split("-")[1]
        with av.open(str(file)) as container:
            if file.suffix == ".mp4":
                *_, final = container.decode(video=0)
                assert read_stamp(final.to_ndarray(format="rgb24")) == user_stamp(user)
            else:
                samples = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
                assert abs(dominant_frequency(samples[-4800:], 48_000) - user_tone(user)) < 30

    # A second recording: carol leaving loses her cell; alice (the recorder) leaving the
    # call finishes the file and stops the recording for everyone.
    second = tmp_path / "second.mp4"
    call.start_recording(str(second)).result(RESULT)
    heard.wait(lambda e: len(heard.items) == 5, "bob to hear the second recording start")
    carols.leave().result(RESULT)
    wait_for(lambda: call.participant_count == 2, "carol to be gone from alice's call")
    sessions = [p.session_id for p in call.participants]
    recorder = call._recorder
    assert recorder is not None
    wait_for(lambda: len(recorder._counts.cells) == 2, "the grid to lose carol's cell")
    wait_growing(lambda: recorder._counts.video_frames, "grid frames without carol")
    call.leave().result(RESULT)
    left_with = call.stop_recording().result(RESULT)  # the file the leave finished, once
    assert left_with.path == second
    assert left_with.video_frames > 0
    assert call.last_recording is left_with
    assert call_snapshot(call)["saved_recording"] == {
        "name": "second.mp4",
        "path": str(second),
        "duration": left_with.duration,
    }
    with pytest.raises(InvalidState, match="not being recorded here"):
        call.stop_recording().result(RESULT)
    heard.wait(lambda e: len(heard.items) == 6, "bob to hear the recording stop")
    assert [e.recording for e in heard.items] == [True, False] * 3
    assert not bobs.is_recording
    assert bobs.state is CallState.JOINED
    with av.open(str(second)) as container:
        *_, last = (f.to_ndarray(format="rgb24") for f in container.decode(video=0))
    for cell in grid_cells(sessions):
        assert _cell_stamp(last, *fit_frame(640, 480, cell)) == user_stamp(users[cell.key])
