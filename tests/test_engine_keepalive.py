"""The engine keeps a quiet connection open: it sends ``ping`` when idle, and only then.

The coordinator closes a connection that sends nothing for ``idle_timeout`` seconds
(1001 ``idle timeout``). These tests run a real coordinator with a short idle timeout and
count, on the server, the pings it handles. Time passing is the point here, so unlike the
other engine tests some of them sleep.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSCloseCode

from streamcall_widget import CallEvent, CallState, IncomingCall, StreamCall
from streamcall_widget.coordinator import App, Coordinator, CoordinatorConfig, Limits, mint_token
from streamcall_widget.coordinator.state import ConnectionRecord
from streamcall_widget.engine.connection import CoordinatorConnection
from streamcall_widget.engine.results import ErrorReport
from streamcall_widget.errors import InvalidState
from streamcall_widget.protocol import requests as rq
from streamcall_widget.protocol.events import AnyEvent
from streamcall_widget.protocol.models import UserInput

from .conftest import APP as SERVER_APP
from .conftest import FakeClock
from .engine_helpers import RESULT, Recorder, ServerThread, participant, wait_for

APP = App(api_key="keepalive-key", api_secret="keepalive-secret-" + "k" * 32)
IDLE = 1.5
"""The idle timeout of the engine test's server: pings every 0.5 s, a close after 1.5-1.9 s."""

PingSeen = tuple[str, str]
"""A ping the server handled: (user_id, connection_id)."""


def count_pings(coordinator: Coordinator, pings: Recorder[PingSeen]) -> None:
    """Record in ``pings`` every ``ping`` request ``coordinator`` handles."""
    handlers = coordinator.control._handlers
    answer = handlers[rq.Ping]

    def counted(conn: ConnectionRecord, request: Any, now: float) -> Any:
        pings((conn.user_id, conn.id))
        return answer(conn, request, now)

    handlers[rq.Ping] = counted


class IdleServer(ServerThread):
    """A :class:`ServerThread` with ``Limits(idle_timeout=IDLE)`` that counts pings."""

    def __init__(self, *apps: App) -> None:
        super().__init__(*apps)
        self.pings = Recorder[PingSeen]()
        self.coordinator: Coordinator | None = None

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        config = CoordinatorConfig(apps=self.apps, limits=Limits(idle_timeout=IDLE))
        async with Coordinator(config) as server:
            count_pings(server, self.pings)
            self.coordinator, self.url = server, server.url
            self._ready.set()
            await self._stop.wait()


@pytest.fixture
def idle_server() -> Iterator[IdleServer]:
    """A coordinator with a short idle timeout, in its own thread."""
    running = IdleServer(APP)
    with running:
        yield running


def test_quiet_call_stays_connected(idle_server: IdleServer, tmp_path: Path) -> None:
    """Two clients in a call, sending nothing for four idle timeouts, stay connected: each
    pings, none reconnects, and the call goes on with the same sessions."""
    events: dict[str, Recorder[CallEvent]] = {}
    errors = Recorder[ErrorReport]()
    ringing = Recorder[IncomingCall]()
    clients: dict[str, StreamCall] = {}
    try:
        for user in ("alice", "bob"):
            sc = clients[user] = StreamCall(
                url=idle_server.url,
                api_key=APP.api_key,
                runtime_dir=tmp_path,
                settings_dir=tmp_path,
                camera="synthetic-camera",
                microphone="synthetic-microphone",
            )
            events[user] = Recorder[CallEvent]()
            sc.add_listener("callEvent", events[user])
            sc.add_listener("error", errors)
            sc.login(user, token=mint_token(APP.api_secret, user)).result(RESULT)
        alice, bob = clients["alice"], clients["bob"]
        bob.add_listener("incomingCall", ringing)
        outgoing = alice.call(["bob"]).result(RESULT)
        ringing.wait(lambda i: i.cid == outgoing.cid, "bob to be rung")
        answered = bob.accept_call().result(RESULT)
        outgoing.wait_until(CallState.JOINED).result(RESULT)
        wait_for(lambda: participant(outgoing, "bob"), "bob in alice's call")
        wait_for(lambda: participant(answered, "alice"), "alice in bob's call")
        sessions = (outgoing.session_id, answered.session_id)
        connections = {user: sc._conn for user, sc in clients.items()}
        idle_server.pings.clear()

        time.sleep(4 * IDLE)

        for user, sc in clients.items():
            states = [e.state for e in events[user].items]
            assert CallState.RECONNECTING not in states, f"{user} reconnected: {states}"
            assert sc._conn is connections[user]
            assert sc._conn is not None
            assert sc._conn.connected
            seen = [conn_id for who, conn_id in idle_server.pings.items if who == user]
            # 12 expected (one per IDLE / 3 s); 3 leaves room for a busy machine.
            assert len(seen) >= 3, f"the server saw {len(seen)} pings from {user}"
            assert len(set(seen)) == 1, f"{user} pinged from several connections"
        assert errors.items == []
        assert idle_server.coordinator is not None
        assert idle_server.coordinator.connection_count == 2
        assert outgoing.state is CallState.JOINED
        assert answered.state is CallState.JOINED
        assert (outgoing.session_id, answered.session_id) == sessions
        assert participant(outgoing, "bob") is not None
        assert participant(answered, "alice") is not None
    finally:
        for sc in reversed(clients.values()):
            sc.close()


