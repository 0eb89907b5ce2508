"""Media end to end between real ``StreamCall`` clients of one process.

Every client uses the synthetic camera, which stamps ``user_stamp(user_id)`` into each
frame, and the synthetic microphone, which plays ``user_tone(user_id)``; a receiver reads
the stamp back from decoded video and the loudest frequency from decoded audio, so each
test proves whose media arrived, after a real codec, over a real peer connection.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from streamcall_widget import CallState, Participant, StreamCall
from streamcall_widget.engine.devices import SYNTHETIC_CAMERA
from streamcall_widget.engine.quality import ConnectionQuality
from streamcall_widget.engine.stamp import stamp_id, user_stamp, user_tone
from streamcall_widget.errors import DeviceError, InputError
from streamcall_widget.protocol.models import TrackType

from .engine_helpers import (
    RESULT,
    Clients,
    MediaProbe,
    Recorder,
    participant,
    peers,
    ring_and_accept,
    session_of,
    wait_for,
    wait_growing,
    wait_stalled,
)

PROCESSED_STAMP = 0x1234


def test_one_to_one_exchanges_stamped_video_and_tones(clients: Clients) -> None:
    """After ring and accept each side decodes the other's stamp and hears the other's tone."""
    alice, bob = clients("alice", name="Alice"), clients("bob", name="Bob")
    outgoing, answered = ring_and_accept(alice, bob)
    at_alice, at_bob = MediaProbe().attach(outgoing), MediaProbe().attach(answered)

    at_bob.wait_stamp("alice", user_stamp("alice"))
    at_alice.wait_stamp("bob", user_stamp("bob"))
    at_bob.wait_tone("alice", user_tone("alice"))
    at_alice.wait_tone("bob", user_tone("bob"))

    assert set(at_bob.stamps) == set(at_bob.tones) == {"alice"}
    assert set(at_alice.stamps) == set(at_alice.tones) == {"bob"}
    assert set(at_bob.stamps_of("alice")) == {user_stamp("alice")}
    assert set(at_alice.stamps_of("bob")) == {user_stamp("bob")}


def test_three_way_call_everyone_receives_both_others(clients: Clients) -> None:
    """Alice rings bob and carol; bob accepts, carol joins by id: all get both others' media."""
    alice, bob, carol = clients("alice"), clients("bob"), clients("carol")
    outgoing = alice.sc.call(["bob", "carol"], ring=True).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    carol.wait_ringing(outgoing.cid)
    answered = bob.sc.accept_call().result(RESULT)
    outgoing.wait_until(CallState.JOINED).result(RESULT)
    joined = carol.sc.join_call(outgoing.id).result(RESULT)

    calls = {"alice": outgoing, "bob": answered, "carol": joined}
    probes = {user: MediaProbe().attach(call) for user, call in calls.items()}
    for user, probe in probes.items():
        for other in set(calls) - {user}:
            probe.wait_stamp(other, user_stamp(other))
            probe.wait_tone(other, user_tone(other))
    for user, call in calls.items():
        assert sorted(p.user_id for p in call.remote_participants) == sorted(set(calls) - {user})
        assert set(probes[user].stamps) == set(calls) - {user}


def test_leaving_a_group_call_closes_only_that_peer(clients: Clients) -> None:
    """When bob leaves a call of three, alice's peer to bob closes; carol's media goes on."""
    alice, bob, carol = clients("alice"), clients("bob"), clients("carol")
    outgoing = alice.sc.call(["bob", "carol"], ring=False).result(RESULT)
    bob.sc.join_call(outgoing.id).result(RESULT)
    carol.sc.join_call(outgoing.id).result(RESULT)
    probe = MediaProbe().attach(outgoing)
    probe.wait_stamp("bob", user_stamp("bob"))
    probe.wait_stamp("carol", user_stamp("carol"))
    bob_session = session_of(outgoing, "bob")
    bob_peer = peers(outgoing)[bob_session]

    bob.sc.end_call().result(RESULT)
    wait_for(lambda: bob_session not in peers(outgoing), "alice to drop her peer to bob")
    wait_for(lambda: bob_peer.state == "closed", "alice's peer to bob to close")
    wait_stalled(lambda: len(probe.stamps_of("bob")), "bob's frames at alice")
    seen = len(probe.stamps_of("carol"))
    wait_for(lambda: len(probe.stamps_of("carol")) > seen + 10, "carol's frames at alice")
    assert all(ref.session_id != bob_session for ref in outgoing.remote_streams)
    assert outgoing.remote_frame_count(bob_session) > 0  # what arrived stays counted
    assert sorted(p.user_id for p in outgoing.participants) == ["alice", "carol"]


