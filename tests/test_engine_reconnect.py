"""A dropped coordinator connection: the client reconnects and resumes its call session, or
joins again when the session cannot be resumed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSCloseCode

from streamcall_widget import Call, CallEvent, CallState, StreamCall
from streamcall_widget.engine.connection import ResumeTicket
from streamcall_widget.engine.stamp import read_stamp, user_stamp


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[StreamCall, StreamCall]]:
    """Alice (hosting the embedded coordinator) and Bob, logged in."""
    alice = StreamCall(runtime_dir=tmp_path, settings_dir=tmp_path)
    bob = StreamCall(runtime_dir=tmp_path, settings_dir=tmp_path)
    alice.login("alice").result(10)
    bob.login("bob").result(10)
    yield alice, bob
    bob.close()
    alice.close()


def _drop_connection(host: StreamCall, user_id: str) -> None:
    """Close ``user_id``'s WebSocket from the server side, as a network failure would."""
    assert host._target is not None
    assert host._target.embedded is not None
    coordinator = host._target.embedded.coordinator

    async def drop() -> None:
        for peer in list(coordinator._peers.values()):
            record = coordinator.control._connections.get(peer.id)
            if record is not None and record.user_id == user_id:
                await peer.ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"test drop")

    host.engine.submit(drop()).result(10)


def _wait(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _call_with_video(
    pair: tuple[StreamCall, StreamCall],
) -> tuple[Call, Call, list[CallState], list[CallEvent], list[int | None], threading.Event]:
    """Alice and Bob in a call, Bob receiving Alice's video; what each sees is recorded."""
    alice, bob = pair
    states: list[CallState] = []
    alice.add_listener("callEvent", lambda e: states.append(e.state))
    bob_events: list[CallEvent] = []
    bob.add_listener("callEvent", bob_events.append)
    call = alice.call(["bob"], ring=False).result(10)
    bob_call = bob.join_call(call.id).result(10)
    stamps: list[int | None] = []
    arrived = threading.Event()

    def keep(_participant: object, frame: Any) -> None:
        stamps.append(read_stamp(frame))
        arrived.set()

    bob_call.on_remote_video(keep)
    assert arrived.wait(30)
    return call, bob_call, states, bob_events, stamps, arrived


def test_dropped_connection_resumes_its_session(pair: tuple[StreamCall, StreamCall]) -> None:
    """Alice's socket drops mid-call: she goes reconnecting -> joined with the same session
    (session.resume), Bob sees her neither leave nor join, and her video goes on."""
    alice, _bob = pair
    call, bob_call, states, bob_events, stamps, arrived = _call_with_video(pair)
    old_session = call.session_id
    bob_events.clear()

    _drop_connection(alice, "alice")
    _wait(lambda: CallState.RECONNECTING in states)
    call.wait_until(CallState.JOINED).result(30)
    _wait(lambda: CallState.JOINED in states[states.index(CallState.RECONNECTING) :])
    assert call.session_id == old_session

    arrived.clear()
    stamps.clear()
    assert arrived.wait(30), "no video from Alice after she resumed"
    _wait(lambda: user_stamp("alice") in stamps)
    assert [p.user_id for p in bob_call.remote_participants] == ["alice"]
    assert [e for e in bob_events if e.state is CallState.PARTICIPANT_COUNTS] == []


def test_a_session_that_cannot_resume_is_joined_again(pair: tuple[StreamCall, StreamCall]) -> None:
    """When the coordinator refuses the resume (here: a ticket it never issued), the client
    joins the call again with a new session, and Bob receives her video again."""
    alice, _bob = pair
    call, bob_call, states, _bob_events, stamps, arrived = _call_with_video(pair)
    old_session = call.session_id
    assert alice._conn is not None
    assert alice._conn.resume_ticket is not None
    alice._conn.resume_ticket = ResumeTicket("0" * 32, "not-a-token")

    _drop_connection(alice, "alice")
    _wait(lambda: CallState.RECONNECTING in states)
    _wait(lambda: CallState.JOINED in states[states.index(CallState.RECONNECTING) :])
    assert call.session_id not in (None, old_session)
    arrived.clear()
    stamps.clear()
    assert arrived.wait(30), "no video from Alice after she rejoined"
    _wait(lambda: user_stamp("alice") in stamps)
    _wait(lambda: [p.user_id for p in bob_call.remote_participants] == ["alice"])


def test_events_after_reconnect_reach_listeners(pair: tuple[StreamCall, StreamCall]) -> None:
    """After a reconnection outside a call, the client is still rung."""
    alice, bob = pair
    rings: list[CallEvent] = []
    bob.add_listener(
        "callEvent", lambda e: rings.append(e) if e.state is CallState.RINGING else None
    )
    _drop_connection(alice, "bob")
    _wait(
        lambda: (
            bob._conn is not None
            and bob._conn.connected
            and bob._reconnect_task is not None
            and bob._reconnect_task.done()
        )
    )
    alice.call(["bob"]).result(10)
    _wait(lambda: bool(rings))
    assert rings[0].caller is not None
    assert rings[0].caller.user_id == "alice"
