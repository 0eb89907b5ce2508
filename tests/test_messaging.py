"""Messages, INFO, data and custom events between real clients in one call of three.

alice, bob and carol share one call (real coordinator, real aiortc links with their data
channels) for the whole module; dave is logged in but no member. The tests run in file
order: the last one closes a data channel and leaves the call.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from streamcall_widget import Call, CallState
from streamcall_widget.engine.messaging import (
    DATA_RATE,
    CallCustomEvent,
    CallDataPacket,
    CallInfo,
    CallMessage,
)
from streamcall_widget.errors import (
    InvalidArguments,
    InvalidMimeType,
    InvalidState,
    PayloadTooBig,
    RateLimited,
)

from .engine_helpers import RESULT, Client, Clients, Recorder, peers, session_of, wait_for


@dataclass
class Heard:
    """What one client's message, info, data and custom listeners got."""

    messages: Recorder[CallMessage] = field(default_factory=Recorder)
    infos: Recorder[CallInfo] = field(default_factory=Recorder)
    data: Recorder[CallDataPacket] = field(default_factory=Recorder)
    custom: Recorder[CallCustomEvent] = field(default_factory=Recorder)

    def listen(self, client: Client) -> Heard:
        for event, recorder in self.recorders().items():
            client.sc.add_listener(event, recorder)
        return self

    def recorders(self) -> dict[str, Recorder[Any]]:
        return {
            "message": self.messages,
            "info": self.infos,
            "data": self.data,
            "custom": self.custom,
        }

    def clear(self) -> None:
        for recorder in self.recorders().values():
            recorder.clear()


@dataclass
class Room:
    clients: dict[str, Client]
    calls: dict[str, Call]
    heard: dict[str, Heard]
    sessions: dict[str, str]

    def flush(self) -> None:
        """Every coordinator event so far has reached every listener."""
        for client in self.clients.values():
            client.flush()

    def data_texts(self, user: str) -> list[tuple[str, bytes | str, str]]:
        return [(d.user_id, d.data, d.via) for d in self.heard[user].data.items]


def _channels_open(call: Call, count: int) -> bool:
    links = peers(call)
    return len(links) == count and all(p.data is not None and p.data.open for p in links.values())


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    with Clients(tmp_path_factory.mktemp("messaging")) as clients:
        made = {u: clients(u, name=u.title()) for u in ("alice", "bob", "carol", "dave")}
        heard = {u: Heard().listen(c) for u, c in made.items()}
        outgoing = made["alice"].sc.call(["bob", "carol"], ring=False, video=False).result(RESULT)
        calls = {"alice": outgoing}
        for user in ("bob", "carol"):
            calls[user] = made[user].sc.join_call(outgoing.id).result(RESULT)
        for call in calls.values():
            wait_for(functools.partial(_channels_open, call, 2), f"{call.user_id}'s data channels")
        sessions = {u: session_of(outgoing, u) for u in calls}
        yield Room(made, calls, heard, sessions)
        for user in ("alice", "bob", "carol"):
            assert made[user].errors.items == []
        dave_heard = {name: r.items for name, r in heard["dave"].recorders().items()}
        assert dave_heard == {"message": [], "info": [], "data": [], "custom": []}


def test_messages_reach_everyone_in_one_order_own_marked(room: Room) -> None:
    """Each participant gets every message, its own included (``own``), in the order the
    coordinator took them."""
    room.calls["alice"].send_message("hello all").result(RESULT)
    room.calls["bob"].send_message("hi alice").result(RESULT)
    room.flush()
    for user in ("alice", "bob", "carol"):
        got = room.heard[user].messages.items
        assert [(m.user_id, m.name, m.text, m.own) for m in got] == [
            ("alice", "Alice", "hello all", user == "alice"),
            ("bob", "Bob", "hi alice", user == "bob"),
        ]
        assert [m.session_id for m in got] == [room.sessions["alice"], room.sessions["bob"]]
        assert all(m.cid == room.calls["alice"].cid and m.sent_at for m in got)


def test_info_reaches_the_others_with_type_body_and_headers(room: Room) -> None:
    """An INFO message reaches the two others, not its sender."""
    room.calls["carol"].send_info("application/json", '{"x": 1}', {"X-Id": "7"}).result(RESULT)
    room.flush()
    expected = CallInfo(
        room.calls["alice"].cid,
        "carol",
        room.sessions["carol"],
        "application/json",
        '{"x": 1}',
        {"X-Id": "7"},
    )
    assert room.heard["alice"].infos.items == room.heard["bob"].infos.items == [expected]
    assert room.heard["carol"].infos.items == []


def test_custom_events_reach_python_listeners(room: Room) -> None:
    """``send_event`` reaches every member's ``custom`` listeners, the sender's included."""
    room.calls["bob"].send_event({"emoji": "wave"}).result(RESULT)
    room.flush()
    for user in ("alice", "bob", "carol"):
        got = room.heard[user].custom.items
        assert [(e.user_id, e.name, e.custom) for e in got] == [("bob", "Bob", {"emoji": "wave"})]


