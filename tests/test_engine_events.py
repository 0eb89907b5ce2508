"""The callEvents each ``StreamCall`` client emits, and how bad calls to it fail.

Sequences are compared as (state, user_id, reason) per client. A client's events reach its
listeners in the order the client handled them; where two clients act at once (the caller
joins while the callee does) only what one client orders by itself is compared exactly,
e.g. its phase changes. ``Client.flush`` makes sure nothing already sent is still in flight
before a sequence is compared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from streamcall_widget import CallEvent, CallMember, CallState, StreamCall
from streamcall_widget.engine.results import ErrorReport
from streamcall_widget.errors import DeviceError, DoesNotExist, InputError, InvalidState

from .engine_helpers import (
    RESULT,
    Client,
    Clients,
    Recorder,
    participant,
    ring_and_accept,
    session_of,
)


def left_and_flushed(*clients: Client, call_id: str) -> None:
    """Wait until each client has left ``call_id``, then flush each."""
    for client in clients:
        client.wait_event(CallState.LEFT, client.user_id, call_id)
    for client in clients:
        client.flush()


# -- ring outcomes ---------------------------------------------------------------------


def test_accept_phases_and_events(clients: Clients) -> None:
    """Accept: both go ringing -> joining -> joined; both see accepted(bob) once and each
    other's camera and microphone."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, _ = ring_and_accept(alice, bob)
    cid = outgoing.id
    session_of(outgoing, "bob")
    alice.wait_event(CallState.CAMERA_ENABLED, "bob")
    bob.wait_event(CallState.CAMERA_ENABLED, "alice")
    alice.flush()
    bob.flush()

    assert alice.phases(cid) == [
        ("ringing", "alice", None),
        ("joining", "alice", None),
        ("joined", "alice", None),
    ]
    assert bob.phases(cid) == [
        ("ringing", "alice", None),
        ("joining", "bob", None),
        ("joined", "bob", None),
    ]
    # Up to joining each client orders its events by itself; after that the two joins race.
    assert alice.triples(cid)[:4] == [
        ("ringing", "alice", None),
        ("created", "alice", None),
        ("accepted", "bob", None),
        ("joining", "alice", None),
    ]
    assert bob.triples(cid)[:4] == [
        ("created", "alice", None),
        ("ringing", "alice", None),
        ("accepted", "bob", None),
        ("joining", "bob", None),
    ]
    for client, other in ((alice, "bob"), (bob, "alice")):
        seen = client.triples(cid)
        assert seen.count(("accepted", "bob", None)) == 1
        assert seen.count(("session_started", None, None)) == 1
        assert seen.count(("created", "alice", None)) == 1
        media = [t for t in seen if t[0].endswith(("_enabled", "_disabled"))]
        assert sorted(media) == [
            ("camera_enabled", other, None),
            ("microphone_enabled", other, None),
        ]
        counts = [e for e in client.events.items if e.state is CallState.PARTICIPANT_COUNTS]
        assert sorted((e.user_id, e.reason) for e in counts) == [
            ("alice", "joined"),
            ("bob", "joined"),
        ]
        assert counts[-1].count == 2
        status = client.sc.get_call_status().result(RESULT)
        assert (status.call_id, status.state, status.count) == (cid, CallState.JOINED, 2)


def test_decline_sequences(clients: Clients) -> None:
    """Decline: the caller's ring ends (outgoing_call_ended); the callee leaves at once."""
    alice, bob = clients("alice"), clients("bob")
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    bob.sc.reject_call().result(RESULT)
    left_and_flushed(alice, bob, call_id=outgoing.id)

    assert alice.triples() == [
        ("ringing", "alice", None),
        ("created", "alice", None),
        ("rejected", "bob", "decline"),
        ("outgoing_call_ended", None, "decline"),
        ("left", "alice", "decline"),
    ]
    assert bob.triples() == [
        ("created", "alice", None),
        ("ringing", "alice", None),
        ("rejected", "bob", "decline"),
        ("left", "bob", "decline"),
    ]
    assert outgoing.state is CallState.LEFT
    assert alice.sc.get_call_status().result(RESULT).state is CallState.IDLE
    assert bob.sc.get_ringing_call().result(RESULT) is None


