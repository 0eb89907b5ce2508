"""Call features over the wire: permissions, pins, recording, custom events, members,
backstage, tracks, presence and call-scoped tokens."""

from __future__ import annotations

import asyncio

import pytest

from streamcall_widget.coordinator import Coordinator, mint_token
from streamcall_widget.errors import DoesNotExist, InputError, InvalidState, NotAllowed

from .conftest import APP, FakeClock, Login
from .flows import alice_and_bob_joined, create, events_of, types
from .wsclient import WsClient


async def test_permission_request_grant_and_revoke(login: Login) -> None:
    """In an audio room send-audio is requested, granted (publish works), revoked (unpublished)."""
    alice = await login("alice")
    bob = await login("bob")
    cid = "audio_room:room"
    created = await create(alice, "room", ["bob"], call_type="audio_room")
    assert created["call"]["backstage"] is True
    await alice.request("call.go_live", cid=cid)
    await alice.request("call.join", cid=cid)
    joined = await bob.request("call.join", cid=cid)
    assert "send-audio" not in joined["own_capabilities"]
    await events_of(alice, bob)

    with pytest.raises(NotAllowed, match="send-audio"):
        await bob.request("call.publish_track", cid=cid, track_type="audio", published=True)
    with pytest.raises(InputError, match="end-call"):
        await bob.request("call.request_permissions", cid=cid, permissions=["end-call"])

    await bob.request("call.request_permissions", cid=cid, permissions=["send-audio"])
    a, b = await events_of(alice, bob)
    assert types(a) == ["call.permission_request"]
    assert a[0]["user"]["id"] == "bob"
    assert a[0]["permissions"] == ["send-audio"]
    assert b == []

    with pytest.raises(NotAllowed):
        await bob.request("call.update_permissions", cid=cid, user_id="bob", grant=["send-audio"])
    await alice.request("call.update_permissions", cid=cid, user_id="bob", grant=["send-audio"])
    for seen in await events_of(alice, bob):
        assert types(seen) == ["call.permissions_updated"]
        assert seen[0]["user_id"] == "bob"
        assert "send-audio" in seen[0]["own_capabilities"]

    await bob.request("call.publish_track", cid=cid, track_type="audio", published=True)
    for seen in await events_of(alice, bob):
        assert types(seen) == ["call.track_published"]
        assert (seen[0]["user_id"], seen[0]["track_type"]) == ("bob", "audio")

    await alice.request("call.update_permissions", cid=cid, user_id="bob", revoke=["send-audio"])
    for seen in await events_of(alice, bob):
        assert types(seen) == ["call.permissions_updated", "call.track_unpublished"]
        assert "send-audio" not in seen[0]["own_capabilities"]
        assert seen[1]["reason"] == "permission_revoked"
        assert (seen[1]["user_id"], seen[1]["track_type"]) == ("bob", "audio")
    with pytest.raises(NotAllowed):
        await bob.request("call.publish_track", cid=cid, track_type="audio", published=True)
    got = await alice.request("call.get", cid=cid)
    bob_p = [p for p in got["call"]["session"]["participants"] if p["user_id"] == "bob"]
    assert bob_p[0]["published_tracks"] == []


async def test_pin_and_unpin(login: Login) -> None:
    """The host pins and unpins bob's session for everyone; unknown sessions do not exist."""
    cid = "default:c1"
    alice, bob, session = await alice_and_bob_joined(login, "c1")
    await events_of(alice, bob)

    with pytest.raises(NotAllowed, match="pin-for-everyone"):
        await bob.request("call.pin", cid=cid, session_id=session, user_id="bob")
    with pytest.raises(DoesNotExist):
        await alice.request("call.pin", cid=cid, session_id="nope", user_id="bob")
    with pytest.raises(DoesNotExist):
        await alice.request("call.pin", cid=cid, session_id=session, user_id="alice")

    await alice.request("call.pin", cid=cid, session_id=session, user_id="bob")
    for seen in await events_of(alice, bob):
        assert types(seen) == ["call.pinned"]
        assert (seen[0]["session_id"], seen[0]["user_id"]) == (session, "bob")
    got = await bob.request("call.get", cid=cid)
    assert got["call"]["pins"] == [{"user_id": "bob", "session_id": session}]

    await alice.request("call.unpin", cid=cid, session_id=session, user_id="bob")
    for seen in await events_of(alice, bob):
        assert types(seen) == ["call.unpinned"]
        assert seen[0]["session_id"] == session
    assert (await bob.request("call.get", cid=cid))["call"]["pins"] == []
    with pytest.raises(DoesNotExist):
        await alice.request("call.unpin", cid=cid, session_id=session, user_id="bob")


