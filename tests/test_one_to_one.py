"""A one-to-one call (a rung call of exactly two members) ends when one party leaves;
group calls, and calls nobody rang, go on. Real coordinator, raw WebSocket clients."""

from __future__ import annotations

import pytest

from streamcall_widget.errors import InvalidState

from .conftest import Login
from .flows import create, events_of, types
from .wsclient import WsClient


async def _joined(login: Login, members: list[str], *, ring: bool) -> list[WsClient]:
    """alice creates default:c1 with ``members`` (rung or not); everyone accepts and joins."""
    alice = await login("alice")
    others = [await login(m) for m in members]
    await create(alice, "c1", members, ring=ring)
    await alice.request("call.join", cid="default:c1")
    for client in others:
        await client.request("call.join", cid="default:c1")
    await events_of(alice, *others)
    return [alice, *others]


async def test_leave_ends_a_one_to_one_call_for_the_other(login: Login) -> None:
    """Bob hangs up (call.leave): alice sees him leave, then call.ended naming bob with
    reason left, then the session end; the call is over and cannot be joined again."""
    alice, bob = await _joined(login, ["bob"], ring=True)
    reply = await bob.request("call.leave", cid="default:c1")
    assert reply["call"]["ended_at"] is not None
    seen_by_alice, seen_by_bob = await events_of(alice, bob)
    expected = ["call.session_participant_left", "call.ended", "call.session_ended"]
    assert types(seen_by_alice) == types(seen_by_bob) == expected
    left, ended, _ = seen_by_alice
    assert left["participant"]["user_id"] == "bob"
    assert left["reason"] == "left"
    assert ended["user"]["id"] == "bob"
    assert ended["reason"] == "left"
    assert ended["call"]["ended_at"] is not None
    with pytest.raises(InvalidState):
        await alice.request("call.leave", cid="default:c1")


async def test_caller_hanging_up_ends_it_for_the_callee(login: Login) -> None:
    """The same when the caller is the one who leaves."""
    alice, bob = await _joined(login, ["bob"], ring=True)
    await alice.request("call.leave", cid="default:c1")
    (seen,) = await events_of(bob)
    assert types(seen)[1] == "call.ended"
    assert seen[1]["user"]["id"] == "alice"


async def test_disconnecting_for_good_ends_a_one_to_one_call(login: Login) -> None:
    """Bob closing his socket (not a drop: no resume coming) ends the call, reason
    disconnected."""
    alice, bob = await _joined(login, ["bob"], ring=True)
    await bob.close()
    ended = await alice.next_event("call.ended")
    assert ended["reason"] == "disconnected"
    assert ended["user"]["id"] == "bob"


async def test_a_group_call_goes_on_when_one_leaves(login: Login) -> None:
    """Three members: bob leaving is only a participant_left; alice and carol stay."""
    alice, bob, carol = await _joined(login, ["bob", "carol"], ring=True)
    await bob.request("call.leave", cid="default:c1")
    for seen in await events_of(alice, carol):
        assert types(seen) == ["call.session_participant_left"]
    got = await alice.request("call.get", cid="default:c1")
    assert got["call"]["ended_at"] is None
    assert got["call"]["session"]["participant_count"]["total"] == 2


async def test_a_call_nobody_rang_goes_on_when_one_leaves(login: Login) -> None:
    """Two members who joined without a ring (a meeting room): the other stays in it."""
    alice, bob = await _joined(login, ["bob"], ring=False)
    await bob.request("call.leave", cid="default:c1")
    (seen,) = await events_of(alice)
    assert types(seen) == ["call.session_participant_left"]


async def test_rejoining_from_another_connection_is_no_leave(login: Login) -> None:
    """Bob joining again replaces his session (reason replaced): the call goes on."""
    alice, _ = await _joined(login, ["bob"], ring=True)
    bob2 = await login("bob")
    await bob2.request("call.join", cid="default:c1")
    (seen,) = await events_of(alice)
    assert types(seen) == ["call.session_participant_left", "call.session_participant_joined"]
    assert seen[0]["reason"] == "replaced"