def test_reject_as_busy_sequences(clients: Clients) -> None:
    """Rejecting with reason busy: the same flow as decline, with reason busy."""
    alice, bob = clients("alice"), clients("bob")
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    bob.sc.reject_call("busy", outgoing.cid).result(RESULT)
    left_and_flushed(alice, bob, call_id=outgoing.id)

    assert alice.triples()[2:] == [
        ("rejected", "bob", "busy"),
        ("outgoing_call_ended", None, "busy"),
        ("left", "alice", "busy"),
    ]
    assert bob.triples()[2:] == [
        ("rejected", "bob", "busy"),
        ("left", "bob", "busy"),
    ]


def test_cancel_while_ringing_sequences(clients: Clients) -> None:
    """end_call while ringing cancels: caller sees outgoing_call_ended, callee is missed."""
    alice, bob = clients("alice"), clients("bob")
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    alice.sc.end_call().result(RESULT)
    left_and_flushed(alice, bob, call_id=outgoing.id)

    assert alice.triples() == [
        ("ringing", "alice", None),
        ("created", "alice", None),
        ("rejected", "alice", "cancel"),
        ("missed", "bob", "cancel"),
        ("outgoing_call_ended", None, "cancel"),
        ("left", "alice", "cancel"),
    ]
    assert bob.triples() == [
        ("created", "alice", None),
        ("ringing", "alice", None),
        ("rejected", "alice", "cancel"),
        ("missed", "bob", "cancel"),
        ("left", "bob", "cancel"),
    ]
    assert bob.sc.get_ringing_call().result(RESULT) is None
    with pytest.raises(InvalidState):
        bob.sc.accept_call(outgoing.cid).result(RESULT)


def test_busy_callee_is_missed_at_once(clients: Clients) -> None:
    """Ringing carol while she is joined elsewhere: missed(carol, busy) and the ring ends;
    carol is not rung. (StreamCall.call cannot set ring timeouts, so busy is the only
    missed reason a client can provoke quickly.)"""
    alice, carol, dave = clients("alice"), clients("carol"), clients("dave")
    other = dave.sc.call(["carol"], ring=False).result(RESULT)
    carol.sc.join_call(other.id).result(RESULT)
    carol.flush()
    carol.events.clear()

    outgoing = alice.sc.call(["carol"]).result(RESULT)
    left_and_flushed(alice, call_id=outgoing.id)
    carol.flush()

    assert alice.triples() == [
        ("ringing", "alice", None),
        ("created", "alice", None),
        ("missed", "carol", "busy"),
        ("outgoing_call_ended", None, "busy"),
        ("left", "alice", "busy"),
    ]
    assert carol.triples(outgoing.id) == [("created", "alice", None)]
    assert carol.incoming.items == []
    assert outgoing.state is CallState.LEFT
    assert carol.sc.get_call_status().result(RESULT).call_id == other.id


def test_accepted_elsewhere_ends_the_other_callees_ring(clients: Clients) -> None:
    """Bob accepting a ring to bob and carol makes carol's ring leave; she cannot accept."""
    alice, bob, carol = clients("alice"), clients("bob"), clients("carol")
    outgoing = alice.sc.call(["bob", "carol"]).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    carol.wait_ringing(outgoing.cid)
    bob.sc.accept_call().result(RESULT)
    carol.wait_event(CallState.LEFT, "carol")
    carol.flush()

    assert carol.triples() == [
        ("created", "alice", None),
        ("ringing", "alice", None),
        ("accepted", "bob", None),
        ("left", "carol", "accepted_by_other"),
    ]
    assert carol.sc.get_ringing_call().result(RESULT) is None
    with pytest.raises(InvalidState, match="not ringing"):
        carol.sc.accept_call().result(RESULT)
    outgoing.wait_until(CallState.JOINED).result(RESULT)


