"""CallControl alone, with no server and no event loop: exact ids, events and store writes.

The rules are sans-I/O: requests and the time go in, replies, deliveries and store writes
come out. With a counting id source every id is known in advance, so flows are asserted
exactly (python-websockets' ``tests/test_protocol.py`` style).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamcall_widget.coordinator.control import HANDLERS, CallControl
from streamcall_widget.coordinator.ids import CountingIds, random_ids
from streamcall_widget.coordinator.resume import digest
from streamcall_widget.coordinator.store import (
    DeleteConnection,
    MemoryStore,
    SaveCall,
    SaveConnection,
    StoredCall,
    StoredConnection,
    StoreWrite,
)
from streamcall_widget.errors import InvalidState, NotAllowed, SessionNotFound
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.events import CallEnded, Event
from streamcall_widget.protocol.models import MemberInput, Signal, SignalKind, UserInput
from streamcall_widget.protocol.replies import REPLIES, ResumedSession

APP = "app"
T0 = 1_790_000_000.0
GRACE = 30.0


def control() -> CallControl:
    return CallControl(MemoryStore(), now=T0, ids=CountingIds(), session_grace=GRACE)


def connect(ctl: CallControl, user_id: str, now: float = T0) -> tuple[str, str]:
    """A new connection of ``user_id``: its id and resume token."""
    connection_id = ctl.new_id()
    _, token = ctl.connect(
        APP, connection_id, UserInput(id=user_id), role="user", call_cids=None, now=now
    )
    return connection_id, token


def tag(event: Event) -> str:
    """An event's wire type."""
    return str(event.__struct_config__.tag)


def events(ctl: CallControl) -> list[tuple[str, str, str | None]]:
    """(recipient, event type, connection or None) of the deliveries since the last call."""
    return [(d.user_id, tag(d.event), d.connection_id) for d in ctl.take_deliveries()]


def one_to_one(ctl: CallControl, call_id: str = "c1") -> tuple[str, str, str, str]:
    """alice rings bob, bob accepts and both join: (alice conn, bob conn, bob token, cid)."""
    alice, _ = connect(ctl, "alice")
    bob, bob_token = connect(ctl, "bob")
    cid = f"default:{call_id}"
    ctl.handle(
        alice,
        rq.GetOrCreateCall(
            id="1",
            call_type="default",
            call_id=call_id,
            members=[MemberInput(user_id="bob")],
            ring=True,
        ),
        T0,
    )
    ctl.handle(bob, rq.AcceptCall(id="2", cid=cid), T0)
    ctl.handle(alice, rq.JoinCall(id="3", cid=cid), T0)
    ctl.handle(bob, rq.JoinCall(id="4", cid=cid), T0)
    ctl.take_deliveries()
    ctl.take_writes()
    return alice, bob, bob_token, cid


def test_every_request_has_one_handler_and_one_reply_shape() -> None:
    """The registry covers every request but auth (the server's), and REPLIES every request."""
    assert set(HANDLERS) == set(rq.REQUEST_TYPES) - {rq.Auth}
    assert set(REPLIES) == set(rq.REQUEST_TYPES)


RULE_MODULES = (
    "context",
    "control",
    "calls",
    "ring",
    "sessions",
    "participants",
    "media",
    "moderation",
    "broadcast",
    "call_controls",
    "reads",
    "resume",
    "persist",
    "ids",
    "state",
    "query",
)
"""The coordinator's sans-I/O part: everything but the server, store, writer, hub, auth."""

IMPURE = {"asyncio", "aiohttp", "threading", "sqlite3", "socket", "time", "uuid", "random"}


@pytest.mark.parametrize("name", RULE_MODULES)
def test_rule_modules_do_no_io(name: str) -> None:
    """No rule module imports an event loop, a socket, a thread, a database or a clock;
    only ids.py may import uuid and secrets (it is the injected default source)."""
    path = Path(__file__).parent.parent / "streamcall_widget" / "coordinator" / f"{name}.py"
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    allowed = {"uuid"} if name == "ids" else set()
    assert imported & IMPURE - allowed == set()


