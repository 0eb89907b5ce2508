"""Ring flows against the real coordinator on the fake clock, with exact event sequences.

Events for a client are delivered in order on its socket, and the coordinator queues every
event a request (or a timer run) produces before it answers; a ``ping`` round trip on each
client (``settle``) therefore guarantees every event already produced has arrived.
"""

from __future__ import annotations

from typing import Any

import pytest

from streamcall_widget.coordinator import Coordinator, mint_token
from streamcall_widget.errors import DoesNotExist, InputError, InvalidState, NotAllowed

from .conftest import APP, FakeClock, Login
from .flows import create, events_of, settle, types
from .wsclient import WsClient


def fire(coordinator: Coordinator, clock: FakeClock, seconds: float) -> None:
    """Move the fake clock and fire the ring timers due, in one synchronous step."""
    clock.advance(seconds)
    coordinator.run_timers()


async def test_no_answer_times_out(
    login: Login, coordinator: Coordinator, clock: FakeClock
) -> None:
    """Unanswered: at 30 s bob is missed (timeout) and the call ends with reason timeout."""
    alice = await login("alice")
    bob = await login("bob")
    await create(alice, "c1", ["bob"], ring=True)
    a, b = await events_of(alice, bob)
    assert types(a) == ["call.created"]
    assert types(b) == ["call.created", "call.ring"]
    assert b[1]["user"]["id"] == "alice"
    assert b[1]["call"]["ringing"] is True

    fire(coordinator, clock, 29)
    assert await events_of(alice, bob) == [[], []]

    fire(coordinator, clock, 1)
    a, b = await events_of(alice, bob)
    # With the default equal timeouts the callee times out first, which ends the ring, so
    # the caller's auto-cancel never fires: no call.rejected(alice, timeout).
    for seen in (a, b):
        assert types(seen) == ["call.missed", "call.ended"]
        assert (seen[0]["user"]["id"], seen[0]["reason"]) == ("bob", "timeout")
        assert seen[1]["reason"] == "timeout"
        assert seen[1]["user"] is None
        assert seen[1]["call"]["ended_at"] is not None
    assert a[0] == b[0]

    fire(coordinator, clock, 300)
    assert await events_of(alice, bob) == [[], []]
    got = await alice.request("call.get", cid="default:c1")
    assert got["call"]["ringing"] is False
    assert got["call"]["ended_at"] is not None


async def test_auto_cancel_before_incoming_timeout(
    login: Login, coordinator: Coordinator, clock: FakeClock
) -> None:
    """A shorter auto-cancel drops the ring as the caller: rejected(alice), missed(bob), ended."""
    alice = await login("alice")
    bob = await login("bob")
    ring = {"auto_cancel_timeout_ms": 5_000, "incoming_call_timeout_ms": 20_000}
    await create(alice, "c1", ["bob"], ring=True, settings_override={"ring": ring})
    await events_of(alice, bob)
    fire(coordinator, clock, 5)
    a, b = await events_of(alice, bob)
    for seen in (a, b):
        assert types(seen) == ["call.rejected", "call.missed", "call.ended"]
        assert (seen[0]["user"]["id"], seen[0]["reason"]) == ("alice", "timeout")
        assert (seen[1]["user"]["id"], seen[1]["reason"]) == ("bob", "timeout")
        assert seen[2]["reason"] == "timeout"


async def test_decline(login: Login, coordinator: Coordinator, clock: FakeClock) -> None:
    """Bob declining: both see call.rejected(bob, decline) then call.ended(decline)."""
    alice = await login("alice")
    bob = await login("bob")
    await create(alice, "c1", ["bob"], ring=True)
    await events_of(alice, bob)
    reply = await bob.request("call.reject", cid="default:c1")
    assert reply["call"]["ringing"] is False
    a, b = await events_of(alice, bob)
    for seen in (a, b):
        assert types(seen) == ["call.rejected", "call.ended"]
        assert (seen[0]["user"]["id"], seen[0]["reason"]) == ("bob", "decline")
        assert seen[1]["reason"] == "decline"
    fire(coordinator, clock, 60)
    assert await events_of(alice, bob) == [[], []]
    with pytest.raises(InvalidState):
        await bob.request("call.accept", cid="default:c1")