@pytest.mark.parametrize("ender", ["alice", "bob"])
def test_end_call_ends_a_one_to_one_call_for_both(clients: Clients, ender: str) -> None:
    """end_call in a joined 1:1 call (caller or callee): both see ended(ender) then left."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, _ = ring_and_accept(alice, bob)
    for client, other in ((alice, "bob"), (bob, "alice")):
        client.wait_event(CallState.CAMERA_ENABLED, other)
        client.flush()
        client.events.clear()

    (alice if ender == "alice" else bob).sc.end_call().result(RESULT)
    left_and_flushed(alice, bob, call_id=outgoing.id)

    assert alice.triples() == [("ended", ender, "ended"), ("left", "alice", "ended")]
    assert bob.triples() == [("ended", ender, "ended"), ("left", "bob", "ended")]
    for client in (alice, bob):
        assert client.sc.get_call_status().result(RESULT).state is CallState.IDLE
    info = alice.sc.get_call_info(outgoing.id).result(RESULT)
    assert info.state is CallState.ENDED


def test_end_call_in_a_group_call_only_leaves(clients: Clients) -> None:
    """In a call of three, end_call leaves: the others see the count drop and stay joined."""
    alice, bob, carol = clients("alice"), clients("bob"), clients("carol")
    outgoing = alice.sc.call(["bob", "carol"]).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    bob.sc.accept_call().result(RESULT)
    outgoing.wait_until(CallState.JOINED).result(RESULT)
    joined = carol.sc.join_call(outgoing.id).result(RESULT)
    for client in (alice, bob, carol):
        client.events.wait(
            lambda e: e.state is CallState.PARTICIPANT_COUNTS and e.count == 3,
            f"{client.user_id} to count three participants",
        )
        client.flush()
        client.events.clear()

    bob.sc.end_call().result(RESULT)
    left_and_flushed(bob, call_id=outgoing.id)
    for client in (alice, carol):
        client.wait_event(CallState.PARTICIPANT_COUNTS, "bob")
        client.flush()

    assert bob.triples() == [("leaving", "bob", None), ("left", "bob", "left")]
    for client in (alice, carol):
        assert client.triples() == [("participant_counts", "bob", "left")]
        assert client.events.items[0].count == 2
    assert outgoing.state is CallState.JOINED
    assert joined.state is CallState.JOINED
    assert sorted(p.user_id for p in outgoing.participants) == ["alice", "carol"]


def test_logout_hangs_up_a_one_to_one_call(clients: Clients) -> None:
    """Logging out of a joined 1:1 call ends it: alice sees ended(bob) then left; bob left."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob)
    for client, other in ((alice, "bob"), (bob, "alice")):
        client.wait_event(CallState.CAMERA_ENABLED, other)
        client.flush()
        client.events.clear()

    bob.sc.logout().result(RESULT)
    left_and_flushed(alice, call_id=outgoing.id)
    bob.flush()

    assert bob.triples() == [("left", "bob", "logout")]
    assert alice.triples() == [("ended", "bob", "ended"), ("left", "alice", "ended")]
    assert answered.state is CallState.LEFT
    assert outgoing.state is CallState.LEFT
    assert bob.sc.get_current_user().result(RESULT).is_logged_in is False


def test_logout_while_ringing_out_cancels_the_ring(clients: Clients) -> None:
    """The caller logging out while ringing cancels: bob's ring is missed (cancel)."""
    alice, bob = clients("alice"), clients("bob")
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    alice.sc.logout().result(RESULT)
    left_and_flushed(bob, call_id=outgoing.id)
    alice.flush()

    assert alice.triples() == [
        ("ringing", "alice", None),
        ("created", "alice", None),
        ("left", "alice", "logout"),
    ]
    assert bob.triples() == [
        ("created", "alice", None),
        ("ringing", "alice", None),
        ("rejected", "alice", "cancel"),
        ("missed", "bob", "cancel"),
        ("left", "bob", "cancel"),
    ]


def test_logout_while_rung_drops_the_ring_without_rejecting(clients: Clients) -> None:
    """A callee logging out leaves the ring locally; the caller goes on ringing."""
    alice, bob = clients("alice"), clients("bob")
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    bob.sc.logout().result(RESULT)
    bob.flush()
    alice.flush()

    assert bob.triples() == [
        ("created", "alice", None),
        ("ringing", "alice", None),
        ("left", "bob", "logout"),
    ]
    assert alice.triples() == [("ringing", "alice", None), ("created", "alice", None)]
    assert alice.sc.get_call_status().result(RESULT).state is CallState.RINGING
    assert outgoing.state is CallState.RINGING


