"""Hold and deaf: the wire rules of ``call.hold``, then real peers whose frames stop and
come back.

Frames are counted in ``on_remote_video``/``on_remote_audio`` hooks. "Stopped" means: after
a grace of :data:`GRACE` seconds (frames already in flight, decoded or queued for a hook,
may still land) not one new frame arrives during :data:`QUIET` seconds.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

import pytest

from streamcall_widget import Call, CallState, Participant
from streamcall_widget.engine.call_core import CallCore, Emit, HoldChanged
from streamcall_widget.engine.connection import ResumeTicket
from streamcall_widget.errors import DoesNotExist, InvalidArguments, InvalidState
from streamcall_widget.protocol import events as ev
from streamcall_widget.protocol.lifecycle import Direction

from .conftest import Login
from .engine_helpers import (
    RESULT,
    Clients,
    participant,
    peers,
    ring_and_accept,
    session_of,
    wait_for,
    wait_growing,
)
from .flows import alice_and_bob_joined, create, events_of, types
from .test_call_core import NOW, _joined_reply
from .test_engine_reconnect import _drop_connection

GRACE = 0.5
"""Seconds for frames already under way when media stops (sent, decoding, or queued for a
hook on a busy machine) to land."""
QUIET = 0.5
"""Seconds during which a stopped direction must deliver no frame at all."""


# -- the call core (no loop) ----------------------------------------------------------


def _hold_event(user_id: str, on_hold: bool) -> ev.ParticipantHold:
    return ev.ParticipantHold(
        cid="default:c1",
        created_at=NOW,
        session_id=f"s-{user_id}",
        user_id=user_id,
        on_hold=on_hold,
    )


def _bob_joined_with(*holding: str) -> CallCore:
    core = CallCore("default:c1", "bob", Direction.INCOMING)
    core.start_joining()
    reply = _joined_reply("bob", "alice", "bob")
    for p in reply.call.session.participants if reply.call.session else ():
        p.on_hold = p.user_id in holding
    core.joined(reply, 0.0)
    return core


def test_core_hold_of_another_is_a_note_and_a_gate_action() -> None:
    """alice's hold: bob's core marks her on_hold, emits held/unheld and asks to gate her
    link; bob's own echo changes the table only; the phase stays joined."""
    core = _bob_joined_with()
    actions = core.receive(_hold_event("alice", True))
    assert [type(a).__name__ for a in actions] == ["Emit", "HoldChanged"]
    assert isinstance(actions[0], Emit)
    assert (actions[0].event.state, actions[0].event.user_id) == (CallState.HELD, "alice")
    assert actions[1] == HoldChanged("s-alice", True)
    alice = core.participants.get("s-alice")
    assert alice is not None
    assert alice.on_hold
    assert core.receive(_hold_event("bob", True)) == []
    bob = core.participants.get("s-bob")
    assert bob is not None
    assert bob.on_hold
    unheld = core.receive(_hold_event("alice", False))
    assert isinstance(unheld[0], Emit)
    assert unheld[0].event.state is CallState.UNHELD
    assert core.phase is CallState.JOINED


def test_core_resume_tells_of_holds_that_changed_while_away() -> None:
    """A resume whose reply has alice on hold (she was not) emits held and a gate action."""
    core = _bob_joined_with()
    core.reconnecting("socket closed")
    reply = _joined_reply("bob", "alice", "bob")
    session = reply.call.session
    assert session is not None
    session.participants[0].on_hold = True
    actions = core.resumed(reply)
    states = [a.event.state for a in actions if isinstance(a, Emit)]
    assert states == [CallState.JOINED, CallState.HELD]
    assert HoldChanged("s-alice", True) in actions


# -- the coordinator's rules -----------------------------------------------------------