@pytest.mark.parametrize(
    ("device", "track", "off", "on"),
    [
        (
            "microphone",
            TrackType.AUDIO,
            CallState.MICROPHONE_DISABLED,
            CallState.MICROPHONE_ENABLED,
        ),
        ("camera", TrackType.VIDEO, CallState.CAMERA_DISABLED, CallState.CAMERA_ENABLED),
    ],
)
def test_mute_stops_media_and_unmute_resumes_on_the_same_peer(
    clients: Clients, device: str, track: TrackType, off: CallState, on: CallState
) -> None:
    """Turning a device off unpublishes it, tells the other side and stops its frames;
    turning it back on resumes them over the same peer connection."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    alice_session = session_of(answered, "alice")
    bob_session = session_of(outgoing, "bob")
    kind = str(track)
    other_kind = "video" if kind == "audio" else "audio"

    def frames(of: str = kind) -> int:
        return answered.remote_frame_count(alice_session, of)

    def published() -> tuple[TrackType, ...]:
        found = participant(answered, "alice")
        assert found is not None
        return found.published_tracks

    wait_for(lambda: frames() > 5, f"alice's {kind} frames at bob")
    assert track in published()
    links = (peers(outgoing)[bob_session], peers(answered)[alice_session])
    setter: Callable[[bool], Any] = getattr(alice.sc, f"set_{device}_enabled")
    alice.flush()
    bob.flush()
    alice.events.clear()
    bob.events.clear()

    setter(False).result(RESULT)
    bob.wait_event(off, "alice")
    wait_for(lambda: track not in published(), f"bob to see alice's {kind} unpublished")
    wait_stalled(frames, f"alice's {kind} frames at bob")
    wait_growing(lambda: frames(other_kind), f"alice's {other_kind} while {kind} is off")
    if device == "camera":
        assert alice.sc.is_camera_enabled().result(RESULT).enabled is False

    setter(True).result(RESULT)
    bob.wait_event(on, "alice")
    wait_for(lambda: track in published(), f"bob to see alice's {kind} published again")
    wait_growing(frames, f"alice's {kind} frames at bob after turning it back on")
    assert peers(outgoing)[bob_session] is links[0]
    assert peers(answered)[alice_session] is links[1]
    alice.flush()
    bob.flush()
    # Locally the toggle is the user's own act; the others learn it was muted.
    assert alice.triples() == [(str(off), "alice", None), (str(on), "alice", None)]
    assert bob.triples() == [(str(off), "alice", "muted"), (str(on), "alice", None)]


def test_switch_camera_to_unknown_name_fails_and_the_call_goes_on(clients: Clients) -> None:
    """An unknown camera raises DeviceError naming the cameras there are; media keeps flowing."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    at_bob = MediaProbe().attach(answered)
    at_bob.wait_stamp("alice", user_stamp("alice"))

    cameras = alice.sc.list_devices().result(RESULT).cameras
    assert SYNTHETIC_CAMERA in cameras
    with pytest.raises(DeviceError, match="no-such-camera") as raised:
        alice.sc.switch_camera("no-such-camera").result(RESULT)
    for camera in cameras:
        assert camera.id in str(raised.value)

    assert outgoing.state is CallState.JOINED
    assert answered.state is CallState.JOINED
    seen = len(at_bob.stamps_of("alice"))
    wait_for(lambda: len(at_bob.stamps_of("alice")) > seen + 5, "alice's video after the error")
    at_bob.wait_stamp("alice", user_stamp("alice"))