async def test_pin_dropped_when_participant_leaves(login: Login) -> None:
    """A pinned session that leaves is no longer pinned."""
    cid = "default:c1"
    alice, bob, session = await alice_and_bob_joined(login, "c1")
    await alice.request("call.pin", cid=cid, session_id=session, user_id="bob")
    await bob.request("call.leave", cid=cid)
    assert (await alice.request("call.get", cid=cid))["call"]["pins"] == []


async def test_recording_start_stop(login: Login) -> None:
    """Recording start/stop emit their events; only a joined session records; starting
    twice or stopping idle is INVALID_STATE; the recorder leaving stops the recording."""
    alice = await login("alice")
    bob = await login("bob")
    cid = "default:c1"
    await create(alice, "c1", ["bob"])
    await events_of(alice, bob)
    with pytest.raises(NotAllowed, match="start-record-call"):
        await bob.request("call.start_recording", cid=cid)
    with pytest.raises(InvalidState, match="not recording"):
        await alice.request("call.stop_recording", cid=cid)
    with pytest.raises(InvalidState, match="join default:c1 before recording"):
        await alice.request("call.start_recording", cid=cid)
    await alice.request("call.join", cid=cid)
    await events_of(alice, bob)

    await alice.request("call.start_recording", cid=cid)
    for seen in await events_of(alice, bob):
        assert types(seen) == ["call.recording_started"]
    assert (await bob.request("call.get", cid=cid))["call"]["recording"] is True
    with pytest.raises(InvalidState, match="already recording"):
        await alice.request("call.start_recording", cid=cid)

    await alice.request("call.stop_recording", cid=cid)
    for seen in await events_of(alice, bob):
        assert types(seen) == ["call.recording_stopped"]
    assert (await bob.request("call.get", cid=cid))["call"]["recording"] is False

    await alice.request("call.start_recording", cid=cid)
    await events_of(alice, bob)
    await alice.request("call.leave", cid=cid)
    assert "call.recording_stopped" in types((await events_of(bob))[0])
    assert (await bob.request("call.get", cid=cid))["call"]["recording"] is False


async def test_custom_events_reach_members_only(login: Login) -> None:
    """A custom event reaches every member (sender included) and no one else."""
    alice = await login("alice")
    bob = await login("bob")
    dave = await login("dave")
    await create(alice, "c1", ["bob"])
    await events_of(alice, bob, dave)
    await bob.request("call.send_event", cid="default:c1", custom={"emoji": "wave", "n": 2})
    a, b, d = await events_of(alice, bob, dave)
    for seen in (a, b):
        assert types(seen) == ["custom"]
        assert seen[0]["custom"] == {"emoji": "wave", "n": 2}
        assert seen[0]["user"]["id"] == "bob"
    assert d == []
    with pytest.raises(DoesNotExist):
        await dave.request("call.send_event", cid="default:c1", custom={"x": 1})


async def test_update_custom_emits_call_updated(login: Login) -> None:
    """call.update by the host changes custom data and emits call.updated; a member may not."""
    alice = await login("alice")
    bob = await login("bob")
    cid = "default:c1"
    await create(alice, "c1", ["bob"], custom={"topic": "old"})
    await events_of(alice, bob)
    with pytest.raises(NotAllowed, match="update-call"):
        await bob.request("call.update", cid=cid, custom={"topic": "hijack"})
    reply = await alice.request("call.update", cid=cid, custom={"topic": "new"})
    assert reply["call"]["custom"] == {"topic": "new"}
    for seen in await events_of(alice, bob):
        assert types(seen) == ["call.updated"]
        assert seen[0]["call"]["custom"] == {"topic": "new"}