def test_counting_ids_give_exact_ids() -> None:
    """Connection, resume token, session and call session ids come from the injected source,
    in the order the flow asks for them."""
    ctl = control()
    alice, alice_token = connect(ctl, "alice")
    bob, bob_token = connect(ctl, "bob")
    assert (alice, alice_token) == ("connection-1", "resume_token-2")
    assert (bob, bob_token) == ("connection-3", "resume_token-4")
    ctl.handle(
        alice,
        rq.GetOrCreateCall(
            id="1", call_type="default", call_id="c1", members=[MemberInput(user_id="bob")]
        ),
        T0,
    )
    first = ctl.handle(alice, rq.JoinCall(id="2", cid="default:c1"), T0)
    second = ctl.handle(bob, rq.JoinCall(id="3", cid="default:c1"), T0)
    assert first.session_id == "session-5"
    assert first.call.session is not None
    assert first.call.session.id == "call_session-6"
    assert second.session_id == "session-7"
    assert events(ctl) == [
        ("alice", "call.created", None),
        ("bob", "call.created", None),
        ("alice", "call.session_started", None),
        ("bob", "call.session_started", None),
        ("alice", "call.session_participant_joined", None),
        ("bob", "call.session_participant_joined", None),
        ("alice", "call.session_participant_joined", None),
        ("bob", "call.session_participant_joined", None),
    ]


def test_random_ids_are_unguessable_tokens() -> None:
    """The default source gives 32-hex ids and 43-character (256-bit) resume tokens."""
    assert len(random_ids("session")) == 32
    tokens = {random_ids("resume_token") for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) == 43 for t in tokens)


def test_store_writes_come_out_in_order_once_per_call() -> None:
    """A connect writes its record (a digest, never the token); a request that changes a call
    three times writes it once; a clean disconnect forgets the record."""
    ctl = control()
    alice, token = connect(ctl, "alice")
    (saved,) = ctl.take_writes()
    assert isinstance(saved, SaveConnection)
    assert saved.connection.resume_digest == digest(token) != token
    ctl.handle(alice, rq.GetOrCreateCall(id="1", call_type="default", call_id="c1"), T0)
    ctl.handle(alice, rq.JoinCall(id="2", cid="default:c1"), T0)
    writes: list[StoreWrite] = ctl.take_writes()
    assert [type(w) for w in writes] == [SaveCall]
    call_write = writes[0]
    assert isinstance(call_write, SaveCall)
    assert call_write.call.connections == {"session-3": alice}
    ctl.disconnect(alice, T0)
    assert [type(w) for w in ctl.take_writes()] == [DeleteConnection, SaveCall]


def test_drop_keeps_the_session_and_resume_takes_it_back() -> None:
    """A dropped connection's session stays unseen by others; a resume with the token moves
    it to the new connection, same session id, and no one gets an event."""
    ctl = control()
    _alice, bob, bob_token, cid = one_to_one(ctl)
    ctl.detach(bob, T0 + 1)
    assert events(ctl) == []
    assert ctl.next_deadline() == T0 + 1 + GRACE
    ctl.tick(T0 + GRACE)
    assert events(ctl) == []
    new_bob, _ = connect(ctl, "bob", T0 + 2)
    result = ctl.handle(
        new_bob, rq.ResumeSession(id="5", connection_id=bob, resume_token=bob_token), T0 + 2
    )
    assert result.sessions == [ResumedSession(cid=cid, session_id="session-7")]
    assert events(ctl) == []
    assert ctl.next_deadline() is None
    ctl.handle(new_bob, rq.LeaveCall(id="6", cid=cid), T0 + 3)
    assert ("alice", "call.ended", None) in events(ctl)


def test_signals_to_a_dropped_session_wait_for_its_resume() -> None:
    """A signal for a session whose connection dropped is held, then delivered to the
    connection that resumed it."""
    ctl = control()
    alice, bob, bob_token, cid = one_to_one(ctl)
    ctl.detach(bob, T0)
    offer = Signal(kind=SignalKind.OFFER, sdp="v=0")
    ctl.handle(alice, rq.SendSignal(id="7", cid=cid, session_id="session-7", signal=offer), T0)
    assert events(ctl) == []
    new_bob, _ = connect(ctl, "bob")
    ctl.handle(new_bob, rq.ResumeSession(id="8", connection_id=bob, resume_token=bob_token), T0)
    assert events(ctl) == [("bob", "call.signal", new_bob)]


def test_grace_expiry_ends_a_one_to_one_call() -> None:
    """After the grace period the session leaves (disconnected) and, the call being a rung
    call of two, it ends for alice with bob as the one who left; the resume is then refused."""
    ctl = control()
    _alice, bob, bob_token, _cid = one_to_one(ctl)
    ctl.detach(bob, T0)
    ctl.tick(T0 + GRACE)
    deliveries = ctl.take_deliveries()
    seen = [(d.user_id, tag(d.event)) for d in deliveries]
    assert seen == [
        ("alice", "call.session_participant_left"),
        ("bob", "call.session_participant_left"),
        ("alice", "call.ended"),
        ("bob", "call.ended"),
        ("alice", "call.session_ended"),
        ("bob", "call.session_ended"),
    ]
    ended = deliveries[2].event
    assert isinstance(ended, CallEnded)
    assert ended.reason == "disconnected"
    assert ended.user is not None
    assert ended.user.id == "bob"
    new_bob, _ = connect(ctl, "bob")
    with pytest.raises(SessionNotFound):
        ctl.handle(new_bob, rq.ResumeSession(id="9", connection_id=bob, resume_token=bob_token), T0)