def test_incoming_call_payload(clients: Clients) -> None:
    """incomingCall carries the cid, the caller (id and name), custom data and video."""
    alice, bob = clients("alice", name="Alice"), clients("bob", name="Bob")
    outgoing = alice.sc.call(["bob"], video=False, custom={"topic": "standup"}).result(RESULT)
    incoming = bob.wait_incoming(outgoing.cid)

    assert incoming.cid == outgoing.cid == f"default:{outgoing.id}"
    assert incoming.caller == CallMember(user_id="alice", name="Alice")
    assert incoming.custom == {"topic": "standup"}
    assert incoming.type == "incoming"
    assert incoming.video is False
    ringing = bob.wait_event(CallState.RINGING)
    assert ringing.caller == incoming.caller
    assert sorted(m.user_id for m in ringing.members) == ["alice", "bob"]
    assert ringing.custom == {"topic": "standup"}
    assert ringing.call_id == outgoing.id
    assert ringing.call_type == "default"
    info = bob.sc.get_call_info(outgoing.id).result(RESULT)
    assert info.state is CallState.RINGING
    assert info.caller is not None
    assert info.caller.user_id == "alice"
    status = bob.sc.get_call_status().result(RESULT)
    assert (status.call_id, status.state) == (outgoing.id, CallState.RINGING)


def test_audio_ring_is_audio_only_on_both_sides(clients: Clients) -> None:
    """call(video=False) turns the caller's camera off (camera_disabled), and accepting that
    ring turns the callee's off too: each side publishes audio only."""
    alice, bob = clients("alice"), clients("bob")
    outgoing, answered = ring_and_accept(alice, bob, video=False)
    alice.wait_event(CallState.MICROPHONE_ENABLED, "bob")
    bob.wait_event(CallState.MICROPHONE_ENABLED, "alice")
    alice.flush()
    bob.flush()

    for client, call, other in ((alice, outgoing, "bob"), (bob, answered, "alice")):
        assert client.sc.is_camera_enabled().result(RESULT).enabled is False
        cameras = [t for t in client.triples() if t[0].startswith("camera_")]
        assert cameras == [("camera_disabled", client.user_id, None)]
        found = participant(call, other)
        assert found is not None
        assert [str(t) for t in found.published_tracks] == ["audio"]
    assert outgoing.state is CallState.JOINED


def test_group_decline_leaves_only_the_decliner(clients: Clients) -> None:
    """In a ring to bob and carol, bob declining leaves bob's ring only; when carol declines
    too the ring ends for alice."""
    alice, bob, carol = clients("alice"), clients("bob"), clients("carol")
    outgoing = alice.sc.call(["bob", "carol"]).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    carol.wait_ringing(outgoing.cid)
    bob.sc.reject_call().result(RESULT)
    left_and_flushed(bob, call_id=outgoing.id)
    alice.flush()
    carol.flush()

    assert bob.triples()[2:] == [("rejected", "bob", "decline"), ("left", "bob", "decline")]
    assert alice.triples()[2:] == [("rejected", "bob", "decline")]
    assert carol.triples()[2:] == [("rejected", "bob", "decline")]
    assert outgoing.state is CallState.RINGING

    carol.sc.reject_call().result(RESULT)
    left_and_flushed(alice, carol, call_id=outgoing.id)
    bob.flush()
    assert alice.triples()[3:] == [
        ("rejected", "carol", "decline"),
        ("outgoing_call_ended", None, "decline"),
        ("left", "alice", "decline"),
    ]
    assert carol.triples()[3:] == [("rejected", "carol", "decline"), ("left", "carol", "decline")]
    assert len(bob.triples()) == 4


def test_call_without_ring_joins_at_once_and_end_call_ends_it(clients: Clients) -> None:
    """ring=False: the caller joins alone (bob only sees created); end_call ends the call."""
    alice, bob = clients("alice"), clients("bob")
    outgoing = alice.sc.call(["bob"], ring=False).result(RESULT)
    assert outgoing.state is CallState.JOINED
    assert [p.user_id for p in outgoing.participants] == ["alice"]
    alice.wait_event(CallState.PARTICIPANT_COUNTS, "alice")
    alice.sc.end_call().result(RESULT)
    left_and_flushed(alice, call_id=outgoing.id)
    bob.flush()

    assert alice.triples() == [
        ("joining", "alice", None),
        ("created", "alice", None),
        ("joined", "alice", None),
        ("session_started", None, None),
        ("participant_counts", "alice", "joined"),
        ("ended", "alice", "ended"),
        ("left", "alice", "ended"),
    ]
    assert bob.triples() == [("created", "alice", None)]
    assert bob.incoming.items == []


