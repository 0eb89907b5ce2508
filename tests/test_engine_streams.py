"""Local streams mid-call (seed 001): add, remove and replace, read back by stamp."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from streamcall_widget import Call
from streamcall_widget.engine.devices import BACK_STAMP_MASK, SYNTHETIC_BACK_CAMERA
from streamcall_widget.engine.stamp import stamp_id, user_stamp
from streamcall_widget.engine.synthetic import SyntheticCamera
from streamcall_widget.engine.tracks import TrackRef
from streamcall_widget.protocol.models import TrackType

from .engine_helpers import (
    RESULT,
    Clients,
    MediaProbe,
    participant,
    peers,
    ring_and_accept,
    session_of,
    wait_for,
)

FILE_STAMP, TRACK_STAMP, OTHER_TRACK_STAMP = 0x0F11, 0x7A01, 0x7A02


def stamped_clip(path: Path, stamp: int) -> Path:
    """Two seconds of 320x240 H264 video, every frame stamped ``stamp``."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"crf": "10"})
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for index in range(60):
            rgb = np.full((240, 320, 3), index * 4 % 256, dtype=np.uint8)
            stamp_id(rgb, stamp)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def extra_video(call: Call) -> MediaProbe:
    """A probe on ``call``'s remote ``screen_share`` tracks (where extra video goes)."""
    probe = MediaProbe()
    call.on_remote_video(probe.video, track_type="screen_share")
    return probe


def test_a_file_added_mid_call_arrives_and_ends_when_removed(
    clients: Clients, tmp_path: Path
) -> None:
    """The camera being sent, an added video file takes the next free type (screen_share);
    removing it ends that track at the other side and the call sends what it sent before."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    extra = extra_video(answered)
    clip = stamped_clip(tmp_path / "stamped.mp4", FILE_STAMP)

    stream = outgoing.add_stream(str(clip)).result(RESULT)
    assert stream.ref == TrackRef(outgoing.session_id or "", TrackType.SCREEN_SHARE)
    assert stream.source.endswith("stamped.mp4")
    extra.wait_stamp("alice", FILE_STAMP)
    assert stream in outgoing.local_streams

    outgoing.remove_stream(stream).result(RESULT)
    ref = TrackRef(session_of(answered, "alice"), TrackType.SCREEN_SHARE)
    wait_for(lambda: ref not in answered.remote_streams, "the file's track to end at bob")
    assert {s.ref.track_type for s in outgoing.local_streams} == {
        TrackType.AUDIO,
        TrackType.VIDEO,
    }
    assert [(r.where, r.error) for r in alice.errors.items + bob.errors.items] == []


def test_replacing_the_camera_stream_changes_the_picture_without_renegotiating(
    clients: Clients,
) -> None:
    """replace_stream on the camera stream sends another camera in the same track: the
    other side sees the new picture and neither side made a new offer or answer."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    cameras = MediaProbe().attach(answered)
    cameras.wait_stamp("alice", user_stamp("alice"))
    link = peers(outgoing)[session_of(outgoing, "bob")]
    before = link.pc.localDescription.sdp, link.pc.remoteDescription.sdp

    (camera,) = (s for s in outgoing.local_streams if s.ref.track_type is TrackType.VIDEO)
    outgoing.replace_stream(SYNTHETIC_BACK_CAMERA.id, camera).result(RESULT)
    cameras.wait_stamp("alice", user_stamp("alice") ^ BACK_STAMP_MASK)
    assert (link.pc.localDescription.sdp, link.pc.remoteDescription.sdp) == before
    assert any(s.source == SYNTHETIC_BACK_CAMERA.id for s in outgoing.local_streams)


def test_an_added_track_can_be_replaced_by_another_track(clients: Clients) -> None:
    """A stream from an aiortc track (e.g. a processor's output) is replaced in place by
    another track: the other side sees the second one's frames on the same TrackRef."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    extra = extra_video(answered)

    first = SyntheticCamera("first", width=320, height=240, stamp=TRACK_STAMP)
    stream = outgoing.add_stream(first, track_type="screen_share").result(RESULT)
    extra.wait_stamp("alice", TRACK_STAMP)
    second = SyntheticCamera("second", width=320, height=240, stamp=OTHER_TRACK_STAMP)
    outgoing.replace_stream(second, stream).result(RESULT)
    extra.wait_stamp("alice", OTHER_TRACK_STAMP)
    assert first.readyState == "ended"
    assert [(r.where, r.error) for r in alice.errors.items + bob.errors.items] == []


def test_a_removed_camera_is_neither_sent_nor_announced_until_added_back(
    clients: Clients,
) -> None:
    """Removing the camera stream ends it at bob; turning the camera off and on meanwhile
    announces nothing; add_stream(None) sends the default camera again as ``video``."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    cameras = MediaProbe().attach(answered)
    cameras.wait_stamp("alice", user_stamp("alice"))
    ref = TrackRef(session_of(answered, "alice"), TrackType.VIDEO)
    (camera,) = (s for s in outgoing.local_streams if s.ref.track_type is TrackType.VIDEO)

    outgoing.remove_stream(camera).result(RESULT)
    wait_for(lambda: ref not in answered.remote_streams, "alice's camera to end at bob")
    alice.sc.set_camera_enabled(False).result(RESULT)
    alice.sc.set_camera_enabled(True).result(RESULT)
    alice.flush()
    found = participant(answered, "alice")
    assert found is not None
    assert TrackType.VIDEO not in found.published_tracks

    again = outgoing.add_stream(None).result(RESULT)
    assert again.ref.track_type is TrackType.VIDEO
    wait_for(lambda: ref in answered.remote_streams, "alice's camera back at bob")
    cameras.wait_stamp("alice", user_stamp("alice"))