def test_resume_refuses_a_wrong_token_another_user_and_a_busy_connection() -> None:
    """A wrong token is SESSION_NOT_FOUND; the right token from another user NOT_ALLOWED; a
    connection that already joined a call cannot resume; the session still waits after."""
    ctl = control()
    alice, bob, bob_token, cid = one_to_one(ctl)
    ctl.detach(bob, T0)
    carol, _ = connect(ctl, "carol")
    with pytest.raises(SessionNotFound):
        ctl.handle(carol, rq.ResumeSession(id="1", connection_id=bob, resume_token="x"), T0)
    with pytest.raises(NotAllowed):
        ctl.handle(carol, rq.ResumeSession(id="2", connection_id=bob, resume_token=bob_token), T0)
    with pytest.raises(InvalidState):
        ctl.handle(alice, rq.ResumeSession(id="3", connection_id=bob, resume_token=bob_token), T0)
    new_bob, _ = connect(ctl, "bob")
    result = ctl.handle(
        new_bob, rq.ResumeSession(id="4", connection_id=bob, resume_token=bob_token), T0
    )
    assert [s.cid for s in result.sessions] == [cid]


def test_group_calls_go_on_when_one_leaves() -> None:
    """Three members: bob leaving is a participant_left, never a call.ended."""
    ctl = control()
    alice, _ = connect(ctl, "alice")
    bob, _ = connect(ctl, "bob")
    carol, _ = connect(ctl, "carol")
    ctl.handle(
        alice,
        rq.GetOrCreateCall(
            id="1",
            call_type="default",
            call_id="g",
            members=[MemberInput(user_id="bob"), MemberInput(user_id="carol")],
            ring=True,
        ),
        T0,
    )
    for n, conn in enumerate((alice, bob, carol)):
        ctl.handle(conn, rq.JoinCall(id=f"j{n}", cid="default:g"), T0)
    ctl.take_deliveries()
    ctl.handle(bob, rq.LeaveCall(id="l", cid="default:g"), T0)
    assert {kind for _, kind, _ in events(ctl)} == {"call.session_participant_left"}


class _Kept(MemoryStore):
    """A store holding what another CallControl wrote."""

    def __init__(self, writes: list[StoreWrite]) -> None:
        self.calls = [(w.app, w.call) for w in writes if isinstance(w, SaveCall)]
        self.conns = [w.connection for w in writes if isinstance(w, SaveConnection)]

    def load(self) -> Iterator[tuple[str, StoredCall]]:
        return iter(self.calls)

    def load_connections(self) -> Iterator[StoredConnection]:
        return iter(self.conns)


def test_restore_brings_sessions_back_detached_even_without_their_connection() -> None:
    """What a first control stored restores into a second: bob's session resumes with his
    token; alice's, whose connection record was lost, cannot be resumed and leaves when
    the grace period ends (which ends the one-to-one call)."""
    first = control()
    alice, bob = connect(first, "alice"), connect(first, "bob")
    writes = first.take_writes()
    first.handle(
        alice[0],
        rq.GetOrCreateCall(
            id="1",
            call_type="default",
            call_id="c1",
            members=[MemberInput(user_id="bob")],
            ring=True,
        ),
        T0,
    )
    first.handle(alice[0], rq.JoinCall(id="2", cid="default:c1"), T0)
    joined = first.handle(bob[0], rq.JoinCall(id="3", cid="default:c1"), T0)
    writes += first.take_writes()
    kept = [
        w for w in writes if not (isinstance(w, SaveConnection) and w.connection.id == alice[0])
    ]

    second = CallControl(_Kept(kept), now=T0 + 5, ids=CountingIds(100), session_grace=GRACE)
    assert second.next_deadline() == T0 + 5 + GRACE
    new_bob, _ = connect(second, "bob", T0 + 6)
    resumed = second.handle(
        new_bob, rq.ResumeSession(id="4", connection_id=bob[0], resume_token=bob[1]), T0 + 6
    )
    assert resumed.sessions == [ResumedSession(cid="default:c1", session_id=joined.session_id)]
    new_alice, _ = connect(second, "alice", T0 + 6)
    with pytest.raises(SessionNotFound):
        second.handle(
            new_alice,
            rq.ResumeSession(id="5", connection_id=alice[0], resume_token=alice[1]),
            T0 + 6,
        )
    second.take_deliveries()
    second.tick(T0 + 5 + GRACE)
    assert [kind for user, kind, _ in events(second) if user == "bob"] == [
        "call.session_participant_left",
        "call.ended",
        "call.session_ended",
    ]