def test_join_unknown_call_fails_and_leaves_nothing_behind(clients: Clients) -> None:
    """join_call of a call that does not exist raises DoesNotExist; the client is idle."""
    alice = clients("alice")
    with pytest.raises(DoesNotExist):
        alice.sc.join_call("nope").result(RESULT)
    with pytest.raises(DoesNotExist):
        alice.sc.get_call_info("nope").result(RESULT)
    alice.flush()
    assert alice.triples() == [("joining", "alice", None), ("left", "alice", "join_failed")]
    assert alice.sc.get_call_status().result(RESULT).state is CallState.IDLE
    assert alice.sc.call(["bob"], ring=False).result(RESULT).state is CallState.JOINED


def test_query_calls_pages_through_the_users_calls(clients: Clients) -> None:
    """query_calls finds the calls alice made, one page at a time, with a cursor."""
    alice, bob = clients("alice"), clients("bob")
    made = []
    for _ in range(2):
        outgoing = alice.sc.call(["bob"]).result(RESULT)
        bob.wait_ringing(outgoing.cid)
        alice.sc.end_call().result(RESULT)
        alice.wait_event(CallState.LEFT, "alice", outgoing.id)
        made.append(outgoing.cid)
    found = []
    page = alice.sc.query_calls({"created_by": "alice"}, sort=[("created_at", -1)], limit=1)
    first = page.result(RESULT)
    assert len(first.calls) == 1
    assert first.next is not None
    found.append(first.calls[0].cid)
    second = alice.sc.query_calls(
        {"created_by": "alice"}, sort=[("created_at", -1)], limit=1, next=first.next
    ).result(RESULT)
    found += [c.cid for c in second.calls]
    assert sorted(found) == sorted(made)
    assert all(c.ended_at is not None for c in (*first.calls, *second.calls))
    none = bob.sc.query_calls({"created_by": "bob"}).result(RESULT)
    assert (none.calls, none.next) == ((), None)


def test_call_turning_the_camera_back_on_tells_the_listeners(clients: Clients) -> None:
    """A video call() made with the camera off turns it on, and says so with camera_enabled."""
    alice, bob = clients("alice"), clients("bob")
    alice.sc.set_camera_enabled(False).result(RESULT)
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    alice.flush()

    assert alice.sc.is_camera_enabled().result(RESULT).enabled is True
    cameras = [t for t in alice.triples() if t[0].startswith("camera_")]
    assert cameras == [("camera_disabled", "alice", None), ("camera_enabled", "alice", None)]


def test_hanging_up_right_after_joining_reports_no_errors(clients: Clients) -> None:
    """Ending a call while peers are still negotiating is a normal hang-up: no error events."""
    alice, bob = clients("alice"), clients("bob")
    for _ in range(8):
        outgoing, _ = ring_and_accept(alice, bob)
        alice.sc.end_call().result(RESULT)
        left_and_flushed(alice, bob, call_id=outgoing.id)
    for client in (alice, bob):
        client.sc.call(["carol"], ring=False).result(RESULT)  # a round trip after the last
        client.sc.end_call().result(RESULT)
        client.flush()
    assert [(r.where, r.error) for r in alice.errors.items] == []
    assert [(r.where, r.error) for r in bob.errors.items] == []


# -- bad input -------------------------------------------------------------------------


def test_call_needs_another_user(clients: Clients) -> None:
    """call() with nobody, with only yourself, or with a bare string is an InputError."""
    alice = clients("alice")
    with pytest.raises(InputError, match="at least one other user"):
        alice.sc.call([]).result(RESULT)
    with pytest.raises(InputError, match="yourself"):
        alice.sc.call(["alice"]).result(RESULT)
    with pytest.raises(InputError, match="list"):
        alice.sc.call("bob").result(RESULT)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="list"):
        alice.sc.call([""]).result(RESULT)
    assert alice.sc.get_call_status().result(RESULT).state is CallState.IDLE


def test_answering_with_nothing_ringing_is_invalid_state(clients: Clients) -> None:
    """accept_call, reject_call and end_call with nothing to act on raise InvalidState."""
    alice = clients("alice")
    with pytest.raises(InvalidState, match="nothing to accept"):
        alice.sc.accept_call().result(RESULT)
    with pytest.raises(InvalidState, match="nothing to reject"):
        alice.sc.reject_call().result(RESULT)
    with pytest.raises(InvalidState, match="no call to end"):
        alice.sc.end_call().result(RESULT)
    with pytest.raises(InvalidState, match="nothing to accept"):
        alice.sc.accept_call("default:nope").result(RESULT)


