"""Watchable call properties (seed 001's ``ReadonlyWatchable``) and SignalWire's state view
(seed 004), with real peers: the exact ``(new, old)`` sequences watchers get over a whole
call, on both sides, a rejoin, and bad property names."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import WSCloseCode

from streamcall_widget import Call, CallState
from streamcall_widget.engine.connection import ResumeTicket
from streamcall_widget.engine.watchables import WATCHABLE
from streamcall_widget.errors import InvalidArguments
from streamcall_widget.protocol.signalwire import SignalWireState, SignalWireView

from .engine_helpers import RESULT, Client, Clients, Recorder, wait_for

Change = tuple[Any, Any]
S = SignalWireState


def watch(call: Call, name: str) -> Recorder[Change]:
    """Record every ``(new, old)`` of ``call.name``."""
    changes: Recorder[Change] = Recorder()
    call.watch(name, lambda new, old: changes((new, old)))
    return changes


def views(*words: SignalWireState) -> list[Change]:
    """The ``(new, old)`` views of a SignalWire word sequence starting at ``words[:2]``."""
    made = [SignalWireView(words[1], words[0])]
    for word in words[2:]:
        made.append(SignalWireView(word, made[-1].state))
    return list(zip(made[1:], made[:-1], strict=True))


def wait_purged(client: Client, changes: Recorder[Change]) -> None:
    """Wait until the call's watchers heard ``purge`` (the last thing they hear)."""
    changes.wait(lambda c: c[0].state is S.PURGE, f"{client.user_id}'s call to be purged")
    client.flush()


def test_a_whole_call_as_watchers_see_it(clients: Clients) -> None:
    """Ring, answer, talk, hold and unhold, hang up: state, previous_state, is_on_hold
    and the SignalWire view change in exact order on both sides; duration counts whole
    seconds from the join and stops; remote_display_name names the other party; a
    raising watcher is reported once and the others still run."""
    alice, bob = clients("alice", name="Alice"), clients("bob", name="Bob")
    outgoing = alice.sc.call(["bob"]).result(RESULT)
    assert (outgoing.state, outgoing.previous_state) == (CallState.RINGING, CallState.IDLE)
    assert outgoing.signalwire == SignalWireView(S.TRYING, S.REQUESTING)
    a_state, a_prev = watch(outgoing, "state"), watch(outgoing, "previous_state")
    a_sw, a_duration = watch(outgoing, "signalwire"), watch(outgoing, "duration")
    a_remote, a_local = watch(outgoing, "remote_streams"), watch(outgoing, "local_streams")

    def broken(_new: object, _old: object) -> None:
        raise RuntimeError("watcher bug")

    outgoing.watch("state", broken)
    ringing = bob.wait_ringing(outgoing.cid)
    assert ringing.signalwire == SignalWireView(S.RINGING, S.NEW)
    assert (ringing.duration, ringing.started_at) == (0.0, None)
    b_state, b_sw = watch(ringing, "state"), watch(ringing, "signalwire")
    assert (outgoing.remote_display_name, ringing.remote_display_name) == ("Bob", "Alice")
    assert (outgoing.remote_uri, ringing.remote_uri) == ("streamcall:bob", "streamcall:alice")

    bob.sc.accept_call().result(RESULT)
    outgoing.wait_until(CallState.JOINED).result(RESULT)
    a_duration.wait(lambda c: c[0] >= 2, "alice's call to last 2 s")
    assert outgoing.started_at is not None
    assert outgoing.started_at == ringing.started_at
    a_remote.wait(lambda c: len(c[0]) == 2, "bob's audio and video to arrive at alice")
    session = outgoing.session_id
    held = watch(outgoing, "is_on_hold")
    outgoing.hold().result(RESULT)
    outgoing.unhold().result(RESULT)
    alice.sc.end_call().result(RESULT)
    wait_purged(alice, a_sw)
    wait_purged(bob, b_sw)

    joined_and_left = [
        (CallState.JOINING, CallState.RINGING),
        (CallState.JOINED, CallState.JOINING),
        (CallState.LEFT, CallState.JOINED),
    ]
    assert a_state.items == b_state.items == joined_and_left
    assert a_prev.items == [
        (CallState.RINGING, CallState.IDLE),
        (CallState.JOINING, CallState.RINGING),
        (CallState.JOINED, CallState.JOINING),
    ]
    ends = (S.HANGUP, S.DESTROY, S.PURGE)
    assert a_sw.items == views(S.REQUESTING, S.TRYING, S.EARLY, S.ACTIVE, S.HELD, S.ACTIVE, *ends)
    assert held.items == [(True, False), (False, True)]
    assert b_sw.items == views(S.NEW, S.RINGING, S.ANSWERING, S.ACTIVE, *ends)
    whole = [int(new) for new, _old in a_duration.items]
    assert whole[0] >= 1
    assert whole == sorted(set(whole))  # at most once a second, always forward
    news, olds = zip(*a_duration.items, strict=True)
    assert olds == (0.0, *news[:-1])
    assert outgoing.duration == outgoing.duration >= a_duration.items[-1][0]
    sent = [[(s.ref.session_id, s.ref.track_type) for s in new] for new, _old in a_local.items]
    assert [(session, "audio"), (session, "video")] in sent  # once joined: this session's
    assert a_local.items[-1][0] == ()  # closed with the call
    reports = alice.errors_in("state watcher")
    assert [str(r.error) for r in reports] == ["watcher bug"] * len(joined_and_left)  # once each