async def test_cancel_while_ringing(login: Login) -> None:
    """The caller rejecting cancels: rejected(alice, cancel), missed(bob, cancel), ended."""
    alice = await login("alice")
    bob = await login("bob")
    await create(alice, "c1", ["bob"], ring=True)
    await events_of(alice, bob)
    await alice.request("call.reject", cid="default:c1", reason="decline")
    a, b = await events_of(alice, bob)
    for seen in (a, b):
        assert types(seen) == ["call.rejected", "call.missed", "call.ended"]
        assert (seen[0]["user"]["id"], seen[0]["reason"]) == ("alice", "cancel")
        assert (seen[1]["user"]["id"], seen[1]["reason"]) == ("bob", "cancel")
        assert seen[2]["reason"] == "cancel"


async def test_two_callees_one_accepts(
    login: Login, coordinator: Coordinator, clock: FakeClock
) -> None:
    """Bob accepting stops carol's ring: everyone gets call.accepted and no timer fires later."""
    alice = await login("alice")
    bob = await login("bob")
    carol = await login("carol")
    await create(alice, "c1", ["bob", "carol"], ring=True)
    a, b, c = await events_of(alice, bob, carol)
    assert types(a) == ["call.created"]
    assert types(b) == types(c) == ["call.created", "call.ring"]
    await bob.request("call.accept", cid="default:c1")
    for seen in await events_of(alice, bob, carol):
        assert types(seen) == ["call.accepted"]
        assert seen[0]["user"]["id"] == "bob"
    with pytest.raises(InvalidState):
        await carol.request("call.accept", cid="default:c1")
    fire(coordinator, clock, 200)
    assert await events_of(alice, bob, carol) == [[], [], []]
    got = await alice.request("call.get", cid="default:c1")
    assert got["call"]["ringing"] is False
    assert got["call"]["ended_at"] is None


async def test_busy_callee(login: Login, coordinator: Coordinator, clock: FakeClock) -> None:
    """Carol joined elsewhere is missed as busy at once, is never rung, and the call ends."""
    alice = await login("alice")
    carol = await login("carol")
    dave = await login("dave")
    await create(dave, "other", ["carol"])
    await carol.request("call.join", cid="default:other")
    await events_of(alice, carol, dave)

    await create(alice, "c1", ["carol"], ring=True)
    a, c = await events_of(alice, carol)
    assert types(a) == ["call.created", "call.missed", "call.ended"]
    assert types(c) == ["call.created", "call.missed", "call.ended"]
    for seen in (a, c):
        assert (seen[1]["user"]["id"], seen[1]["reason"]) == ("carol", "busy")
        assert seen[2]["reason"] == "busy"
    fire(coordinator, clock, 60)
    assert await events_of(alice, carol) == [[], []]


async def test_offline_callee_missed_at_once_and_ring_goes_on(
    login: Login, coordinator: Coordinator, clock: FakeClock
) -> None:
    """An offline member is not rung: call.missed (offline) at once; bob still rings."""
    alice = await login("alice")
    bob = await login("bob")
    await create(alice, "c1", ["bob", "carol"], ring=True)
    a, b = await events_of(alice, bob)
    assert types(a) == ["call.created", "call.missed"]
    assert types(b) == ["call.created", "call.ring", "call.missed"]
    for seen in (a[1], b[2]):
        assert (seen["user"]["id"], seen["reason"]) == ("carol", "offline")
    carol = await login("carol")
    await bob.request("call.accept", cid="default:c1")
    assert [types(seen) for seen in await events_of(alice, bob, carol)] == [
        ["call.accepted"],
        ["call.accepted"],
        ["call.accepted"],
    ]


async def test_custom_ring_timeout_honoured(
    login: Login, coordinator: Coordinator, clock: FakeClock
) -> None:
    """A 5000 ms incoming timeout from settings_override times bob out at 5 s, not 30 s."""
    alice = await login("alice")
    bob = await login("bob")
    created = await create(
        alice,
        "c1",
        ["bob"],
        ring=True,
        settings_override={"ring": {"incoming_call_timeout_ms": 5_000}},
    )
    assert created["call"]["settings"]["ring"] == {
        "auto_cancel_timeout_ms": 30_000,
        "incoming_call_timeout_ms": 5_000,
        "missed_call_timeout_ms": 30_000,
    }
    await events_of(alice, bob)
    fire(coordinator, clock, 4)
    assert await events_of(alice, bob) == [[], []]
    fire(coordinator, clock, 1)
    for seen in await events_of(alice, bob):
        assert types(seen) == ["call.missed", "call.ended"]
        assert seen[0]["reason"] == "timeout"


