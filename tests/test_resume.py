"""Session resume against the real coordinator, with real WebSocket clients.

A socket that drops keeps its call sessions for ``session_grace`` seconds; the same user's
new connection takes them back with ``session.resume`` (old connection id + the secret
resume token of its auth result) and nobody else sees a leave or a join. After the grace
period the sessions leave for good. A coordinator restarted on the same SQLite database
lets its clients resume too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from streamcall_widget.coordinator import Coordinator, CoordinatorConfig, mint_token
from streamcall_widget.coordinator.ids import CountingIds
from streamcall_widget.errors import InvalidState, NotAllowed, SessionNotFound

from .conftest import APP, FakeClock, Login
from .flows import create, events_of, types
from .ports import free_port
from .test_cli import start_serve, wait_healthy
from .wsclient import WsClient

GRACE = 30.0


async def drop(coordinator: Coordinator, client: WsClient) -> None:
    """Cut ``client``'s TCP connection from the server side, as a network failure would,
    and wait until the coordinator has dealt with it."""
    connection_id = client.auth["connection_id"]
    coordinator._peers[connection_id].transport.abort()
    await client.wait_closed()
    for _ in range(1000):
        if connection_id not in coordinator._peers:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the coordinator never noticed {connection_id} dropped")


async def rung_call(login: Login, call_id: str = "c1") -> tuple[WsClient, WsClient, str, str]:
    """alice rings bob, bob accepts, both join: (alice, bob, cid, bob's session id)."""
    alice = await login("alice")
    bob = await login("bob")
    cid = f"default:{call_id}"
    await create(alice, call_id, ["bob"], ring=True)
    await bob.request("call.accept", cid=cid)
    await alice.request("call.join", cid=cid)
    joined = await bob.request("call.join", cid=cid)
    await events_of(alice, bob)
    return alice, bob, cid, joined["session_id"]


async def resume(client: WsClient, old: WsClient) -> Any:
    """``session.resume`` of ``old``'s connection on ``client``."""
    return await client.request(
        "session.resume",
        connection_id=old.auth["connection_id"],
        resume_token=old.auth["resume_token"],
    )


async def test_the_server_takes_its_ids_from_the_injected_source(clock: FakeClock) -> None:
    """A coordinator given counting ids hands them out as they are: connection ids, resume
    tokens and session ids are exact on the wire."""
    config = CoordinatorConfig(apps=(APP,))
    async with Coordinator(config, clock=clock, ids=CountingIds()) as server:
        token = mint_token(APP.api_secret, "alice", now=clock())
        alice = await WsClient.login(server.url, APP.api_key, token, "alice")
        try:
            assert alice.auth["connection_id"] == "connection-1"
            assert alice.auth["resume_token"] == "resume_token-2"
            await create(alice, "c1", [])
            joined = await alice.request("call.join", cid="default:c1")
            assert joined["session_id"] == "session-3"
            assert joined["call"]["session"]["id"] == "call_session-4"
        finally:
            await alice.close()


async def test_auth_result_hands_out_a_resume_token_and_the_grace(login: Login) -> None:
    """Each connection gets its own secret token; the limits say how long sessions wait."""
    first = await login("alice")
    second = await login("alice")
    assert first.auth["resume_token"] != second.auth["resume_token"]
    assert len(first.auth["resume_token"]) >= 43
    assert first.auth["limits"]["session_grace"] == GRACE


async def test_dropped_socket_resumes_its_session_unseen_by_others(
    login: Login, coordinator: Coordinator
) -> None:
    """Bob's socket drops; his new connection resumes the same session; alice sees no leave
    and no join, and her signals reach bob's new connection."""
    alice, bob, cid, bob_session = await rung_call(login)
    await drop(coordinator, bob)
    assert await events_of(alice) == [[]]
    bob2 = await login("bob")
    assert bob2.auth["connection_id"] != bob.auth["connection_id"]
    result = await resume(bob2, bob)
    assert result == {"sessions": [{"cid": cid, "session_id": bob_session}]}
    assert await events_of(alice, bob2) == [[], []]
    got = await alice.request("call.get", cid=cid)
    assert bob_session in [p["session_id"] for p in got["call"]["session"]["participants"]]
    signal = {"kind": "offer", "sdp": "v=0\r\n"}
    await alice.request("call.signal", cid=cid, session_id=bob_session, signal=signal)
    event = await bob2.next_event("call.signal")
    assert event["signal"] == signal
    assert event["session_id"] == bob_session


async def test_signal_sent_during_the_drop_arrives_after_the_resume(
    login: Login, coordinator: Coordinator
) -> None:
    """A signal for a dropped session is kept and delivered to the connection resuming it."""
    alice, bob, cid, bob_session = await rung_call(login)
    await drop(coordinator, bob)
    candidate = {"kind": "candidate", "candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host"}
    await alice.request("call.signal", cid=cid, session_id=bob_session, signal=candidate)
    bob2 = await login("bob")
    await resume(bob2, bob)
    (event,) = (await events_of(bob2))[0]
    assert event["type"] == "call.signal"
    assert event["signal"] == candidate


async def test_grace_expiry_leaves_for_good_and_ends_the_one_to_one_call(
    login: Login, coordinator: Coordinator, clock: FakeClock
) -> None:
    """After the grace period bob's session leaves (disconnected), the rung call of two ends
    for alice with bob as who left, and a late resume gets SESSION_NOT_FOUND."""
    alice, bob, _, bob_session = await rung_call(login)
    await drop(coordinator, bob)
    clock.advance(GRACE - 1)
    coordinator.run_timers()
    assert await events_of(alice) == [[]]
    clock.advance(1)
    coordinator.run_timers()
    (seen,) = await events_of(alice)
    assert types(seen) == [
        "call.session_participant_left",
        "call.ended",
        "call.session_ended",
    ]
    assert seen[0]["reason"] == "disconnected"
    assert seen[0]["participant"]["session_id"] == bob_session
    assert seen[1]["reason"] == "disconnected"
    assert seen[1]["user"]["id"] == "bob"
    bob2 = await login("bob")
    with pytest.raises(SessionNotFound):
        await resume(bob2, bob)


async def test_resume_refused_for_another_user_a_wrong_token_or_an_unknown_connection(
    login: Login, coordinator: Coordinator
) -> None:
    """A wrong token or an unknown connection is SESSION_NOT_FOUND, bob's token used by
    carol NOT_ALLOWED; none of them spends the session, which bob then resumes."""
    alice, bob, cid, bob_session = await rung_call(login)
    await drop(coordinator, bob)
    carol = await login("carol")
    with pytest.raises(NotAllowed):
        await resume(carol, bob)
    bob2 = await login("bob")
    old = bob.auth["connection_id"]
    with pytest.raises(SessionNotFound):
        await bob2.request("session.resume", connection_id=old, resume_token="guess")
    with pytest.raises(SessionNotFound):
        await bob2.request(
            "session.resume", connection_id="0" * 32, resume_token=bob.auth["resume_token"]
        )
    result = await resume(bob2, bob)
    assert result["sessions"] == [{"cid": cid, "session_id": bob_session}]
    bob3 = await login("bob")
    with pytest.raises(SessionNotFound):
        await resume(bob3, bob)  # a token is good for one resume
    assert await events_of(alice) == [[]]


async def test_a_connection_that_joined_cannot_resume(
    login: Login, coordinator: Coordinator
) -> None:
    """Resume comes first on a new connection: after a join it is INVALID_STATE."""
    _, bob, _, _ = await rung_call(login)
    await drop(coordinator, bob)
    bob2 = await login("bob")
    await create(bob2, "other", [])
    await bob2.request("call.join", cid="default:other")
    with pytest.raises(InvalidState):
        await resume(bob2, bob)


async def test_resume_of_a_still_open_connection_takes_over_and_closes_it(
    login: Login,
) -> None:
    """A client that sees its socket die before the server does resumes at once: the new
    connection takes the sessions and the old socket is closed by the server."""
    alice, bob, cid, bob_session = await rung_call(login)
    bob2 = await login("bob")
    result = await resume(bob2, bob)
    assert result["sessions"] == [{"cid": cid, "session_id": bob_session}]
    assert await bob.wait_closed() == 1000
    assert await events_of(alice) == [[]]
    await bob2.request("call.leave", cid=cid)
    (seen,) = await events_of(alice)
    assert types(seen)[:2] == ["call.session_participant_left", "call.ended"]


async def test_a_clean_close_leaves_at_once(login: Login) -> None:
    """A client closing its socket itself (close frame 1000) leaves now: no grace period."""
    alice, bob, _, _ = await rung_call(login)
    await bob.close()
    seen = await alice.next_event("call.session_participant_left")
    assert seen["reason"] == "disconnected"
    ended = await alice.next_event("call.ended")
    assert ended["user"]["id"] == "bob"


async def test_a_restarted_coordinator_lets_clients_resume_their_call(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Stop the coordinator mid-call, start another on the same database: both clients
    resume their sessions (same ids), see nobody leave, and the call's session goes on."""
    config = CoordinatorConfig(apps=(APP,), db=str(tmp_path / "calls.sqlite3"))

    async def login_to(server: Coordinator, user_id: str) -> WsClient:
        token = mint_token(APP.api_secret, user_id, now=clock())
        return await WsClient.login(server.url, APP.api_key, token, user_id)

    first = Coordinator(config, clock=clock)
    await first.start()
    alice = await login_to(first, "alice")
    bob = await login_to(first, "bob")
    await create(alice, "c1", ["bob"], ring=True)
    await bob.request("call.accept", cid="default:c1")
    a = await alice.request("call.join", cid="default:c1")
    b = await bob.request("call.join", cid="default:c1")
    call_session = b["call"]["session"]["id"]
    await first.stop()
    await alice.close()
    await bob.close()

    second = Coordinator(config, clock=clock)
    await second.start()
    clients: list[WsClient] = []
    try:
        alice2 = await login_to(second, "alice")
        bob2 = await login_to(second, "bob")
        clients += [alice2, bob2]
        assert (await resume(alice2, alice))["sessions"] == [
            {"cid": "default:c1", "session_id": a["session_id"]}
        ]
        assert (await resume(bob2, bob))["sessions"] == [
            {"cid": "default:c1", "session_id": b["session_id"]}
        ]
        clock.advance(GRACE + 1)
        second.run_timers()
        assert await events_of(alice2, bob2) == [[], []]
        got = await alice2.request("call.get", cid="default:c1")
        assert got["call"]["session"]["id"] == call_session
        assert sorted(p["session_id"] for p in got["call"]["session"]["participants"]) == sorted(
            [a["session_id"], b["session_id"]]
        )
        signal = {"kind": "answer", "sdp": "v=0\r\n"}
        await alice2.request(
            "call.signal", cid="default:c1", session_id=b["session_id"], signal=signal
        )
        assert (await bob2.next_event("call.signal"))["signal"] == signal
    finally:
        for client in clients:
            await client.close()
        await second.stop()


async def test_after_a_restart_unresumed_sessions_leave_when_the_grace_ends(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Sessions restored from the database that nobody resumes leave (disconnected) at the
    end of the grace period, as members see when they come back."""
    config = CoordinatorConfig(apps=(APP,), db=str(tmp_path / "calls.sqlite3"))
    token = mint_token(APP.api_secret, "alice", now=clock())
    async with Coordinator(config, clock=clock) as first:
        alice = await WsClient.login(first.url, APP.api_key, token, "alice")
        await create(alice, "c1", [])
        await alice.request("call.join", cid="default:c1")
    await alice.close()
    async with Coordinator(config, clock=clock) as second:
        alice2 = await WsClient.login(second.url, APP.api_key, token, "alice")
        try:
            got = await alice2.request("call.get", cid="default:c1")
            assert got["call"]["session"]["participant_count"]["total"] == 1
            clock.advance(GRACE)
            second.run_timers()
            seen = [e["type"] for e in (await events_of(alice2))[0]]
            assert seen == ["call.session_participant_left", "call.session_ended"]
            got = await alice2.request("call.get", cid="default:c1")
            assert got["call"]["session"]["participants"] == []
        finally:
            await alice2.close()


async def _start_serve(port: int, db: Path) -> asyncio.subprocess.Process:
    proc = await start_serve(
        port, db, APP.api_key, APP.api_secret, stderr=asyncio.subprocess.DEVNULL
    )
    await wait_healthy(f"http://127.0.0.1:{port}/health", proc)
    return proc


def _stored_sessions(db: Path) -> tuple[int, int]:
    """(participants stored for default:c1, connection records stored), read from the file."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT data FROM calls WHERE cid = 'default:c1'").fetchall()
        connections = conn.execute("SELECT count(*) FROM connections").fetchone()[0]
    if not rows:
        return 0, int(connections)
    session = json.loads(rows[0][0])["call"]["session"] or {}
    return len(session.get("participants", [])), int(connections)


async def test_kill_9_of_the_server_mid_call_and_restart_lets_both_resume(
    tmp_path: Path,
) -> None:
    """``streamcall serve`` killed with SIGKILL mid-call and started again on the same port
    and database: both clients resume their sessions and the call goes on."""
    port = free_port()
    db = tmp_path / "serve.sqlite3"
    url = f"ws://127.0.0.1:{port}/ws"

    async def login_as(user_id: str) -> WsClient:
        return await WsClient.login(url, APP.api_key, mint_token(APP.api_secret, user_id), user_id)

    proc = await _start_serve(port, db)
    clients: list[WsClient] = []
    try:
        alice, bob = await login_as("alice"), await login_as("bob")
        clients += [alice, bob]
        await create(alice, "c1", ["bob"], ring=True)
        await bob.request("call.accept", cid="default:c1")
        a = await alice.request("call.join", cid="default:c1")
        b = await bob.request("call.join", cid="default:c1")
        for _ in range(500):  # the writer thread has stored both sessions
            if _stored_sessions(db) == (2, 2):
                break
            await asyncio.sleep(0.01)
        assert _stored_sessions(db) == (2, 2)
        proc.kill()
        await proc.wait()
        await alice.wait_closed()
        await bob.wait_closed()

        proc = await _start_serve(port, db)
        alice2, bob2 = await login_as("alice"), await login_as("bob")
        clients += [alice2, bob2]
        assert (await resume(alice2, alice))["sessions"] == [
            {"cid": "default:c1", "session_id": a["session_id"]}
        ]
        assert (await resume(bob2, bob))["sessions"] == [
            {"cid": "default:c1", "session_id": b["session_id"]}
        ]
        got = await bob2.request("call.get", cid="default:c1")
        assert got["call"]["session"]["id"] == a["call"]["session"]["id"]
        assert got["call"]["session"]["participant_count"]["total"] == 2
        assert await events_of(alice2, bob2) == [[], []]
    finally:
        for client in clients:
            await client.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
