"""Smoke: alice rings bob, bob accepts, both join and relay an offer."""

from __future__ import annotations

from .conftest import Login


async def test_ring_accept_join_and_signal(login: Login) -> None:
    """A 1:1 call goes ring -> accept -> join -> SDP relay end to end."""
    alice = await login("alice", name="Alice")
    bob = await login("bob", name="Bob")
    created = await alice.request(
        "call.get_or_create",
        call_type="default",
        call_id="c1",
        members=[{"user_id": "bob"}],
        ring=True,
    )
    assert created["created"] is True
    ring = await bob.next_event("call.ring")
    assert ring["user"]["id"] == "alice"
    await bob.request("call.accept", cid="default:c1")
    accepted = await alice.next_event("call.accepted")
    assert accepted["user"]["id"] == "bob"
    a = await alice.request("call.join", cid="default:c1")
    b = await bob.request("call.join", cid="default:c1")
    await alice.request(
        "call.signal",
        cid="default:c1",
        session_id=b["session_id"],
        signal={"kind": "offer", "sdp": "v=0"},
    )
    sig = await bob.next_event("call.signal")
    assert sig["from_session_id"] == a["session_id"]
    assert sig["signal"] == {"kind": "offer", "sdp": "v=0"}
