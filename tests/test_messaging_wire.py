"""Messages, INFO messages, data and custom events on the wire: who gets them, and what
the coordinator refuses (membership, joined sessions, forms and sizes)."""

from __future__ import annotations

import base64

import pytest

from streamcall_widget.coordinator import Coordinator
from streamcall_widget.errors import (
    DoesNotExist,
    InputError,
    InvalidArguments,
    InvalidMimeType,
    InvalidState,
    PayloadTooBig,
)
from streamcall_widget.protocol.messaging import MAX_DATA_BYTES, MAX_MESSAGE_BYTES

from .conftest import Login
from .flows import create, events_of, types
from .test_resume import drop, resume
from .wsclient import WsClient

CID = "default:talk"


async def _three_joined(login: Login) -> tuple[list[WsClient], list[str], WsClient, WsClient]:
    """alice, bob and carol joined to CID (their sessions); erin a member who has not
    joined; dave no member at all."""
    alice, bob, carol, erin, dave = [
        await login(u) for u in ("alice", "bob", "carol", "erin", "dave")
    ]
    await create(alice, "talk", ["bob", "carol", "erin"])
    sessions = [
        str((await c.request("call.join", cid=CID))["session_id"]) for c in (alice, bob, carol)
    ]
    await events_of(alice, bob, carol, erin, dave)
    return [alice, bob, carol], sessions, erin, dave


async def test_a_message_reaches_every_joined_session_in_one_order(login: Login) -> None:
    """A chat message reaches every joined session, the sender's own included, with the
    sender's session; a member who has not joined and a non-member get nothing."""
    (alice, bob, carol), (alice_session, _, _), erin, dave = await _three_joined(login)
    await alice.request("call.send_message", cid=CID, text="hello")
    await bob.request("call.send_message", cid=CID, text="hi alice")
    *joined, e, d = await events_of(alice, bob, carol, erin, dave)
    for seen in joined:
        assert types(seen) == ["call.message", "call.message"]
        assert [(m["user"]["id"], m["text"]) for m in seen] == [
            ("alice", "hello"),
            ("bob", "hi alice"),
        ]
        assert seen[0]["session_id"] == alice_session
    assert e == d == []