async def test_update_members_add_and_remove(login: Login) -> None:
    """Added members get call.member_added; a removed one gets call.member_removed, then nothing."""
    alice = await login("alice")
    bob = await login("bob")
    carol = await login("carol")
    cid = "default:c1"
    await create(alice, "c1", ["bob"])
    await events_of(alice, bob, carol)

    await alice.request("call.update_members", cid=cid, add=[{"user_id": "carol"}])
    for seen in await events_of(alice, bob, carol):
        assert types(seen) == ["call.member_added"]
        assert [m["user_id"] for m in seen[0]["members"]] == ["carol"]
        assert seen[0]["members"][0]["role"] == "call_member"
    await alice.request("call.join", cid=cid)
    await carol.request("call.join", cid=cid)
    await events_of(alice, bob, carol)

    await alice.request("call.update_members", cid=cid, remove=["carol"])
    a, b, c = await events_of(alice, bob, carol)
    for seen in (a, b):
        assert sorted(types(seen)) == ["call.member_removed", "call.session_participant_left"]
        (left,) = [e for e in seen if e["type"] == "call.session_participant_left"]
        assert (left["participant"]["user_id"], left["reason"]) == ("carol", "removed")
    # The removed member receives call.member_removed once more, then nothing at all.
    assert types(c).count("call.member_removed") == 1
    assert types(c)[-1] == "call.member_removed"
    assert c[-1]["user_ids"] == ["carol"]

    await alice.request("call.send_event", cid=cid, custom={"after": True})
    await alice.request("call.update", cid=cid, custom={"v": 2})
    a, b, c = await events_of(alice, bob, carol)
    assert types(a) == types(b) == ["custom", "call.updated"]
    assert c == []
    with pytest.raises(DoesNotExist):
        await carol.request("call.get", cid=cid)
    with pytest.raises(DoesNotExist, match="zed"):
        await alice.request("call.update_members", cid=cid, remove=["zed"])


async def test_livestream_backstage_then_live(login: Login) -> None:
    """A viewer cannot join a livestream while backstage, can after go_live; stop_live reverts."""
    alice = await login("alice")
    carol = await login("carol")
    cid = "livestream:show"
    created = await create(alice, "show", [], call_type="livestream")
    assert created["call"]["backstage"] is True
    with pytest.raises(NotAllowed, match="join-backstage"):
        await carol.request("call.join", cid=cid)
    await alice.request("call.join", cid=cid)
    await events_of(alice, carol)
    with pytest.raises(NotAllowed):
        await carol.request("call.go_live", cid=cid)

    live = await alice.request("call.go_live", cid=cid)
    assert live["call"]["backstage"] is False
    a, c = await events_of(alice, carol)
    assert types(a) == ["call.live_started", "call.updated"]
    assert c == []
    with pytest.raises(InvalidState, match="already live"):
        await alice.request("call.go_live", cid=cid)

    joined = await carol.request("call.join", cid=cid)
    assert [m["role"] for m in joined["members"] if m["user_id"] == "carol"] == ["user"]
    a, c = await events_of(alice, carol)
    assert types(a) == types(c) == ["call.member_added", "call.session_participant_joined"]
    with pytest.raises(NotAllowed):
        await carol.request("call.publish_track", cid=cid, track_type="video", published=True)

    back = await alice.request("call.stop_live", cid=cid)
    assert back["call"]["backstage"] is True
    with pytest.raises(InvalidState, match="not live"):
        await alice.request("call.stop_live", cid=cid)


async def test_track_publish_unpublish_on_mute(login: Login) -> None:
    """Unmute publishes a track, mute unpublishes it (reason muted); repeats emit nothing."""
    alice = await login("alice")
    bob = await login("bob")
    cid = "default:c1"
    await create(alice, "c1", ["bob"])
    with pytest.raises(InvalidState, match="join"):
        await bob.request("call.publish_track", cid=cid, track_type="video", published=True)
    await alice.request("call.join", cid=cid)
    session = (await bob.request("call.join", cid=cid))["session_id"]
    await events_of(alice, bob)

    await bob.request("call.publish_track", cid=cid, track_type="video", published=True)
    await bob.request("call.publish_track", cid=cid, track_type="video", published=True)
    for seen in await events_of(alice, bob):
        assert types(seen) == ["call.track_published"]
        assert seen[0]["session_id"] == session
        assert (seen[0]["user_id"], seen[0]["track_type"]) == ("bob", "video")
    got = await alice.request("call.get", cid=cid)
    tracks = {p["user_id"]: p["published_tracks"] for p in got["call"]["session"]["participants"]}
    assert tracks == {"alice": [], "bob": ["video"]}

    await bob.request("call.publish_track", cid=cid, track_type="video", published=False)
    await bob.request("call.publish_track", cid=cid, track_type="video", published=False)
    for seen in await events_of(alice, bob):
        assert types(seen) == ["call.track_unpublished"]
        assert seen[0]["reason"] == "muted"
        assert seen[0]["track_type"] == "video"


