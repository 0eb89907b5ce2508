"""Screen sharing between real clients: a second video track beside the camera.

Alice's synthetic camera stamps ``user_stamp("alice")`` into its pixels and her synthetic
screen ``user_stamp("alice") ^ SCREEN_STAMP_MASK``, so the receiver proves which of the two
each frame came from.
"""

from __future__ import annotations

import pytest

from streamcall_widget import Call, CallState
from streamcall_widget.engine.devices import SCREEN_STAMP_MASK, SYNTHETIC_SCREEN
from streamcall_widget.engine.stamp import user_stamp
from streamcall_widget.engine.tracks import TrackRef
from streamcall_widget.errors import InvalidState, NotAllowed
from streamcall_widget.protocol.call_types import Capability
from streamcall_widget.protocol.models import TrackType
from streamcall_widget.protocol.requests import UpdatePermissions

from .engine_helpers import (
    RESULT,
    Clients,
    MediaProbe,
    participant,
    ring_and_accept,
    session_of,
    wait_for,
    wait_stalled,
)

ALICE_SCREEN = user_stamp("alice") ^ SCREEN_STAMP_MASK


def screens(call: Call) -> MediaProbe:
    """A probe on ``call``'s remote screens (its ``video`` hooks get cameras only)."""
    probe = MediaProbe()
    call.on_remote_video(probe.video, track_type="screen_share")
    return probe


def test_camera_and_screen_arrive_at_once_each_told_by_its_stamp(clients: Clients) -> None:
    """Alice shares her screen: bob's camera hooks keep getting her camera, his screen
    hooks get her screen; both sides get the seed's events and see the track published."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    cameras, shared = MediaProbe().attach(answered), screens(answered)
    cameras.wait_stamp("alice", user_stamp("alice"))
    assert outgoing.has_screen_sharing is False

    outgoing.start_screen_share(SYNTHETIC_SCREEN.id).result(RESULT)
    shared.wait_stamp("alice", ALICE_SCREEN, frames=5)
    seen = len(cameras.stamps_of("alice"))
    wait_for(lambda: len(cameras.stamps_of("alice")) > seen + 10, "alice's camera meanwhile")
    assert set(cameras.stamps_of("alice")) == {user_stamp("alice")}
    assert set(shared.stamps_of("alice")) == {ALICE_SCREEN}
    assert outgoing.has_screen_sharing is True
    alice.wait_event(CallState.LOCAL_SHARE_CREATED, "alice")
    bob.wait_event(CallState.SCREEN_SHARE_CREATED, "alice")
    wait_for(
        lambda: (
            (p := participant(answered, "alice")) is not None
            and TrackType.SCREEN_SHARE in p.published_tracks
        ),
        "alice's screen share in her published tracks at bob",
    )
    alice_session = session_of(answered, "alice")
    assert TrackRef(alice_session, TrackType.SCREEN_SHARE) in answered.remote_streams
    local = {s.ref.track_type: s.source for s in outgoing.local_streams}
    assert local[TrackType.SCREEN_SHARE] == SYNTHETIC_SCREEN.id
    assert set(local) == {TrackType.AUDIO, TrackType.VIDEO, TrackType.SCREEN_SHARE}
    assert [(r.where, r.error) for r in alice.errors.items + bob.errors.items] == []


def test_sharing_starts_and_stops_twice_in_one_call(clients: Clients) -> None:
    """Each start brings the screen back, each stop ends it at the other side (events,
    published tracks, frames), and the camera flows throughout."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    cameras, shared = MediaProbe().attach(answered), screens(answered)
    alice_session = session_of(answered, "alice")
    screen = TrackRef(alice_session, TrackType.SCREEN_SHARE)
    for _ in range(2):
        alice.events.clear()
        bob.events.clear()
        outgoing.start_screen_share(SYNTHETIC_SCREEN.id).result(RESULT)
        seen = len(shared.stamps_of("alice"))
        wait_for(lambda: len(shared.stamps_of("alice")) > seen + 5, "alice's screen at bob")  # noqa: B023
        shared.wait_stamp("alice", ALICE_SCREEN)
        outgoing.stop_screen_share().result(RESULT)
        alice.wait_event(CallState.LOCAL_SHARE_CLOSED, "alice")
        bob.wait_event(CallState.SCREEN_SHARE_CLOSED, "alice")
        wait_for(lambda: screen not in answered.remote_streams, "the screen to end at bob")
        wait_stalled(lambda: len(shared.stamps_of("alice")), "alice's screen frames at bob")
        assert outgoing.has_screen_sharing is False
        found = participant(answered, "alice")
        assert found is not None
        assert TrackType.SCREEN_SHARE not in found.published_tracks
    cameras.wait_stamp("alice", user_stamp("alice"))
    with pytest.raises(InvalidState, match="no screen is shared"):
        outgoing.stop_screen_share().result(RESULT)
    assert [(r.where, r.error) for r in alice.errors.items + bob.errors.items] == []


def test_someone_joining_while_a_share_runs_sees_it(clients: Clients) -> None:
    """Carol joins a call where alice already shares: she gets alice's screen and camera,
    and sees the share in alice's published tracks."""
    alice, bob, carol = clients("alice"), clients("bob"), clients("carol")
    outgoing = alice.sc.call(["bob", "carol"], ring=False).result(RESULT)
    bob.sc.join_call(outgoing.id).result(RESULT)
    outgoing.start_screen_share().result(RESULT)  # no screen on this machine: synthetic
    joined = carol.sc.join_call(outgoing.id).result(RESULT)
    cameras, shared = MediaProbe().attach(joined), screens(joined)
    shared.wait_stamp("alice", ALICE_SCREEN)
    cameras.wait_stamp("alice", user_stamp("alice"))
    cameras.wait_stamp("bob", user_stamp("bob"))
    assert shared.stamps_of("bob") == []
    found = participant(joined, "alice")
    assert found is not None
    assert TrackType.SCREEN_SHARE in found.published_tracks


def test_sharing_needs_a_joined_call(clients: Clients) -> None:
    """A call still ringing cannot share: InvalidState names its phase."""
    alice, bob = clients("alice"), clients("bob")
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    bob.wait_incoming(outgoing.cid)
    with pytest.raises(InvalidState, match="is ringing; join it to send screen_share"):
        outgoing.start_screen_share().result(RESULT)


def test_sharing_needs_the_screenshare_capability(clients: Clients) -> None:
    """Alice (who may, in a ``development`` call) revokes bob's screenshare: his call
    learns it and refuses to share (NotAllowed); granted again, he shares."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob, type="development")

    def update(**change: list[Capability]) -> None:
        request = UpdatePermissions(id="", cid=outgoing.cid, user_id="bob", **change)
        alice.sc.engine.submit(alice.sc.request(request, type(None))).result(RESULT)

    update(revoke=[Capability.SCREENSHARE])
    wait_for(lambda: "screenshare" not in answered.own_capabilities, "bob's capability gone")
    with pytest.raises(NotAllowed, match="needs the screenshare capability"):
        answered.start_screen_share(SYNTHETIC_SCREEN.id).result(RESULT)
    assert answered.has_screen_sharing is False

    update(grant=[Capability.SCREENSHARE])
    wait_for(lambda: "screenshare" in answered.own_capabilities, "bob's capability back")
    answered.start_screen_share(SYNTHETIC_SCREEN.id).result(RESULT)
    screens(outgoing).wait_stamp("bob", user_stamp("bob") ^ SCREEN_STAMP_MASK)
