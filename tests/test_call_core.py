"""The call core with no event loop: each flow of docs/engine.md as an exact action sequence.

Built in the style of python-websockets' ``tests/test_protocol.py``: wire events go in,
the actions the engine must carry out come out, and every list is compared whole.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamcall_widget.engine.call_core import (
    Action,
    CallCore,
    Emit,
    Finish,
    ForwardSignal,
    JoinSession,
    PeerJoined,
    PeerLeft,
)
from streamcall_widget.errors import InvalidState
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol.call_types import RingSettings
from streamcall_widget.protocol.lifecycle import CallMember, CallState, Direction
from streamcall_widget.protocol.models import (
    CallData,
    CallResponse,
    CallSettingsData,
    MemberData,
    ParticipantData,
    RejectReason,
    SessionData,
    Signal,
    SignalKind,
    TrackType,
    UserData,
)

CID = "default:c1"
NOW = "2026-12-06T00:00:00.000Z"
ALICE, BOB, CAROL = (CallMember(u, u.title(), None, None) for u in ("alice", "bob", "carol"))


def _user(user_id: str) -> UserData:
    return UserData(id=user_id, name=user_id.title())


def _participant(user_id: str) -> ParticipantData:
    return ParticipantData(
        user_id=user_id, session_id=f"s-{user_id}", user=_user(user_id), joined_at=NOW
    )


def _call(*in_session: str) -> CallData:
    settings = CallSettingsData(
        video_enabled=True,
        backstage_enabled=False,
        ring=RingSettings(auto_cancel_timeout_ms=30_000, incoming_call_timeout_ms=30_000),
    )
    return CallData(
        cid=CID,
        id="c1",
        type="default",
        created_by=_user("alice"),
        created_at=NOW,
        updated_at=NOW,
        custom={"topic": "core"},
        settings=settings,
        backstage=False,
        session=SessionData(id="sess", participants=[_participant(u) for u in in_session]),
    )


def _joined_reply(me: str, *in_session: str) -> CallResponse:
    members = [MemberData(user_id=u, user=_user(u), role="call_member") for u in ("alice", "bob")]
    return CallResponse(
        call=_call(*in_session),
        members=members,
        own_capabilities=["send-audio", "send-video"],  # type: ignore[list-item]
        session_id=f"s-{me}",
    )


def _event(cls: type[ev.Event], **fields: Any) -> Any:
    return cls(cid=CID, created_at=NOW, **fields)


def _joined(user: str) -> ev.ParticipantJoined:
    return _event(ev.ParticipantJoined, session_id="sess", participant=_participant(user))  # type: ignore[no-any-return]


def _left(user: str, reason: str = "left") -> ev.ParticipantLeft:
    return _event(  # type: ignore[no-any-return]
        ev.ParticipantLeft, session_id="sess", participant=_participant(user), reason=reason
    )


def _says(actions: list[Action]) -> list[tuple[Any, ...]]:
    """Actions in a comparable form: callEvents as (state, user_id, reason, count), peers
    as ("connect" | "known", session) and ("drop", session, reason)."""
    said: list[tuple[Any, ...]] = []
    for action in actions:
        if isinstance(action, Emit):
            e = action.event
            said.append((e.state.value, e.user_id, e.reason, e.count))
        elif isinstance(action, PeerJoined):
            said.append(("connect" if action.connect else "known", action.participant.session_id))
        elif isinstance(action, PeerLeft):
            said.append(("drop", action.session_id, action.reason))
        else:
            said.append((action,))
    return said


def _alice_ringing_out() -> CallCore:
    core = CallCore(CID, "alice", Direction.OUTGOING, caller=ALICE, members=(ALICE, BOB))
    assert _says(core.ring()) == [("ringing", "alice", None, None)]
    return core


def _bob_rung() -> CallCore:
    core = CallCore(CID, "bob", Direction.INCOMING, caller=ALICE, members=(ALICE, BOB))
    assert _says(core.ring()) == [("ringing", "alice", None, None)]
    return core


def _in_call(me: str, *others: str) -> CallCore:
    core = CallCore(CID, me, Direction.JOINED)
    core.start_joining()
    core.joined(_joined_reply(me, me, *others), now=1.0)
    return core


def test_ring_then_accept_as_the_caller() -> None:
    """alice: ringing · created · accepted (bob) + join · joining · … · joined + connect bob."""
    alice = _alice_ringing_out()
    created = _event(ev.CallCreated, call=_call(), members=[])
    assert _says(alice.receive(created)) == [("created", "alice", None, None)]
    accepted = _event(ev.CallAccepted, call=_call(), user=_user("bob"))
    assert _says(alice.receive(accepted)) == [
        ("accepted", "bob", None, None),
        (JoinSession(),),
    ]
    assert _says(alice.start_joining()) == [("joining", "alice", None, None)]
    started = _event(ev.CallSessionStarted, call=_call("bob"), session_id="sess")
    assert _says(alice.receive(started)) == [("session_started", None, None, None)]
    assert _says(alice.receive(_joined("bob"))) == [
        ("known", "s-bob"),
        ("participant_counts", "bob", "joined", 1),
    ]
    assert _says(alice.joined(_joined_reply("alice", "bob", "alice"), now=5.0)) == [
        ("joined", "alice", None, None),
        ("connect", "s-bob"),
    ]
    assert _says(alice.receive(_joined("alice"))) == [("participant_counts", "alice", "joined", 2)]
    mic = _event(ev.TrackPublished, session_id="s-bob", user_id="bob", track_type=TrackType.AUDIO)
    assert _says(alice.receive(mic)) == [("microphone_enabled", "bob", None, None)]
    assert alice.phase is CallState.JOINED
    assert alice.joined_at == 5.0
    assert alice.own_capabilities == ("send-audio", "send-video")
    assert [(p.user_id, p.is_local) for p in alice.participants.all()] == [
        ("bob", False),
        ("alice", True),
    ]
    (bob,) = [p for p in alice.participants.all() if not p.is_local]
    assert bob.published_tracks == (TrackType.AUDIO,)


def test_ring_then_accept_as_the_callee_hides_our_own_echo() -> None:
    """bob's accept: the coordinator's call.accepted for bob is not emitted twice."""
    bob = _bob_rung()
    bob.accept_started()
    echo = _event(ev.CallAccepted, call=_call(), user=_user("bob"))
    assert bob.receive(echo) == []
    assert _says(bob.accepted()) == [("accepted", "bob", None, None)]
    assert _says(bob.start_joining()) == [("joining", "bob", None, None)]
    assert _says(bob.joined(_joined_reply("bob", "bob"), now=2.0)) == [
        ("joined", "bob", None, None)
    ]


def test_a_ring_accepted_by_another_callee_ends_ours() -> None:
    """carol, rung with bob: accepted (bob) · left (accepted_by_other) · finish."""
    carol = CallCore(CID, "carol", Direction.INCOMING, caller=ALICE, members=(ALICE, BOB, CAROL))
    carol.ring()
    accepted = _event(ev.CallAccepted, call=_call(), user=_user("bob"))
    assert _says(carol.receive(accepted)) == [
        ("accepted", "bob", None, None),
        ("left", "carol", "accepted_by_other", None),
        (Finish("accepted_by_other"),),
    ]


def test_accepted_on_another_device_ends_our_ring() -> None:
    """bob rung on two clients, accepting on the other: left (accepted_elsewhere)."""
    bob = _bob_rung()
    accepted = _event(ev.CallAccepted, call=_call(), user=_user("bob"))
    assert _says(bob.receive(accepted))[1:] == [
        ("left", "bob", "accepted_elsewhere", None),
        (Finish("accepted_elsewhere"),),
    ]


def test_decline_as_the_callee() -> None:
    """bob declines: rejected (bob, decline) · left (bob, decline) · finish."""
    bob = _bob_rung()
    rejected = _event(
        ev.CallRejected, call=_call(), user=_user("bob"), reason=RejectReason("decline")
    )
    assert _says(bob.receive(rejected)) == [
        ("rejected", "bob", "decline", None),
        ("left", "bob", "decline", None),
        (Finish("decline"),),
    ]


def test_cancel_as_the_caller() -> None:
    """alice cancels: rejected (alice) · missed (bob) · outgoing_call_ended · left · finish."""
    alice = _alice_ringing_out()
    cancel = RejectReason("cancel")
    rejected = _event(ev.CallRejected, call=_call(), user=_user("alice"), reason=cancel)
    missed = _event(ev.CallMissed, call=_call(), user=_user("bob"), reason=cancel)
    ended = _event(ev.CallEnded, call=_call(), reason="cancel")
    assert _says(alice.receive(rejected)) == [("rejected", "alice", "cancel", None)]
    assert _says(alice.receive(missed)) == [("missed", "bob", "cancel", None)]
    assert _says(alice.receive(ended)) == [
        ("outgoing_call_ended", None, "cancel", None),
        ("left", "alice", "cancel", None),
        (Finish("cancel"),),
    ]
    assert alice.finished


def test_end_of_a_joined_call() -> None:
    """bob ends the 1:1 call: alice gets ended (bob, ended) · left (alice, ended) · finish."""
    alice = _in_call("alice", "bob")
    ended = _event(ev.CallEnded, call=_call(), user=_user("bob"))
    assert _says(alice.receive(ended)) == [
        ("ended", "bob", "ended", None),
        ("left", "alice", "ended", None),
        (Finish("ended"),),
    ]


def test_leaving_emits_leaving_then_left_once() -> None:
    """leave: leaving · left (left) · finish; finishing again gives nothing."""
    bob = _in_call("bob", "alice", "carol")
    assert _says(bob.start_leaving()) == [("leaving", "bob", None, None)]
    assert _says(bob.finish("left")) == [("left", "bob", "left", None), (Finish("left"),)]
    assert bob.finish("left") == []


def test_leaving_without_a_session_names_the_phase() -> None:
    """start_leaving while ringing raises InvalidState naming 'ringing'."""
    with pytest.raises(InvalidState, match="ringing; nothing to leave"):
        _bob_rung().start_leaving()


def test_a_participant_leaving_disconnects_its_media() -> None:
    """carol leaves a call of three: disconnect her · participant_counts (carol, left, 2)."""
    alice = _in_call("alice", "bob", "carol")
    assert _says(alice.receive(_left("carol"))) == [
        ("drop", "s-carol", "left"),
        ("participant_counts", "carol", "left", 2),
    ]
    assert alice.remote_session_ids() == ["s-bob"]


def test_a_sharer_leaving_closes_the_share_first() -> None:
    """bob leaves while sharing: screen_share_closed (bob, left) · disconnect · counts."""
    alice = _in_call("alice", "bob")
    share = _event(
        ev.TrackPublished, session_id="s-bob", user_id="bob", track_type=TrackType.SCREEN_SHARE
    )
    assert _says(alice.receive(share)) == [("screen_share_created", "bob", None, None)]
    assert _says(alice.receive(_left("bob"))) == [
        ("screen_share_closed", "bob", "left", None),
        ("drop", "s-bob", "left"),
        ("participant_counts", "bob", "left", 1),
    ]


def test_our_own_session_replaced_ends_the_call_for_us() -> None:
    """Our session left (replaced): participant_counts · left (replaced) · finish."""
    bob = _in_call("bob", "alice")
    assert _says(bob.receive(_left("bob", "replaced"))) == [
        ("participant_counts", "bob", "replaced", 1),
        ("left", "bob", "replaced", None),
        (Finish("replaced"),),
    ]


def test_a_newcomer_is_connected_only_once_we_are_joined() -> None:
    """A participant joining while we are joining is only known; after joined, connected."""
    alice = CallCore(CID, "alice", Direction.JOINED)
    alice.start_joining()
    assert _says(alice.receive(_joined("bob")))[0] == ("known", "s-bob")
    alice.joined(_joined_reply("alice", "alice", "bob"), now=1.0)
    assert _says(alice.receive(_joined("carol")))[0] == ("connect", "s-carol")


def test_signals_reach_the_transport_only_in_session() -> None:
    """A signal before we join is dropped; once joined it is forwarded."""
    offer = Signal(kind=SignalKind.OFFER, sdp="v=0")
    signal = _event(
        ev.SignalReceived,
        session_id="s-alice",
        from_session_id="s-bob",
        from_user_id="bob",
        signal=offer,
    )
    early = CallCore(CID, "alice", Direction.JOINED)
    assert early.receive(signal) == []
    assert _in_call("alice", "bob").receive(signal) == [ForwardSignal("s-alice", "s-bob", offer)]


def test_our_own_track_events_are_not_emitted_again() -> None:
    """Our TrackPublished echo updates our participant but emits nothing."""
    alice = _in_call("alice", "bob")
    mine = _event(
        ev.TrackPublished, session_id="s-alice", user_id="alice", track_type=TrackType.VIDEO
    )
    assert alice.receive(mine) == []
    (me,) = [p for p in alice.participants.all() if p.is_local]
    assert me.published_tracks == (TrackType.VIDEO,)


def test_reconnect_then_rejoin_keeps_the_first_join_time() -> None:
    """reconnecting (why) · joined with a new session, peers again; joined_at kept."""
    bob = _in_call("bob", "alice")
    assert _says(bob.reconnecting("socket dropped")) == [
        ("reconnecting", "bob", "socket dropped", None)
    ]
    assert bob.join_failed(reconnecting_allowed=True) == []
    reply = _joined_reply("bob", "alice", "bob")
    assert _says(bob.joined(reply, now=9.0)) == [
        ("joined", "bob", None, None),
        ("connect", "s-alice"),
    ]
    assert bob.joined_at == 1.0
    assert bob.joined(reply, now=10.0) == []  # a second answer to a raced join


def test_a_resumed_session_keeps_its_peers_and_catches_up() -> None:
    """reconnecting · resumed with the same session: carol, who left while we were away, is
    dropped; dave, who came, is connected; alice's peer is kept; joined again."""
    bob = _in_call("bob", "alice", "carol")
    bob.reconnecting("dropped")
    now = _joined_reply("bob", "alice", "bob", "dave")
    assert _says(bob.resumed(now)) == [
        ("drop", "s-carol", "left"),
        ("joined", "bob", None, None),
        ("connect", "s-dave"),
    ]
    assert bob.session_id == "s-bob"
    assert bob.remote_session_ids() == ["s-alice", "s-dave"]
    assert bob.resumed(now) == []  # only a reconnecting call resumes