@pytest.mark.parametrize("value", [4_999, 180_001])
async def test_out_of_range_timeout_refused(login: Login, value: int) -> None:
    """A ring timeout outside 5000..180000 ms is INPUT_ERROR naming it; no call is created."""
    alice = await login("alice")
    with pytest.raises(InputError) as info:
        await create(
            alice,
            "c1",
            [],
            settings_override={"ring": {"auto_cancel_timeout_ms": value}},
        )
    assert type(info.value) is InputError
    assert f"auto_cancel_timeout_ms={value}" in info.value.reason
    assert "5000..180000" in info.value.reason
    with pytest.raises(DoesNotExist):
        await alice.request("call.get", cid="default:c1")


async def test_ring_yourself_or_nobody_refused(login: Login) -> None:
    """Ringing only yourself is INPUT_ERROR; a call with nobody else to ring is INVALID_STATE."""
    alice = await login("alice")
    await login("bob")
    await create(alice, "pair", ["bob"])
    with pytest.raises(InputError, match="themselves"):
        await alice.request("call.ring", cid="default:pair", member_ids=["alice"])
    with pytest.raises(InputError, match="not members"):
        await alice.request("call.ring", cid="default:pair", member_ids=["zed"])
    await create(alice, "solo", [])
    with pytest.raises(InvalidState, match="nobody to ring"):
        await alice.request("call.ring", cid="default:solo")
    got = await alice.request("call.get", cid="default:pair")
    assert got["call"]["ringing"] is False


async def test_failed_ring_on_create_changes_nothing(login: Login) -> None:
    """get_or_create(ring=True) refused for nobody to ring leaves no call and no event behind."""
    alice = await login("alice")
    with pytest.raises(InvalidState, match="nobody to ring"):
        await create(alice, "solo", [], ring=True)
    await settle(alice)
    assert types(alice.drain()) == []
    with pytest.raises(DoesNotExist):
        await alice.request("call.get", cid="default:solo")


async def test_accept_with_nothing_ringing(login: Login) -> None:
    """Accepting (or rejecting) a call that is not ringing is INVALID_STATE."""
    alice = await login("alice")
    bob = await login("bob")
    await create(alice, "c1", ["bob"])
    with pytest.raises(InvalidState, match="nothing is ringing"):
        await bob.request("call.accept", cid="default:c1")
    with pytest.raises(InvalidState, match="nothing is ringing"):
        await bob.request("call.reject", cid="default:c1")


async def test_join_while_rung_accepts(
    login: Login, coordinator: Coordinator, clock: FakeClock
) -> None:
    """Bob joining while rung accepts the ring; later timers neither miss him nor end the call."""
    alice = await login("alice")
    bob = await login("bob")
    await create(alice, "c1", ["bob"], ring=True)
    await alice.request("call.join", cid="default:c1")
    await events_of(alice, bob)
    joined = await bob.request("call.join", cid="default:c1")
    assert joined["call"]["ringing"] is False
    assert list(joined["call"]["session"]["accepted_by"]) == ["bob"]
    a, b = await events_of(alice, bob)
    assert types(a) == types(b) == ["call.accepted", "call.session_participant_joined"]
    assert a[0]["user"]["id"] == "bob"
    assert a[1]["participant"]["session_id"] == joined["session_id"]
    fire(coordinator, clock, 60)
    assert await events_of(alice, bob) == [[], []]
    got = await alice.request("call.get", cid="default:c1")
    assert got["call"]["ended_at"] is None
    assert got["call"]["session"]["participant_count"]["total"] == 2


async def test_same_user_joining_twice_replaces_older_session(login: Login) -> None:
    """Bob joining from a second connection evicts his first session with reason replaced."""
    alice = await login("alice")
    bob1 = await login("bob")
    bob2 = await login("bob")
    await create(alice, "c1", ["bob"])
    await alice.request("call.join", cid="default:c1")
    first = await bob1.request("call.join", cid="default:c1")
    await events_of(alice, bob1, bob2)
    second = await bob2.request("call.join", cid="default:c1")
    assert first["session_id"] != second["session_id"]
    for seen in await events_of(alice, bob1, bob2):
        assert types(seen) == [
            "call.session_participant_left",
            "call.session_participant_joined",
        ]
        assert seen[0]["reason"] == "replaced"
        assert seen[0]["participant"]["session_id"] == first["session_id"]
        assert seen[1]["participant"]["session_id"] == second["session_id"]
    got = await alice.request("call.get", cid="default:c1")
    sessions = sorted(p["session_id"] for p in got["call"]["session"]["participants"])
    assert sessions == sorted([second["session_id"], got_session(got, "alice")])
    with pytest.raises(InvalidState):
        await bob1.request(
            "call.publish_track", cid="default:c1", track_type="audio", published=True
        )
    with pytest.raises(InvalidState):
        await bob1.request("call.leave", cid="default:c1")