async def test_hold_is_recorded_on_the_participant_and_announced(login: Login) -> None:
    """call.hold marks the sender's participant on_hold (a late reader sees it) and every
    member gets call.participant_hold; holding twice announces nothing more."""
    alice, bob, _ = await alice_and_bob_joined(login, "c1")
    cid = "default:c1"
    await events_of(alice, bob)
    await alice.request("call.hold", cid=cid, on_hold=True)
    await alice.request("call.hold", cid=cid, on_hold=True)
    a, b = await events_of(alice, bob)
    assert types(a) == types(b) == ["call.participant_hold"]
    assert (b[0]["user_id"], b[0]["on_hold"]) == ("alice", True)
    call = await bob.request("call.get", cid=cid)
    holds = {p["user_id"]: p["on_hold"] for p in call["call"]["session"]["participants"]}
    assert holds == {"alice": True, "bob": False}
    await alice.request("call.hold", cid=cid, on_hold=False)
    a, b = await events_of(alice, bob)
    assert types(a) == types(b) == ["call.participant_hold"]
    assert b[0]["on_hold"] is False


async def test_hold_needs_a_joined_member(login: Login) -> None:
    """A member not joined gets INVALID_STATE; a stranger learns nothing of the call."""
    alice = await login("alice")
    dave = await login("dave")
    await create(alice, "c1", ["bob"])
    with pytest.raises(InvalidState, match="join default:c1"):
        await alice.request("call.hold", cid="default:c1", on_hold=True)
    with pytest.raises(DoesNotExist):
        await dave.request("call.hold", cid="default:c1", on_hold=True)
    await alice.request("call.join", cid="default:c1")
    with pytest.raises(DoesNotExist):
        await dave.request("call.hold", cid="default:c1", on_hold=True)


# -- real peers ------------------------------------------------------------------------


class FrameCounter:
    """Counts the remote frames one call's hooks get, by kind."""

    def __init__(self, call: Call) -> None:
        self._lock = threading.Lock()
        self._counts = {"video": 0, "audio": 0}
        call.on_remote_video(lambda _who, _rgb: self._add("video"))
        call.on_remote_audio(lambda _who, _samples: self._add("audio"))

    def _add(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] += 1

    def __call__(self, kind: str) -> int:
        with self._lock:
            return self._counts[kind]


def assert_no_new_frames(*counters: FrameCounter) -> None:
    """After :data:`GRACE`, no counter moves during :data:`QUIET`."""
    time.sleep(GRACE)
    before = [(c("video"), c("audio")) for c in counters]
    time.sleep(QUIET)
    assert [(c("video"), c("audio")) for c in counters] == before


def assert_frames_flow(*counters: FrameCounter) -> None:
    """Every counter grows, video and audio."""
    for counter in counters:
        for kind in ("video", "audio"):
            wait_growing(functools.partial(counter, kind), f"{kind} frames", by=5)


def sdps(call: Call) -> list[str]:
    """The local descriptions of the call's peer connections."""
    return [peer.pc.localDescription.sdp for peer in peers(call).values()]


def on_hold(call: Call, user_id: str) -> bool:
    """Whether ``user_id`` is on hold as ``call`` sees them."""
    found: Participant | None = participant(call, user_id)
    assert found is not None
    return found.on_hold