def test_watch_refuses_unknown_names_and_non_callables(clients: Clients) -> None:
    """An unknown property name is InvalidArguments listing the watchable ones; nothing
    about the call changes; every watchable name can be watched."""
    alice = clients("alice")
    call = alice.sc.call(["bob"], ring=False).result(RESULT)
    with pytest.raises(InvalidArguments, match="'duartion' cannot be watched; watchable: state"):
        call.watch("duartion", print)
    with pytest.raises(InvalidArguments, match="callable"):
        call.watch("state", "print")  # type: ignore[arg-type]
    handles = [call.watch(name, lambda _new, _old: None) for name in WATCHABLE]
    assert [h.event for h in handles] == list(WATCHABLE)
    for handle in handles:
        handle.remove()
    assert call.state is CallState.JOINED


def _drop_with_stale_ticket(host: Client, user: Client) -> None:
    """Close ``user``'s socket from the server side with a resume ticket the coordinator
    never issued: the client must join the call again with a new session."""
    conn = user.sc._conn
    assert conn is not None
    conn.resume_ticket = ResumeTicket("0" * 32, "not-a-token")
    target = host.sc._target
    assert target is not None
    assert target.embedded is not None
    coordinator = target.embedded.coordinator

    async def drop() -> None:
        for peer in list(coordinator._peers.values()):
            record = coordinator.control._connections.get(peer.id)
            if record is not None and record.user_id == user.user_id:
                await peer.ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"test drop")

    host.sc.engine.submit(drop()).result(RESULT)


def test_status_and_duration_after_a_rejoin(clients: Clients) -> None:
    """After the socket drops and the call is joined again with a new session, the status
    says joined with both participants, the client is logged in, duration kept counting
    and the watchers saw reconnecting (SignalWire: recovering) and back."""
    alice, bob = clients("alice"), clients("bob")
    call = alice.sc.call(["bob"], ring=False).result(RESULT)
    bob.sc.join_call(call.id).result(RESULT)
    wait_for(lambda: call.participant_count == 2, "bob in alice's call")
    states, sw = watch(call, "state"), watch(call, "signalwire")
    before, old_session = call.duration, call.session_id

    _drop_with_stale_ticket(alice, bob)  # bob's socket: alice keeps the coordinator
    _drop_with_stale_ticket(alice, alice)
    states.wait(lambda c: c[0] is CallState.JOINED, "alice back in the call")
    assert call.session_id not in (None, old_session)
    status = alice.sc.get_call_status().result(RESULT)
    wait_for(lambda: alice.sc.status == "logged_in", "alice logged in again")
    assert (status.state, status.call_id) == (CallState.JOINED, call.id)
    wait_for(
        lambda: alice.sc.get_call_status().result(RESULT).count == 2,
        "alice's status to count her and bob once each",
    )
    assert sorted(p.user_id for p in call.participants) == ["alice", "bob"]
    assert call.duration > before
    assert states.items == [
        (CallState.RECONNECTING, CallState.JOINED),
        (CallState.JOINED, CallState.RECONNECTING),
    ]
    assert sw.items == views(S.EARLY, S.ACTIVE, S.RECOVERING, S.ACTIVE)
