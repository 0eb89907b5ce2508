"""Seed 001's ``headers`` on answer, reject and hang-up: checked, then carried to the others.

Against the real coordinator: each action's headers arrive, unchanged, on the event it
causes; a malformed header is refused when the message is decoded and changes nothing. And
through the engine: ``accept_call``, ``reject_call`` and ``end_call`` send them, the other
side's ``CallEvent.headers`` has them.
"""

from __future__ import annotations

import pytest

from streamcall_widget import CallState
from streamcall_widget.errors import InputError, InvalidArguments, PayloadTooBig
from streamcall_widget.protocol.headers import MAX_HEADERS, MAX_VALUE_LENGTH, check_headers

from .conftest import Login
from .engine_helpers import RESULT, Client, Clients
from .flows import create, events_of, types

SENT = {"X-Reason": "in a meeting", "x-ticket": "42"}


async def test_accept_and_hang_up_carry_their_headers(login: Login) -> None:
    """Bob's accept headers reach alice on call.accepted; alice's hang-up (leave, in a
    one-to-one call) reaches bob on participant_left and call.ended."""
    alice, bob = await login("alice"), await login("bob")
    await create(alice, "c1", ["bob"], ring=True)
    await alice.request("call.join", cid="default:c1")
    await events_of(alice, bob)
    await bob.request("call.accept", cid="default:c1", headers=SENT)
    a, _ = await events_of(alice, bob)
    assert types(a) == ["call.accepted"]
    assert a[0]["headers"] == SENT
    await bob.request("call.join", cid="default:c1")
    await events_of(alice, bob)
    await alice.request("call.leave", cid="default:c1", headers={"X-Bye": "later"})
    _, b = await events_of(alice, bob)
    assert types(b)[:2] == ["call.session_participant_left", "call.ended"]
    assert [e["headers"] for e in b[:2]] == [{"X-Bye": "later"}] * 2


async def test_reject_and_end_carry_their_headers(login: Login) -> None:
    alice, bob = await login("alice"), await login("bob")
    await create(alice, "c1", ["bob"], ring=True)
    await events_of(alice, bob)
    await bob.request("call.reject", cid="default:c1", reason="busy", headers=SENT)
    a, _ = await events_of(alice, bob)
    assert (a[0]["type"], a[0]["reason"], a[0]["headers"]) == ("call.rejected", "busy", SENT)
    assert a[1]["type"] == "call.ended"
    assert a[1]["headers"] == {}  # the ring's end is nobody's action
    await create(alice, "c2", ["bob"])
    await alice.request("call.end", cid="default:c2", headers={"X-Why": "done"})
    a, b = await events_of(alice, bob)
    ended = [e for e in a + b if e["type"] == "call.ended"]
    assert [e["headers"] for e in ended] == [{"X-Why": "done"}] * 2


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"Reason": "x"}, "matching regex"),
        ({"X-": "x"}, "matching regex"),
        ({f"X-{i}": "x" for i in range(MAX_HEADERS + 1)}, "length <= 16"),
        ({"X-Long": "x" * (MAX_VALUE_LENGTH + 1)}, "length <= 1024"),
        ({"X-Number": 3}, "Expected `str`"),
    ],
)
async def test_a_malformed_header_is_refused_and_the_ring_goes_on(
    login: Login, headers: dict[str, object], says: str
) -> None:
    alice, bob = await login("alice"), await login("bob")
    await create(alice, "c1", ["bob"], ring=True)
    await events_of(alice, bob)
    with pytest.raises(InputError, match=says) as refused:
        await bob.request("call.reject", cid="default:c1", headers=headers)
    assert "$.headers" in str(refused.value)
    got = await bob.request("call.get", cid="default:c1")
    assert got["call"]["ringing"] is True


def test_check_headers_names_the_rule_broken() -> None:
    assert check_headers(None) == {}
    assert check_headers(SENT) == SENT
    with pytest.raises(InvalidArguments, match="names start with X-"):
        check_headers({"Reason": "x"})
    with pytest.raises(InvalidArguments, match="must be a str, not int"):
        check_headers({"X-Count": 3})  # type: ignore[dict-item]
    with pytest.raises(InvalidArguments, match="dict of str to str, not list"):
        check_headers([("X-A", "b")])  # type: ignore[arg-type]
    with pytest.raises(PayloadTooBig, match="at most 16"):
        check_headers({f"X-{i}": "x" for i in range(MAX_HEADERS + 1)})
    with pytest.raises(PayloadTooBig, match="at most 1024"):
        check_headers({"X-Long": "x" * (MAX_VALUE_LENGTH + 1)})


def _headers_of(client: Client, state: CallState) -> list[dict[str, str]]:
    client.flush()
    return [e.headers for e in client.events.items if e.state is state]


def test_the_engine_sends_headers_and_listeners_get_them(clients: Clients) -> None:
    """accept_call, reject_call and end_call take headers; the other side's CallEvent
    carries them; a bad header raises before anything is sent and the ring goes on."""
    alice, bob = clients("alice"), clients("bob")
    call = alice.sc.call(["bob"]).result(RESULT)
    bob.wait_ringing(call.cid)
    with pytest.raises(InvalidArguments, match="names start with X-"):
        bob.sc.reject_call(headers={"Reason": "x"}).result(RESULT)
    assert call.state is CallState.RINGING
    bob.sc.reject_call(headers={"X-Reason": "driving"}).result(RESULT)
    alice.wait_event(CallState.LEFT, "alice", call.id)
    assert _headers_of(alice, CallState.REJECTED) == [{"X-Reason": "driving"}]

    call = alice.sc.call(["bob"]).result(RESULT)
    bob.wait_ringing(call.cid)
    bob.sc.accept_call(headers={"X-Mood": "happy"}).result(RESULT)
    call.wait_until(CallState.JOINED).result(RESULT)
    alice.sc.end_call(headers={"X-Bye": "see you"}).result(RESULT)
    bob.wait_event(CallState.LEFT, "bob", call.id)
    assert {"X-Mood": "happy"} in _headers_of(alice, CallState.ACCEPTED)
    assert _headers_of(bob, CallState.ENDED) == [{"X-Bye": "see you"}]
