"""Permissions with real peers: ask, grant and revoke send rights, and a revoke stopping the
media at both ends.

"Stopped" is as in :mod:`tests.test_call_hold`: after a grace of :data:`GRACE` seconds
(frames already decoded or queued for a hook may still land) not one new frame arrives
during :data:`QUIET` seconds.
"""

from __future__ import annotations

import time

import pytest

from streamcall_widget import CallState, PermissionRequestEvent, PermissionsUpdatedEvent
from streamcall_widget.errors import InvalidArguments, NotAllowed
from streamcall_widget.protocol.models import TrackType

from .conftest import Login
from .engine_helpers import (
    RESULT,
    Clients,
    Recorder,
    ring_and_accept,
    session_of,
    wait_growing,
)
from .flows import alice_and_bob_joined, create
from .test_call_hold import FrameCounter

GRACE = 0.2
"""Seconds for bob's audio frames already under way when his right goes to land."""
QUIET = 0.5
"""Seconds during which no audio frame of bob's may reach alice."""


async def test_participant_data_says_what_each_session_may_send(login: Login) -> None:
    """Every description of a participant lists its send capabilities, revokes included,
    so a session joining later gates as the others do; a creator listed as a plain member
    stays the host."""
    alice, _bob, _ = await alice_and_bob_joined(login, "c1")
    await alice.request(
        "call.update_permissions", cid="default:c1", user_id="bob", revoke=["send-video"]
    )
    described = await create(alice, "c1", ["carol"])
    sends = {
        p["user_id"]: p["send_capabilities"] for p in described["call"]["session"]["participants"]
    }
    assert sends == {
        "alice": ["screenshare", "send-audio", "send-video"],
        "bob": ["screenshare", "send-audio"],
    }
    dave = await login("dave")
    made = await dave.request(
        "call.get_or_create",
        call_type="livestream",
        call_id="show",
        members=[{"user_id": "dave"}, {"user_id": "erin"}],
    )
    roles = {m["user_id"]: m["role"] for m in made["members"]}
    assert roles == {"dave": "host", "erin": "call_member"}
    assert "join-backstage" in made["own_capabilities"]


def _audio_stays_stopped(count: FrameCounter) -> None:
    time.sleep(GRACE)
    before = count("audio")
    time.sleep(QUIET)
    assert count("audio") == before


async def _sender_ignores_revokes() -> None:
    """A misbehaving sender: keeps sending what it lost the right to."""


def test_revoke_stops_bobs_audio_at_both_ends_until_granted_again(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    """alice (host) takes bob's send-audio: alice hears nothing of bob even when bob's
    engine keeps sending (her engine drops it), bob's engine stops sending, bob's mic
    refuses to come on and is switched off; after a grant it stays off (nothing goes out)
    until bob turns it on. Requests reach the host only."""
    alice, bob = clients("alice"), clients("bob")
    asked: Recorder[PermissionRequestEvent] = Recorder()
    updates: Recorder[PermissionsUpdatedEvent] = Recorder()
    alice.sc.add_listener("permissionRequest", asked)
    bob.sc.add_listener("permissionsUpdated", updates)
    outgoing, answered = ring_and_accept(alice, bob)
    cid, bob_session = outgoing.cid, session_of(outgoing, "bob")
    at_alice = FrameCounter(outgoing)
    wait_growing(lambda: at_alice("audio"), "bob's audio at alice", by=10)

    with pytest.raises(InvalidArguments, match="allowed: screenshare, send-audio, send-video"):
        answered.request_permissions(["end-call"]).result(RESULT)
    with pytest.raises(InvalidArguments, match="list of capabilities"):
        answered.request_permissions("send-audio").result(RESULT)  # type: ignore[arg-type]
    with pytest.raises(NotAllowed, match="update-call-permissions"):
        answered.revoke_permissions("alice", ["send-audio"]).result(RESULT)
    answered.request_permissions(["send-video", "send-video"]).result(RESULT)
    assert asked.wait(lambda e: True, "bob's request") == PermissionRequestEvent(
        cid, "bob", ("send-video",), "bob"
    )

    # A sender that ignores the revoke: the receiver still drops what it sends.
    monkeypatch.setattr(answered, "_follow_own_rights", _sender_ignores_revokes)
    outgoing.revoke_permissions("bob", ["send-audio"]).result(RESULT)
    revoked = updates.wait(lambda e: "send-audio" not in e.capabilities, "bob's revoke")
    assert (revoked.cid, revoked.user_id) == (cid, "bob")
    _audio_stays_stopped(at_alice)
    assert "send-audio" not in answered.own_capabilities
    with pytest.raises(NotAllowed, match="send-audio right is missing or was revoked"):
        bob.sc.set_microphone_enabled(True).result(RESULT)

    outgoing.grant_permissions("bob", ["send-audio"]).result(RESULT)
    wait_growing(lambda: at_alice("audio"), "bob's audio at alice after the grant", by=10)
    monkeypatch.undo()

    # A well-behaved sender stops sending: alice's track from bob ends.
    updates.clear()
    outgoing.revoke_permissions("bob", ["send-audio"]).result(RESULT)
    updates.wait(lambda e: "send-audio" not in e.capabilities, "bob's second revoke")
    _audio_stays_stopped(at_alice)
    assert all(
        (ref.session_id, ref.track_type) != (bob_session, TrackType.AUDIO)
        for ref in outgoing.remote_streams
    )
    assert not bob.sc.is_microphone_enabled().result(RESULT).enabled
    outgoing.grant_permissions("bob", ["send-audio"]).result(RESULT)
    updates.wait(lambda e: "send-audio" in e.capabilities, "bob's grant")
    _audio_stays_stopped(at_alice)  # granted, bob's microphone is not live by itself
    assert "send-audio" in answered.own_capabilities
    assert not bob.sc.is_microphone_enabled().result(RESULT).enabled
    bob.sc.set_microphone_enabled(True).result(RESULT)
    wait_growing(lambda: at_alice("audio"), "bob's audio back at alice", by=10)

    # A revoked screenshare ends bob's share (with its note) and refuses a new one.
    answered.start_screen_share().result(RESULT)
    outgoing.revoke_permissions("bob", ["screenshare"]).result(RESULT)
    bob.wait_event(CallState.LOCAL_SHARE_CLOSED, "bob", answered.id)
    assert not answered.has_screen_sharing
    with pytest.raises(NotAllowed, match="screenshare capability"):
        answered.start_screen_share().result(RESULT)
    assert alice.errors.items == []
    assert bob.errors.items == []