def got_session(call: dict[str, Any], user_id: str) -> str:
    """The session id of ``user_id`` in a call response."""
    (session,) = [
        p["session_id"] for p in call["call"]["session"]["participants"] if p["user_id"] == user_id
    ]
    return str(session)


async def test_end_needs_end_call(login: Login, coordinator: Coordinator) -> None:
    """Non-members cannot end a call (hidden in default, NOT_ALLOWED in livestream)."""
    alice = await login("alice")
    carol = await login("carol")
    await create(alice, "c1", ["bob"])
    with pytest.raises(DoesNotExist):
        await carol.request("call.end", cid="default:c1")
    await create(alice, "show", [], call_type="livestream")
    with pytest.raises(NotAllowed, match="end-call"):
        await carol.request("call.end", cid="livestream:show")
    got = await alice.request("call.get", cid="livestream:show")
    assert got["call"]["ended_at"] is None


async def test_member_ends_call_then_join_is_invalid(login: Login) -> None:
    """A default member may end the call; all get call.ended and join/end/ring then fail."""
    alice = await login("alice")
    bob = await login("bob")
    await create(alice, "c1", ["bob"])
    await alice.request("call.join", cid="default:c1")
    await events_of(alice, bob)
    ended = await bob.request("call.end", cid="default:c1")
    assert ended["call"]["ended_at"] is not None
    a, b = await events_of(alice, bob)
    assert types(a) == types(b) == ["call.ended", "call.session_ended"]
    assert a[0]["user"]["id"] == "bob"
    assert a[0]["reason"] == "ended"
    with pytest.raises(InvalidState, match="ended"):
        await bob.request("call.join", cid="default:c1")
    with pytest.raises(InvalidState, match="ended"):
        await alice.request("call.end", cid="default:c1")
    with pytest.raises(InvalidState, match="ended"):
        await alice.request("call.ring", cid="default:c1")
    got = await alice.request("call.get", cid="default:c1")
    assert got["call"]["session"]["participants"] == []


async def test_call_scoped_token_member_can_end(
    login: Login, coordinator: Coordinator, clock: FakeClock
) -> None:
    """A token scoped to a call makes its user a call_member there, who may end it."""
    alice = await login("alice")
    await create(alice, "c1", [])
    token = mint_token(APP.api_secret, "erin", call_cids=["default:c1"], now=clock())
    erin = await WsClient.login(coordinator.url, APP.api_key, token, "erin")
    try:
        got = await erin.request("call.get", cid="default:c1")
        assert "end-call" in got["own_capabilities"]
        await erin.request("call.end", cid="default:c1")
        event = await alice.next_event("call.ended")
        assert event["user"]["id"] == "erin"
    finally:
        await erin.close()


async def test_only_callee_offline_ends_the_ring_at_once(
    login: Login, clock: FakeClock, coordinator: Coordinator
) -> None:
    """Ringing an offline callee ends at once (missed, then ended ``offline``); logging in
    later rings nothing; their calls.query shows the call ended, never answered."""
    alice = await login("alice")
    await create(alice, "late", ["bob"], ring=True)
    (a,) = await events_of(alice)
    assert types(a) == ["call.created", "call.missed", "call.ended"]
    assert (a[1]["user"]["id"], a[1]["reason"]) == ("bob", "offline")
    assert a[2]["reason"] == "offline"
    fire(coordinator, clock, 60)
    bob = await login("bob")
    assert await events_of(alice, bob) == [[], []]
    page = await bob.request("calls.query", filter_conditions={"members": {"$in": ["bob"]}})
    (past,) = page["calls"]
    assert past["call"]["cid"] == "default:late"
    assert past["call"]["created_by"]["id"] == "alice"
    assert past["call"]["session"] is None
    assert past["call"]["ended_at"] is not None


async def test_second_connection_of_a_ringing_callee_rings_too(login: Login) -> None:
    """A callee opening another connection mid-ring (a second kernel) is rung there as well."""
    alice = await login("alice")
    bob_first = await login("bob")
    await create(alice, "twice", ["bob"], ring=True)
    await bob_first.next_event("call.ring")
    bob_second = await login("bob")
    assert (await bob_second.next_event("call.ring"))["cid"] == "default:twice"
