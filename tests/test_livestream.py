"""Livestream with real peers: the creator hosts from backstage, goes live, two viewers
watch and send nothing."""

from __future__ import annotations

import time

import pytest

from streamcall_widget import CallState
from streamcall_widget.errors import InvalidState, NotAllowed
from streamcall_widget.protocol.models import TrackType

from .engine_helpers import RESULT, Clients, participant, wait_for, wait_growing
from .test_call_hold import FrameCounter

QUIET = 0.5
"""Seconds during which the host must get no frame from its viewers."""


def test_host_goes_live_and_viewers_only_watch(clients: Clients) -> None:
    """alice creates a livestream (she is its host: she joins backstage), bob (a member)
    and carol (anyone) join once it is live and get her video; they send nothing and get
    no error until bob is granted send-audio and turns his microphone on (then it reaches
    her); only the host goes live or back."""
    alice, bob, carol = clients("alice"), clients("bob"), clients("carol")
    host = alice.sc.call(["bob"], type="livestream", ring=False).result(RESULT)
    assert host.state is CallState.JOINED
    assert "join-backstage" in host.own_capabilities
    assert not host.is_live
    with pytest.raises(NotAllowed, match="join-backstage"):
        bob.sc.join_call(host.id, "livestream").result(RESULT)
    with pytest.raises(InvalidState, match="not live"):
        host.stop_live().result(RESULT)
    host.go_live().result(RESULT)
    assert host.is_live
    with pytest.raises(InvalidState, match="already live"):
        host.go_live().result(RESULT)
    at_host = FrameCounter(host)

    viewers = [c.sc.join_call(host.id, "livestream").result(RESULT) for c in (bob, carol)]
    for viewer in viewers:
        assert viewer.is_live
        assert "send-audio" not in viewer.own_capabilities
        assert viewer.local_streams != ()  # the devices are there, just not sent
        watched = FrameCounter(viewer)
        wait_growing(lambda counter=watched: counter("video"), "alice's video at a viewer")
        viewer_me = participant(viewer, viewer.user_id)
        assert viewer_me is not None
        assert viewer_me.published_tracks == ()
    with pytest.raises(NotAllowed, match="update-call"):
        viewers[0].stop_live().result(RESULT)
    with pytest.raises(NotAllowed, match="send-video"):
        bob.sc.set_camera_enabled(True).result(RESULT)
    wait_for(lambda: len(host.remote_participants) == 2, "both viewers at the host")
    time.sleep(QUIET)
    assert (at_host("video"), at_host("audio")) == (0, 0)
    assert host.remote_streams == ()

    host.grant_permissions("bob", ["send-audio"]).result(RESULT)  # bob may speak now
    wait_for(lambda: viewers[0].may_send(TrackType.AUDIO), "bob's grant")
    bob.sc.set_microphone_enabled(True).result(RESULT)  # joined as a viewer: it was off
    wait_growing(lambda: at_host("audio"), "bob's audio at the host once granted")
    assert at_host("video") == 0
    host.stop_live().result(RESULT)
    wait_for(lambda: not viewers[1].is_live, "carol to see the stream back in backstage")
    for client in (alice, bob, carol):
        assert client.errors.items == []
