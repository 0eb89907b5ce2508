"""Track identity and fan-out in a real call: every reader of a remote track gets every frame."""

from __future__ import annotations

import asyncio

import av
import pytest
from aiortc.mediastreams import MediaStreamTrack

from streamcall_widget.engine.stamp import read_stamp, user_stamp
from streamcall_widget.engine.tracks import TrackRef
from streamcall_widget.errors import DoesNotExist
from streamcall_widget.protocol.models import TrackType

from .engine_helpers import RESULT, Clients, MediaProbe, ring_and_accept, session_of, wait_for


def test_two_readers_of_one_remote_track_both_get_every_frame(clients: Clients) -> None:
    """Two readers subscribed to alice's camera at bob (found by her participant's
    ``track_lookup_prefix``) get the same frames, in order, every one stamped by alice,
    while bob's frame hook goes on receiving them too."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    (alice_there,) = answered.remote_participants
    ref = TrackRef(alice_there.track_lookup_prefix, TrackType.VIDEO)  # the plugin's lookup
    assert ref.session_id == session_of(answered, "alice")
    wait_for(lambda: ref in answered.remote_streams, "alice's camera at bob")
    probe = MediaProbe().attach(answered)

    async def read_both() -> tuple[list[tuple[int | None, int | None]], ...]:
        readers = [answered.subscribe(ref), answered.subscribe(ref)]

        async def read(track: MediaStreamTrack) -> list[tuple[int | None, int | None]]:
            got = []
            for _ in range(40):
                frame = await track.recv()
                assert isinstance(frame, av.VideoFrame)
                got.append((frame.pts, read_stamp(frame.to_ndarray(format="rgb24"))))
            return got

        try:
            return tuple(await asyncio.gather(*(read(r) for r in readers)))
        finally:
            for reader in readers:
                reader.stop()

    first, second = bob.sc.engine.submit(read_both()).result(RESULT)
    assert first == second
    assert len({pts for pts, _ in first}) == 40  # 40 distinct frames, none skipped twice
    assert {stamp for _, stamp in first} == {user_stamp("alice")}
    probe.wait_stamp("alice", user_stamp("alice"))
    assert outgoing.remote_streams  # alice reads bob's tracks too


def test_remote_streams_name_each_track_by_session_and_type(clients: Clients) -> None:
    """A 1:1 call shows the other side's camera and microphone as TrackRefs; subscribing
    to a track nobody sends names the tracks that do arrive."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, _ = ring_and_accept(alice, bob)
    bob_session = session_of(outgoing, "bob")
    expected = {TrackRef(bob_session, TrackType.AUDIO), TrackRef(bob_session, TrackType.VIDEO)}
    wait_for(lambda: set(outgoing.remote_streams) == expected, "bob's two tracks at alice")

    async def subscribe_missing() -> None:
        outgoing.subscribe(TrackRef(bob_session, TrackType.SCREEN_SHARE))

    with pytest.raises(DoesNotExist, match="arriving now: "):
        alice.sc.engine.submit(subscribe_missing()).result(RESULT)