async def test_messages_are_refused_with_typed_errors(login: Login) -> None:
    """Blank or oversized text, a sender not joined, a non-member: each refused, nothing sent."""
    (alice, bob, carol), _, erin, dave = await _three_joined(login)
    with pytest.raises(InvalidArguments, match="non-empty"):
        await alice.request("call.send_message", cid=CID, text="  \n")
    with pytest.raises(PayloadTooBig, match="4096"):
        await alice.request("call.send_message", cid=CID, text="é" * (MAX_MESSAGE_BYTES // 2 + 1))
    with pytest.raises(InvalidState, match="join"):
        await erin.request("call.send_message", cid=CID, text="I am not in")
    with pytest.raises(DoesNotExist):
        await dave.request("call.send_message", cid=CID, text="let me in")
    assert await events_of(alice, bob, carol, erin, dave) == [[], [], [], [], []]


async def test_info_reaches_the_others_and_bad_forms_are_refused(login: Login) -> None:
    """An INFO message reaches the other joined sessions with its type, body and headers; a
    malformed MIME type is INVALID_MIME_TYPE, a header not starting with X- is refused when
    the request is decoded (the rule of every action's headers)."""
    (alice, bob, carol), (alice_session, _, _), erin, _ = await _three_joined(login)
    await alice.request(
        "call.send_info",
        cid=CID,
        mime_type="application/json; charset=utf-8",
        body='{"a": 1}',
        headers={"X-Trace": "t1"},
    )
    a, b, c, e = await events_of(alice, bob, carol, erin)
    assert a == e == []
    for seen in (b, c):
        assert types(seen) == ["call.info"]
        info = seen[0]
        assert (info["mime_type"], info["body"], info["headers"]) == (
            "application/json; charset=utf-8",
            '{"a": 1}',
            {"X-Trace": "t1"},
        )
        assert (info["user"]["id"], info["session_id"]) == ("alice", alice_session)
    for bad in ("json", "text/", "/plain", "text/pl ain", "téxt/plain", "text/plain; q"):
        with pytest.raises(InvalidMimeType, match="type/subtype"):
            await alice.request("call.send_info", cid=CID, mime_type=bad, body="")
    with pytest.raises(InputError, match=r"\$\.headers"):
        await alice.request(
            "call.send_info", cid=CID, mime_type="text/plain", headers={"Trace": "t"}
        )
    assert await events_of(alice, bob, carol) == [[], [], []]


async def test_data_goes_to_everyone_or_to_one_target_only(login: Login) -> None:
    """Data with no target reaches the other joined sessions; to a user id or a session id
    only that one; bytes travel base64 in JSON and come back the same."""
    (alice, bob, carol), (_, bob_session, carol_session), erin, _ = await _three_joined(login)
    await alice.request("call.send_data", cid=CID, text="to all")
    a, b, c, e = await events_of(alice, bob, carol, erin)
    assert a == e == []
    assert [d["text"] for d in b] == [d["text"] for d in c] == ["to all"]

    await alice.request("call.send_data", cid=CID, text="to bob", to="bob")
    raw = base64.b64encode(b"\x00\xffcarol").decode()
    await alice.request("call.send_data", cid=CID, binary=raw, to=carol_session)
    a, b, c, e = await events_of(alice, bob, carol, erin)
    assert a == e == []
    assert [(d["text"], d["to"], d["session_id"] != bob_session) for d in b] == [
        ("to bob", "bob", True)
    ]
    assert [(d["binary"], d["text"]) for d in c] == [(raw, None)]


async def test_data_is_refused_for_outsiders_bad_targets_and_sizes(login: Login) -> None:
    """A target outside the call, both or neither payload, too much data, a sender not
    joined or not a member: each refused with its typed error, nothing delivered."""
    (alice, bob, carol), _, erin, dave = await _three_joined(login)
    with pytest.raises(DoesNotExist, match="'dave'"):
        await alice.request("call.send_data", cid=CID, text="x", to="dave")
    with pytest.raises(DoesNotExist, match="'erin'"):
        await alice.request("call.send_data", cid=CID, text="x", to="erin")
    with pytest.raises(DoesNotExist, match="'alice'"):
        await alice.request("call.send_data", cid=CID, text="x", to="alice")
    with pytest.raises(InvalidArguments, match="exactly one"):
        await alice.request("call.send_data", cid=CID, text="x", binary="eA==")
    with pytest.raises(InvalidArguments, match="exactly one"):
        await alice.request("call.send_data", cid=CID)
    with pytest.raises(PayloadTooBig, match=str(MAX_DATA_BYTES)):
        await alice.request("call.send_data", cid=CID, text="x" * (MAX_DATA_BYTES + 1))
    with pytest.raises(InvalidState, match="join"):
        await erin.request("call.send_data", cid=CID, text="x")
    with pytest.raises(DoesNotExist):
        await dave.request("call.send_data", cid=CID, text="x", to="alice")
    assert await events_of(alice, bob, carol, erin, dave) == [[], [], [], [], []]


async def test_custom_events_over_the_size_limit_are_refused(login: Login) -> None:
    """A custom event larger than 32 KiB of JSON is PAYLOAD_TOO_BIG and reaches no one."""
    (alice, bob, _), _, _, _ = await _three_joined(login)
    with pytest.raises(PayloadTooBig, match="custom event"):
        await alice.request("call.send_event", cid=CID, custom={"blob": "x" * 40_000})
    assert await events_of(alice, bob) == [[], []]


async def test_what_is_sent_to_a_dropped_session_arrives_after_its_resume(
    login: Login, coordinator: Coordinator
) -> None:
    """A message and data for a session whose socket dropped are held and delivered, in
    order, to the connection that resumes it."""
    (alice, bob, _), (_, bob_session, _), _, _ = await _three_joined(login)
    await drop(coordinator, bob)
    await alice.request("call.send_message", cid=CID, text="are you there?")
    await alice.request("call.send_data", cid=CID, text="state", to=bob_session)
    bob_again = await login("bob")
    await resume(bob_again, bob)
    (seen,) = await events_of(bob_again)
    assert [(e["type"], e.get("text")) for e in seen] == [
        ("call.message", "are you there?"),
        ("call.data", "state"),
    ]