# -- the connection alone, on a coordinator in the test's loop ---------------------------


async def connect(
    coordinator: Coordinator, clock: FakeClock, closes: list[str]
) -> CoordinatorConnection:
    """An authenticated engine connection for alice; ``closes`` gets ``on_close`` reasons."""

    def ignore(_event: AnyEvent) -> None:
        pass

    conn = CoordinatorConnection(coordinator.url, on_event=ignore, on_close=closes.append)
    token = mint_token(SERVER_APP.api_secret, "alice", now=clock())
    await conn.open(SERVER_APP.api_key, token, UserInput(id="alice"))
    return conn


@pytest.mark.parametrize("limits", [Limits(idle_timeout=0.6)])
async def test_pings_only_when_idle(coordinator: Coordinator, clock: FakeClock) -> None:
    """A connection busy with requests is never pinged; a quiet one is, at most every
    ``idle_timeout / 3``; closing it stops the pings."""
    pings = Recorder[PingSeen]()
    count_pings(coordinator, pings)
    closes: list[str] = []
    conn = await connect(coordinator, clock, closes)

    for _ in range(20):  # about 1 s, five ping intervals, with a request every 0.05 s
        await conn.request(rq.QueryUsers(id="", user_ids=["alice"]))
        await asyncio.sleep(0.05)
    assert pings.items == []

    await asyncio.sleep(1.2)  # two idle timeouts of silence: a ping every 0.2 s
    assert 3 <= len(pings.items) <= 7
    assert conn.connected
    assert coordinator.connection_count == 1

    keepalive = conn._keepalive
    assert keepalive is not None
    await conn.close()
    assert keepalive.done()
    assert conn._keepalive is None
    count = len(pings.items)
    await asyncio.sleep(0.5)
    assert len(pings.items) == count
    assert closes == []


@pytest.mark.parametrize("limits", [Limits(idle_timeout=0.6)])
async def test_failed_pings_are_not_fatal(coordinator: Coordinator, clock: FakeClock) -> None:
    """Pings answered with errors keep going (the connection stays open); when the server
    drops the connection, the pinging ends quietly and ``on_close`` reports the drop."""
    pings = Recorder[PingSeen]()
    count_pings(coordinator, pings)
    counted = coordinator.control._handlers[rq.Ping]

    def refuse(conn: ConnectionRecord, request: Any, now: float) -> Any:
        counted(conn, request, now)
        raise InvalidState("no pings today")

    coordinator.control._handlers[rq.Ping] = refuse
    closes: list[str] = []
    conn = await connect(coordinator, clock, closes)
    keepalive = conn._keepalive
    assert keepalive is not None

    await asyncio.sleep(1.2)
    assert len(pings.items) >= 3
    assert conn.connected
    assert not keepalive.done()

    for peer in list(coordinator._peers.values()):
        await peer.ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"test drop")
    for _ in range(200):
        if closes:
            break
        await asyncio.sleep(0.01)
    assert closes == ["closed by the coordinator (1011)"]
    await asyncio.sleep(0)
    assert keepalive.done()
    assert keepalive.cancelled() or keepalive.exception() is None
    assert conn._keepalive is None
    await conn.close()