def test_second_call_while_in_one_is_invalid_state(clients: Clients) -> None:
    """While ringing out or joined, call() and join_call() raise InvalidState naming end_call."""
    alice, bob = clients("alice"), clients("bob")
    clients("carol")
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    with pytest.raises(InvalidState, match="end_call"):
        alice.sc.call(["carol"]).result(RESULT)
    with pytest.raises(InvalidState, match="end_call"):
        alice.sc.join_call("elsewhere").result(RESULT)
    bob.wait_ringing(outgoing.cid)
    bob.sc.accept_call().result(RESULT)
    outgoing.wait_until(CallState.JOINED).result(RESULT)
    with pytest.raises(InvalidState, match="end_call"):
        alice.sc.call(["carol"]).result(RESULT)
    with pytest.raises(InvalidState, match="end_call"):
        bob.sc.call(["carol"]).result(RESULT)
    assert outgoing.state is CallState.JOINED


BEFORE_LOGIN: dict[str, Callable[[StreamCall], Any]] = {
    "call": lambda sc: sc.call(["bob"]),
    "accept_call": lambda sc: sc.accept_call(),
    "reject_call": lambda sc: sc.reject_call(),
    "end_call": lambda sc: sc.end_call(),
    "join_call": lambda sc: sc.join_call("c1"),
    "get_call_info": lambda sc: sc.get_call_info("c1"),
    "query_calls": lambda sc: sc.query_calls(),
    "logout": lambda sc: sc.logout(),
}


@pytest.mark.parametrize("method", sorted(BEFORE_LOGIN))
def test_methods_before_login_are_invalid_state(clients: Clients, method: str) -> None:
    """Every call method before login raises InvalidState saying to log in."""
    client = clients("alice", login=False)
    with pytest.raises(InvalidState, match="not logged in"):
        BEFORE_LOGIN[method](client.sc).result(RESULT)


def test_state_queries_before_login_answer(clients: Clients) -> None:
    """Before login the current user is empty and the call status idle (no error)."""
    client = clients("alice", login=False)
    user = client.sc.get_current_user().result(RESULT)
    assert (user.user_id, user.is_logged_in) == ("", False)
    assert client.sc.get_call_status().result(RESULT) == CallEvent(call_id="", state=CallState.IDLE)


def test_login_errors(clients: Clients) -> None:
    """An empty user id is an InputError; another user while logged in is InvalidState;
    logging in again as the same user is a no-op."""
    alice = clients("alice")
    with pytest.raises(InvalidState, match="already logged in"):
        alice.sc.login("bob").result(RESULT)
    assert alice.sc.login("alice").result(RESULT).success
    fresh = clients("carol", login=False)
    with pytest.raises(InputError, match="user_id"):
        fresh.sc.login("  ").result(RESULT)
    assert alice.sc.get_current_user().result(RESULT).user_id == "alice"


def test_unknown_call_type_is_input_error(clients: Clients) -> None:
    """call, join_call and get_call_info with an unknown type list the allowed types."""
    alice = clients("alice")
    with pytest.raises(InputError, match=r"unknown call type 'nope'.*default"):
        alice.sc.call(["bob"], type="nope").result(RESULT)
    with pytest.raises(InputError, match="unknown call type 'nope'"):
        alice.sc.join_call("c1", "nope").result(RESULT)
    with pytest.raises(InputError, match="unknown call type 'nope'"):
        alice.sc.get_call_info("c1", "nope").result(RESULT)
    assert alice.sc.get_call_status().result(RESULT).state is CallState.IDLE


@pytest.mark.parametrize("reason", ["cancel", "timeout", "nope"])
def test_reject_reason_must_be_decline_or_busy(clients: Clients, reason: str) -> None:
    """Only decline and busy may be given to reject_call, even with a ring waiting."""
    alice, bob = clients("alice"), clients("bob")
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    with pytest.raises(InputError, match="decline, busy"):
        bob.sc.reject_call(reason).result(RESULT)
    assert bob.sc.get_ringing_call().result(RESULT) is not None