def test_a_failed_join_leaves_with_join_failed() -> None:
    """joining · left (join_failed) · finish."""
    carol = CallCore(CID, "carol", Direction.JOINED)
    assert _says(carol.start_joining()) == [("joining", "carol", None, None)]
    assert _says(carol.join_failed(reconnecting_allowed=True)) == [
        ("left", "carol", "join_failed", None),
        (Finish("join_failed"),),
    ]


def test_our_capabilities_follow_permission_updates() -> None:
    """call.permissions_updated for us replaces own_capabilities; for another user, not."""
    alice = _in_call("alice", "bob")
    ours = _event(ev.PermissionsUpdated, user_id="alice", own_capabilities=["send-audio"])
    theirs = _event(ev.PermissionsUpdated, user_id="bob", own_capabilities=[])
    alice.receive(ours)
    alice.receive(theirs)
    assert alice.own_capabilities == ("send-audio",)


def test_members_follow_added_and_removed() -> None:
    """member_added replaces or appends members; member_removed drops them."""
    alice = _in_call("alice", "bob")
    added = _event(
        ev.MemberAdded, members=[MemberData(user_id="carol", user=_user("carol"), role="host")]
    )
    alice.receive(added)
    assert [(m.user_id, m.role) for m in alice.lifecycle.members][-1] == ("carol", "host")
    alice.receive(_event(ev.MemberRemoved, user_ids=["bob"]))
    assert [m.user_id for m in alice.lifecycle.members] == ["alice", "carol"]