async def test_users_query_presence(login: Login) -> None:
    """users.query reports bob online while connected and offline once his socket closes."""
    alice = await login("alice", name="Alice")
    bob = await login("bob", name="Bob")
    result = await alice.request("users.query", user_ids=["bob", "alice", "ghost"])
    users = {u["id"]: u for u in result["users"]}
    assert set(users) == {"alice", "bob"}
    assert users["bob"]["online"] is True
    assert users["bob"]["name"] == "Bob"

    await bob.close()
    online = True
    for _ in range(500):
        (bob_now,) = (await alice.request("users.query", user_ids=["bob"]))["users"]
        online = bob_now["online"]
        if not online:
            break
        await asyncio.sleep(0.01)
    assert online is False


async def test_call_token_restricted_to_call_cids(
    login: Login, coordinator: Coordinator, clock: FakeClock
) -> None:
    """A token with call_cids reaches only those calls: others are hidden or refused."""
    alice = await login("alice")
    await create(alice, "c1", [])
    await create(alice, "c2", ["bob"])
    token = mint_token(APP.api_secret, "bob", call_cids=["default:c1"], now=clock())
    bob = await WsClient.login(coordinator.url, APP.api_key, token, "bob")
    try:
        got = await bob.request("call.get", cid="default:c1")
        assert "join-call" in got["own_capabilities"]
        with pytest.raises(DoesNotExist):
            await bob.request("call.get", cid="default:c2")
        with pytest.raises(NotAllowed, match="default:c1"):
            await create(bob, "c3", [])
        with pytest.raises(NotAllowed):
            await create(bob, "c2", [])
        listed = await bob.request("calls.query")
        assert [c["call"]["cid"] for c in listed["calls"]] == ["default:c1"]
        joined = await bob.request("call.join", cid="default:c1")
        assert joined["session_id"]
        # Joining must not demote the call-scoped user below the access the token gave.
        assert "send-audio" in joined["own_capabilities"]
        await bob.request(
            "call.publish_track", cid="default:c1", track_type="audio", published=True
        )
        again = await bob.request("call.get", cid="default:c1")
        assert "join-call" in again["own_capabilities"]
    finally:
        await bob.close()


async def test_unpin_must_name_the_pinned_user(login: Login) -> None:
    """call.unpin with another user than the pinned one is refused; the right one is announced."""
    alice, bob, bob_session = await alice_and_bob_joined(login, "pins2")
    await alice.request("call.pin", cid="default:pins2", session_id=bob_session, user_id="bob")
    with pytest.raises(DoesNotExist):
        await alice.request(
            "call.unpin", cid="default:pins2", session_id=bob_session, user_id="alice"
        )
    await alice.request("call.unpin", cid="default:pins2", session_id=bob_session, user_id="bob")
    unpinned = await bob.next_event("call.unpinned")
    assert (unpinned["user_id"], unpinned["session_id"]) == ("bob", bob_session)


async def test_signal_before_joining_is_invalid_state(login: Login) -> None:
    """A member who has not joined cannot signal: INVALID_STATE, like leave and publish."""
    alice = await login("alice")
    bob = await login("bob")
    await create(alice, "nosig", ["bob"])
    bob_session = (await bob.request("call.join", cid="default:nosig"))["session_id"]
    with pytest.raises(InvalidState):
        await alice.request(
            "call.signal",
            cid="default:nosig",
            session_id=bob_session,
            signal={"kind": "offer", "sdp": "v=0"},
        )