def test_bad_arguments_are_input_errors(clients: Clients) -> None:
    """Wrong types and empty names come back as InputError (DeviceError for no such speaker)."""
    alice = clients("alice")
    bad: list[Callable[[], Any]] = [
        lambda: alice.sc.set_camera_enabled("yes"),  # type: ignore[arg-type]
        lambda: alice.sc.set_microphone_enabled(1),  # type: ignore[arg-type]
        lambda: alice.sc.switch_camera(""),
        lambda: alice.sc.set_speaker(""),
        lambda: alice.sc.set_video_processor("invert"),  # type: ignore[arg-type]
        lambda: alice.sc.set_audio_processor(42),  # type: ignore[arg-type]
        lambda: alice.sc.query_calls(limit=0),
        lambda: alice.sc.query_calls(limit=101),
        lambda: alice.sc.get_call_info(""),
        lambda: alice.sc.set_dynamic_api_key(" "),
    ]
    for make in bad:
        with pytest.raises(InputError):
            make().result(RESULT)
    with pytest.raises(DeviceError, match="browser"):
        alice.sc.set_speaker("no-such-speaker").result(RESULT)
    assert alice.sc.is_camera_enabled().result(RESULT).enabled is True
    assert alice.events.items == []


def test_add_listener_checks_event_and_callable(clients: Clients) -> None:
    """add_listener raises InputError for an unknown event (listing them) or a non-callable."""
    alice = clients("alice")
    with pytest.raises(InputError, match="callEvent, incomingCall, error"):
        alice.sc.add_listener("nope", print)
    with pytest.raises(InputError, match="callable"):
        alice.sc.add_listener("callEvent", "print")  # type: ignore[arg-type]


# -- listeners -------------------------------------------------------------------------


def test_listeners_run_in_order_and_a_raising_one_does_not_stop_the_next(
    clients: Clients,
) -> None:
    """Listeners run in the order added; one raising is reported and the next still runs."""
    alice = clients("alice")
    order = Recorder[tuple[str, str]]()

    def first(event: CallEvent) -> None:
        order(("first", str(event.state)))

    def broken(event: CallEvent) -> None:
        order(("broken", str(event.state)))
        raise RuntimeError("listener bug")

    def last(event: CallEvent) -> None:
        order(("last", str(event.state)))

    for listener in (first, broken, last):
        alice.sc.add_listener("callEvent", listener)
    alice.sc.set_microphone_enabled(False).result(RESULT)
    alice.sc.set_microphone_enabled(False).result(RESULT)  # no change, no event
    alice.sc.set_camera_enabled(False).result(RESULT)
    alice.flush()

    assert order.items == [
        ("first", "microphone_disabled"),
        ("broken", "microphone_disabled"),
        ("last", "microphone_disabled"),
        ("first", "camera_disabled"),
        ("broken", "camera_disabled"),
        ("last", "camera_disabled"),
    ]
    reports = alice.errors_in("callEvent listener")
    assert len(reports) == 2
    assert all(isinstance(r.error, RuntimeError) and "broken" in r.where for r in reports)
    assert alice.triples() == [
        ("microphone_disabled", "alice", None),
        ("camera_disabled", "alice", None),
    ]
    assert {e.call_id for e in alice.events.items} == {""}


def test_removed_listeners_are_not_called(clients: Clients) -> None:
    """handle.remove() drops one listener; remove_all_listeners() drops every one."""
    alice = clients("alice")
    kept, dropped = Recorder[CallEvent](), Recorder[CallEvent]()
    alice.sc.add_listener("callEvent", kept)
    alice.sc.add_listener("callEvent", dropped).remove()
    alice.sc.set_speaker("null").result(RESULT)
    alice.flush()
    assert [(str(e.state), e.reason) for e in kept.items] == [("speaker_disabled", "null")]
    assert dropped.items == []

    alice.sc.remove_all_listeners().result(RESULT)
    alice.sc.set_speaker("browser").result(RESULT)
    alice.flush()
    assert len(kept.items) == 1
    assert alice.events.items == [kept.items[0]]


def test_error_listener_gets_error_reports(clients: Clients) -> None:
    """An error listener receives ErrorReport(where, error) for a failing listener."""
    alice = clients("alice")
    failure = ValueError("boom")

    def explode(event: CallEvent) -> None:
        raise failure

    alice.sc.add_listener("callEvent", explode)
    alice.sc.set_speaker("null").result(RESULT)
    alice.flush()
    assert alice.errors.items == [ErrorReport(alice.errors.items[0].where, failure)]
    assert "explode" in alice.errors.items[0].where