def test_hold_stops_media_both_ways_and_unhold_resumes(clients: Clients) -> None:
    """alice holds: bob sees her on hold, no frames flow either way and nothing is
    renegotiated; unholding brings both directions back; bob's toggle_hold works the same."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    cid = outgoing.id
    at_alice, at_bob = FrameCounter(outgoing), FrameCounter(answered)
    assert_frames_flow(at_alice, at_bob)
    described = (sdps(outgoing), sdps(answered))
    for client in (alice, bob):
        client.flush()
        client.events.clear()

    outgoing.hold().result(RESULT)
    bob.wait_event(CallState.HELD, "alice")
    assert outgoing.is_on_hold
    assert on_hold(answered, "alice")
    assert on_hold(outgoing, "alice")
    assert_no_new_frames(at_alice, at_bob)
    assert (sdps(outgoing), sdps(answered)) == described

    outgoing.unhold().result(RESULT)
    bob.wait_event(CallState.UNHELD, "alice")
    assert not outgoing.is_on_hold
    assert not on_hold(answered, "alice")
    assert_frames_flow(at_alice, at_bob)

    answered.toggle_hold().result(RESULT)
    alice.wait_event(CallState.HELD, "bob")
    assert answered.is_on_hold
    answered.toggle_hold().result(RESULT)
    alice.wait_event(CallState.UNHELD, "bob")
    for client in (alice, bob):
        client.flush()
    expected = [
        ("held", "alice", None),
        ("unheld", "alice", None),
        ("held", "bob", None),
        ("unheld", "bob", None),
    ]
    assert alice.triples(cid) == bob.triples(cid) == expected
    assert outgoing.state is answered.state is CallState.JOINED


def test_deaf_drops_remote_audio_but_sends_mine(clients: Clients) -> None:
    """While bob is deaf his audio hooks get nothing (video goes on) and alice still hears
    him; undeaf brings alice's audio back. Only bob gets deafened/undeafened."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    at_alice, at_bob = FrameCounter(outgoing), FrameCounter(answered)
    assert_frames_flow(at_alice, at_bob)
    for client in (alice, bob):
        client.flush()
        client.events.clear()

    answered.deaf().result(RESULT)
    assert answered.is_deaf
    time.sleep(GRACE)
    heard = at_bob("audio")
    wait_growing(lambda: at_bob("video"), "alice's video at deaf bob", by=10)
    wait_growing(lambda: at_alice("audio"), "deaf bob's audio at alice", by=10)
    assert at_bob("audio") == heard

    answered.undeaf().result(RESULT)
    wait_growing(lambda: at_bob("audio"), "alice's audio at bob again", by=5)
    for client in (alice, bob):
        client.flush()
    assert bob.triples(answered.id) == [("deafened", "bob", None), ("undeafened", "bob", None)]
    assert alice.triples(outgoing.id) == []


def test_hold_late_joiner_and_bad_input(clients: Clients) -> None:
    """Holding outside a joined call is InvalidState naming the phase; a non-bool is
    InvalidArguments; a late joiner sees the holder on hold and sends it nothing."""
    alice, bob, carol = clients("alice"), clients("bob"), clients("carol")
    ringing = alice.sc.call(["bob", "carol"], ring=True).result(RESULT)
    with pytest.raises(InvalidState, match="is ringing"):
        ringing.hold().result(RESULT)
    with pytest.raises(InvalidArguments, match="True or False"):
        ringing.hold("yes").result(RESULT)  # type: ignore[arg-type]
    assert ringing.deaf().result(RESULT) is not None  # deaf may be set before joining
    bob.wait_ringing(ringing.cid)
    answered = bob.sc.accept_call().result(RESULT)
    ringing.wait_until(CallState.JOINED).result(RESULT)
    answered.hold().result(RESULT)

    late = carol.sc.join_call(ringing.id).result(RESULT)
    assert on_hold(late, "bob")
    bob_session = session_of(late, "bob")

    def senders_to_bob() -> list[Any] | None:
        link = peers(late).get(bob_session)
        tracks = [t.sender.track for t in link.transceivers()] if link is not None else []
        placed = [track for track in tracks if track is not None]
        return placed if len(placed) == 2 else None

    tracks = wait_for(senders_to_bob, "carol's audio and video senders to bob")
    assert [track.enabled for track in tracks] == [False, False]

    answered.leave().result(RESULT)
    with pytest.raises(InvalidState, match="is left"):
        answered.unhold().result(RESULT)


def test_a_held_call_stays_held_across_a_rejoin(clients: Clients) -> None:
    """alice holds, her socket drops and the session cannot be resumed: she rejoins with a
    new session, which the engine puts on hold again, so bob sees the new one on hold."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    outgoing.hold().result(RESULT)
    old_session = outgoing.session_id
    assert alice.sc._conn is not None
    alice.sc._conn.resume_ticket = ResumeTicket("0" * 32, "not-a-token")

    _drop_connection(alice.sc, "alice")
    alice.wait_event(CallState.RECONNECTING)
    outgoing.wait_until(CallState.JOINED).result(RESULT)
    assert outgoing.session_id not in (None, old_session)

    def new_session_held() -> bool:
        found = participant(answered, "alice")
        return found is not None and found.session_id != old_session and found.on_hold

    wait_for(new_session_held, "alice's new session on hold at bob")
    assert outgoing.is_on_hold
    assert on_hold(outgoing, "alice")