def test_data_goes_over_the_data_channel_to_one_or_to_all(room: Room) -> None:
    """Data to bob (by user id) reaches bob alone, data to carol's session carol alone,
    data to all both: over the data channels, bytes as bytes and text as text. The last
    message to all is a marker: the channels are ordered, so what carol did not get before
    it was never sent to her."""
    alice = room.calls["alice"]
    alice.send_data(b"\x00for bob", to="bob").result(RESULT)
    alice.send_data("for carol", to=room.sessions["carol"]).result(RESULT)
    alice.send_data("for all").result(RESULT)
    for user in ("bob", "carol"):
        room.heard[user].data.wait(lambda d: d.data == "for all", f"{user} to get 'for all'")
    assert room.data_texts("bob") == [
        ("alice", b"\x00for bob", "datachannel"),
        ("alice", "for all", "datachannel"),
    ]
    assert room.data_texts("carol") == [
        ("alice", "for carol", "datachannel"),
        ("alice", "for all", "datachannel"),
    ]
    assert room.heard["bob"].data.items[0].session_id == room.sessions["alice"]
    room.flush()
    assert room.data_texts("alice") == []


def test_bad_input_raises_typed_errors_and_the_call_goes_on(room: Room) -> None:
    """Each method refuses bad input with its typed error, sends nothing, and the call
    stays joined: a message right after goes through."""
    bob = room.calls["bob"]
    refused: list[tuple[Any, type[Exception], str]] = [
        (lambda: bob.send_message(""), InvalidArguments, "non-empty"),
        (lambda: bob.send_message("   "), InvalidArguments, "whitespace"),
        (lambda: bob.send_message(42), InvalidArguments, "string"),  # type: ignore[arg-type]
        (lambda: bob.send_message("x" * 4097), PayloadTooBig, "4096 bytes"),
        (lambda: bob.send_info("text", "b"), InvalidMimeType, "type/subtype"),
        (lambda: bob.send_info("text/plain", "b", {"Id": "1"}), InvalidArguments, "X-"),
        (lambda: bob.send_info("text/plain", 5), InvalidArguments, "body"),  # type: ignore[arg-type]
        (lambda: bob.send_data(3.5), InvalidArguments, "bytes or str"),  # type: ignore[arg-type]
        (lambda: bob.send_data(b"x" * (32 * 1024 + 1)), PayloadTooBig, "32768 bytes"),
        (lambda: bob.send_data("x", to="dave"), InvalidArguments, "alice"),
        (lambda: bob.send_data("x", to="bob"), InvalidArguments, "session id of"),
        (lambda: bob.send_event(["not", "a", "dict"]), InvalidArguments, "dict"),  # type: ignore[arg-type]
    ]
    for send, error, says in refused:
        with pytest.raises(error, match=says):
            send().result(RESULT)
    bob.send_message("still here").result(RESULT)
    room.flush()
    assert bob.state is CallState.JOINED
    assert room.heard["carol"].messages.items[-1].text == "still here"
    assert not [d for d in room.heard["alice"].data.items if d.user_id == "bob"]


def test_sending_faster_than_the_rate_is_refused_and_nothing_is_lost(room: Room) -> None:
    """A burst over the data rate is refused with RATE_LIMITED naming the rate; every send
    that was accepted arrives."""
    carol = room.calls["carol"]
    _, burst = DATA_RATE
    sends = [carol.send_data(f"n{i}", to="alice") for i in range(burst + 50)]
    outcomes = [s.exception(RESULT) for s in sends]
    accepted = [f"n{i}" for i, error in enumerate(outcomes) if error is None]
    assert accepted[:burst] == [f"n{i}" for i in range(burst)]
    refused = [e for e in outcomes if e is not None]
    assert refused
    assert all(isinstance(e, RateLimited) for e in refused)
    assert "at most 50 a second (bursts of 100)" in str(refused[0])
    room.heard["alice"].data.wait(lambda d: d.data == accepted[-1], "alice to get the last")
    from_carol = [d.data for d in room.heard["alice"].data.items if d.user_id == "carol"]
    assert from_carol == accepted


def test_a_closed_data_channel_falls_back_to_the_coordinator(room: Room) -> None:
    """When the alice-bob channel closes, data between them goes through the coordinator
    (``via="coordinator"``) while alice-carol stays on its channel; a call left cannot send."""
    alice, bob = room.calls["alice"], room.calls["bob"]
    for heard in room.heard.values():
        heard.clear()
    alice_to_bob = peers(alice)[room.sessions["bob"]].data
    bob_to_alice = peers(bob)[room.sessions["alice"]].data
    assert alice_to_bob is not None
    assert bob_to_alice is not None
    room.clients["alice"].sc.engine.loop.call_soon_threadsafe(alice_to_bob.close)
    wait_for(lambda: not bob_to_alice.open, "bob's channel to close")
    alice.send_data("to bob").result(RESULT)
    bob.send_data(b"back", to="alice").result(RESULT)
    room.heard["carol"].data.wait(lambda d: d.data == "to bob", "carol to get alice's data")
    room.heard["bob"].data.wait(lambda d: d.data == "to bob", "bob to get alice's data")
    room.heard["alice"].data.wait(lambda d: d.data == b"back", "alice to get bob's data")
    assert room.data_texts("bob") == [("alice", "to bob", "coordinator")]
    assert room.data_texts("carol") == [("alice", "to bob", "datachannel")]
    assert room.data_texts("alice") == [("bob", b"back", "coordinator")]

    room.clients["bob"].sc.end_call().result(RESULT)
    with pytest.raises(InvalidState, match="join it to send a message"):
        bob.send_message("gone").result(RESULT)