def test_two_rings_at_once(clients: Clients) -> None:
    """With two rings waiting, accept_call takes the latest; the other is rejected by id,
    and accepting it while in the first call is InvalidState."""
    alice, bob, carol = clients("alice"), clients("bob"), clients("carol")
    first = alice.sc.call(["bob"]).result(RESULT)
    bob.wait_ringing(first.cid)
    second = carol.sc.call(["bob"]).result(RESULT)
    bob.wait_incoming(second.cid)
    latest = bob.sc.get_ringing_call().result(RESULT)
    assert latest is not None
    assert latest.cid == second.cid

    answered = bob.sc.accept_call().result(RESULT)
    assert answered.cid == second.cid
    with pytest.raises(InvalidState, match="end_call"):
        bob.sc.accept_call(first.cid).result(RESULT)
    still = bob.sc.get_ringing_call().result(RESULT)
    assert still is not None
    assert still.cid == first.cid
    bob.sc.reject_call(call_id=first.id).result(RESULT)
    alice.wait_event(CallState.LEFT, "alice", first.id)
    assert bob.sc.get_ringing_call().result(RESULT) is None
    assert bob.sc.get_call_status().result(RESULT).call_id == second.id
    second.wait_until(CallState.JOINED).result(RESULT)


# -- several connections ---------------------------------------------------------------


def test_callee_offline_at_the_ring_is_missed_and_not_rung_on_login(clients: Clients) -> None:
    """A callee offline when the ring starts is missed at once (``offline``): the caller's
    call ends, and the callee logging in afterwards gets no incomingCall."""
    alice = clients("alice")
    bob = clients("bob", login=False)
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    alice.wait_event(CallState.LEFT, "alice", outgoing.id)
    assert alice.phases(outgoing.id) == [("ringing", "alice", None), ("left", "alice", "offline")]
    bob.sc.login("bob").result(RESULT)
    bob.flush()
    assert bob.incoming.items == []
    assert bob.sc.get_ringing_call().result(RESULT) is None


def test_accepting_on_one_device_stops_the_ring_on_the_other(clients: Clients) -> None:
    """Bob logged in twice: accepting on one connection ends the ring on the other."""
    alice, bob, bob_too = clients("alice"), clients("bob"), clients("bob")
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    bob_too.wait_ringing(outgoing.cid)
    bob.sc.accept_call().result(RESULT)
    outgoing.wait_until(CallState.JOINED).result(RESULT)
    bob_too.wait_event(CallState.ACCEPTED, "bob")
    bob_too.flush()

    assert bob_too.sc.get_ringing_call().result(RESULT) is None
    assert bob_too.phases() == [("ringing", "alice", None), ("left", "bob", "accepted_elsewhere")]


def test_unanswered_ring_is_missed_after_ring_timeout(clients: Clients) -> None:
    """call(ring_timeout_ms=5000): nobody answers, so after 5 s the callee misses the call and
    the caller's ring ends."""
    alice, bob = clients("alice"), clients("bob")
    outgoing = alice.sc.call(["bob"], ring_timeout_ms=5_000).result(RESULT)
    bob.wait_ringing(outgoing.cid)
    outgoing.wait_until(CallState.LEFT).result(RESULT)
    bob.wait_event(CallState.LEFT, "bob")
    alice.flush()
    bob.flush()
    assert alice.phases() == [("ringing", "alice", None), ("left", "alice", "timeout")]
    assert ("missed", "bob", "timeout") in alice.triples()
    assert ("outgoing_call_ended", None, "timeout") in alice.triples()
    assert bob.phases() == [("ringing", "alice", None), ("left", "bob", "timeout")]


@pytest.mark.parametrize("timeout_ms", [4_999, 180_001, 5_000.5, True])
def test_ring_timeout_out_of_range_is_refused(clients: Clients, timeout_ms: Any) -> None:
    """ring_timeout_ms outside 5 000..180 000 (or not an int) is an InputError; nothing rings."""
    alice, bob = clients("alice"), clients("bob")
    with pytest.raises(InputError, match="ring_timeout_ms"):
        alice.sc.call(["bob"], ring_timeout_ms=timeout_ms).result(RESULT)
    assert bob.sc.get_ringing_call().result(RESULT) is None
    assert alice.sc.get_call_status().result(RESULT).state is CallState.IDLE