def test_video_processor_changes_what_the_other_side_sees(clients: Clients) -> None:
    """A processor stamping another id is what bob decodes; removing it restores alice's."""
    alice, bob = clients("alice"), clients("bob")
    _, answered = ring_and_accept(alice, bob)
    at_bob = MediaProbe().attach(answered)
    at_bob.wait_stamp("alice", user_stamp("alice"))

    def restamp(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        out = rgb.copy()
        stamp_id(out, PROCESSED_STAMP)
        return out

    alice.sc.set_video_processor(restamp).result(RESULT)
    at_bob.wait_stamp("alice", PROCESSED_STAMP, frames=5)
    alice.sc.set_video_processor(None).result(RESULT)
    at_bob.wait_stamp("alice", user_stamp("alice"), frames=5)
    assert alice.errors.items == []


def test_audio_processor_changes_what_the_other_side_hears(clients: Clients) -> None:
    """An audio processor replacing alice's tone with 1 kHz is what bob hears."""
    alice, bob = clients("alice"), clients("bob")
    _, answered = ring_and_accept(alice, bob)
    at_bob = MediaProbe().attach(answered)
    at_bob.wait_tone("alice", user_tone("alice"))
    played = [0]

    def kilohertz(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        count = samples.shape[-1]
        t = (played[0] + np.arange(count)) / 48_000
        played[0] += count
        tone = np.rint(8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
        return np.broadcast_to(tone, samples.shape).copy()

    alice.sc.set_audio_processor(kilohertz).result(RESULT)
    at_bob.wait_tone("alice", 1000.0)
    alice.sc.set_audio_processor(None).result(RESULT)
    at_bob.wait_tone("alice", user_tone("alice"))
    assert alice.errors.items == []


def test_camera_and_microphone_off_at_join_can_be_turned_on_during_the_call(
    clients: Clients,
) -> None:
    """Calling without video and muted publishes nothing; turning both on mid-call brings
    alice's video and audio to bob without renegotiating."""
    alice, bob = clients("alice"), clients("bob")
    alice.sc.set_microphone_enabled(False).result(RESULT)
    outgoing, answered = ring_and_accept(alice, bob, video=False)
    alice_session = session_of(answered, "alice")
    at_bob = MediaProbe().attach(answered)
    found = participant(answered, "alice")
    assert found is not None
    assert found.published_tracks == ()
    peer = peers(answered)[alice_session]

    alice.sc.set_camera_enabled(True).result(RESULT)
    alice.sc.set_microphone_enabled(True).result(RESULT)
    at_bob.wait_stamp("alice", user_stamp("alice"))
    at_bob.wait_tone("alice", user_tone("alice"))
    wait_for(
        lambda: (
            (p := participant(answered, "alice")) is not None
            and set(p.published_tracks) == {TrackType.AUDIO, TrackType.VIDEO}
        ),
        "alice's tracks published at bob",
    )
    assert peers(answered)[alice_session] is peer
    assert outgoing.state is CallState.JOINED


def test_raising_video_processor_is_reported_once_and_frames_pass_unchanged(
    clients: Clients,
) -> None:
    """A processor failing on every frame gives one error report; frames go out untouched."""
    alice, bob = clients("alice"), clients("bob")
    _, answered = ring_and_accept(alice, bob)
    at_bob = MediaProbe().attach(answered)
    at_bob.wait_stamp("alice", user_stamp("alice"))
    calls = Recorder[int]()

    def broken(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        calls(1)
        raise ZeroDivisionError("processor bug")

    alice.sc.set_video_processor(broken).result(RESULT)
    wait_for(lambda: len(calls.items) >= 30, "30 frames through the failing processor")
    seen = len(at_bob.stamps_of("alice"))
    wait_for(lambda: len(at_bob.stamps_of("alice")) > seen + 10, "frames despite the failure")
    at_bob.wait_stamp("alice", user_stamp("alice"), frames=10)
    alice.flush()
    reports = alice.errors_in("video processor")
    assert len(reports) == 1
    assert isinstance(reports[0].error, ZeroDivisionError)
    assert "broken" in reports[0].where


def test_video_processor_returning_a_bad_shape_is_reported_and_frames_pass(
    clients: Clients,
) -> None:
    """A processor returning the wrong shape is reported once; bob still gets alice's frames."""
    alice, bob = clients("alice"), clients("bob")
    _, answered = ring_and_accept(alice, bob)
    at_bob = MediaProbe().attach(answered)
    at_bob.wait_stamp("alice", user_stamp("alice"))
    calls = Recorder[int]()

    def flatten(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        calls(1)
        return rgb[:, :, 0]

    alice.sc.set_video_processor(flatten).result(RESULT)
    wait_for(lambda: len(calls.items) >= 10, "10 frames through the processor")
    alice.flush()
    reports = alice.errors_in("video processor")
    assert len(reports) == 1
    assert isinstance(reports[0].error, ValueError)
    seen = len(at_bob.stamps_of("alice"))
    wait_for(lambda: len(at_bob.stamps_of("alice")) > seen + 5, "frames despite the bad shape")
    at_bob.wait_stamp("alice", user_stamp("alice"))


def test_raising_remote_video_hook_is_reported_and_other_hooks_go_on(clients: Clients) -> None:
    """One on_remote_video hook raising is reported once; other hooks keep getting frames."""
    alice, bob = clients("alice"), clients("bob")
    _, answered = ring_and_accept(alice, bob)

    def broken(who: Participant | None, rgb: npt.NDArray[Any]) -> None:
        raise KeyError("hook bug")

    answered.on_remote_video(broken)
    at_bob = MediaProbe().attach(answered)
    at_bob.wait_stamp("alice", user_stamp("alice"), frames=30)
    at_bob.wait_tone("alice", user_tone("alice"))
    bob.flush()
    reports = bob.errors_in("on_remote_video")
    assert len(reports) == 1
    assert isinstance(reports[0].error, KeyError)
    assert "broken" in reports[0].where
    assert bob.errors_in("on_remote_audio") == []


def test_remote_hook_removed_is_called_no_more(clients: Clients) -> None:
    """``handle.remove()`` stops an on_remote_video hook while another keeps running."""
    alice, bob = clients("alice"), clients("bob")
    _, answered = ring_and_accept(alice, bob)
    removed = Recorder[int]()
    handle = answered.on_remote_video(lambda who, rgb: removed(1))
    at_bob = MediaProbe().attach(answered)
    wait_for(lambda: len(removed.items) >= 5, "the hook to run")
    handle.remove()
    calls = wait_stalled(lambda: len(removed.items), "calls of the removed hook")
    seen = len(at_bob.stamps_of("alice"))
    wait_for(lambda: len(at_bob.stamps_of("alice")) > seen + 10, "the other hook's frames")
    assert len(removed.items) == calls


def test_remote_talker_has_audio_level_and_is_speaking(clients: Clients) -> None:
    """Alice's tone gives her, at bob, an audio level above 0, speaking and dominant."""
    alice, bob = clients("alice"), clients("bob")
    _, answered = ring_and_accept(alice, bob)

    def talking() -> Participant | None:
        found = participant(answered, "alice")
        if found is None or not (found.audio_level > 0 and found.is_speaking):
            return None
        return found

    found = wait_for(talking, "alice to be speaking at bob")
    assert 0 < found.audio_level <= 1
    wait_for(
        lambda: (p := participant(answered, "alice")) is not None and p.is_dominant_speaker,
        "alice to be the dominant speaker at bob",
    )
    local = participant(answered, "bob")
    assert local is not None
    assert local.is_local
    assert not local.is_dominant_speaker


def test_silent_microphone_is_not_speaking(clients: Clients) -> None:
    """With the silent microphone alice's audio arrives at bob with level 0, not speaking."""
    alice = clients("alice", microphone="silent-microphone")
    bob = clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    alice_session = session_of(answered, "alice")
    wait_for(lambda: answered.remote_frame_count(alice_session, "audio") > 25, "alice's audio")
    found = participant(answered, "alice")
    assert found is not None
    assert found.audio_level == 0.0
    assert not found.is_speaking
    assert not found.is_dominant_speaker
    assert outgoing.state is CallState.JOINED


def test_connection_quality_is_graded_within_seconds(clients: Clients) -> None:
    """RTCP statistics (read every 2 s) grade the remote and the local participant."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, _ = ring_and_accept(alice, bob)

    def graded(user_id: str) -> ConnectionQuality | None:
        found = participant(outgoing, user_id)
        if found is None or found.connection_quality is ConnectionQuality.UNSPECIFIED:
            return None
        return found.connection_quality

    remote = wait_for(lambda: graded("bob"), "bob's connection quality at alice")
    local = wait_for(lambda: graded("alice"), "alice's own connection quality")
    # Loopback: no loss, sub-millisecond round trips.
    assert remote is ConnectionQuality.EXCELLENT
    assert local is ConnectionQuality.EXCELLENT


def test_unknown_video_codec_is_refused(clients: Clients, tmp_path: Path) -> None:
    """An unknown video codec is refused, naming the allowed ones, at creation and later."""
    with pytest.raises(InputError, match="video/VP8"):
        StreamCall(runtime_dir=tmp_path, settings_dir=tmp_path, video_codec="video/AV1")
    alice = clients("alice")
    with pytest.raises(InputError, match="video/H264"):
        alice.sc.set_video_codec("video/AV1").result(RESULT)
