"""Store writes leave the event loop: a slow store never holds up a request, and writes
land in the order they were made."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamcall_widget.coordinator import Coordinator, CoordinatorConfig, mint_token
from streamcall_widget.coordinator.store import (
    DeleteConnection,
    MemoryStore,
    SaveConnection,
    SqliteStore,
    StoredCall,
    StoredConnection,
    StoreWrite,
)
from streamcall_widget.coordinator.writer import StoreWriter

from .conftest import APP, FakeClock
from .flows import create
from .wsclient import WsClient


class GatedStore(MemoryStore):
    """A store whose every write waits until the test opens the gate, as a stuck disk would;
    it records what it was asked, in order."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.done: list[str] = []
        self.closed = False

    def save(self, app: str, call: StoredCall) -> None:
        self.gate.wait()
        self.done.append(f"call {call.call.cid}")

    def save_connection(self, connection: StoredConnection) -> None:
        self.gate.wait()
        self.done.append(f"connection {connection.user_id}")

    def delete_connection(self, connection_id: str) -> None:
        self.gate.wait()
        self.done.append("delete")

    def close(self) -> None:
        self.closed = True


def _connection(user_id: str) -> StoredConnection:
    return StoredConnection(id=user_id, app="a", user_id=user_id, role="user", resume_digest="d")


def test_writer_applies_writes_in_order_then_closes_the_store() -> None:
    """Writes land one by one in submission order; close() finishes them, then closes."""
    store = GatedStore()
    store.gate.set()
    writer = StoreWriter(store)
    writes: list[StoreWrite] = [SaveConnection(_connection(f"u{n}")) for n in range(50)]
    writes.append(DeleteConnection("u0"))
    writer.submit(writes)
    writer.close()
    assert store.done == [f"connection u{n}" for n in range(50)] + ["delete"]
    assert store.closed


class FailingOnce(GatedStore):
    """Fails its first connection write, like a full disk that frees up."""

    def save_connection(self, connection: StoredConnection) -> None:
        if not self.done:
            self.done.append("failed")
            raise OSError("disk full")
        super().save_connection(connection)


def test_a_failed_write_is_logged_and_the_next_ones_land(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One write failing loses that write only: it is logged, the thread goes on."""
    store = FailingOnce()
    store.gate.set()
    writer = StoreWriter(store)
    writer.submit([SaveConnection(_connection("a")), SaveConnection(_connection("b"))])
    writer.close()
    assert store.done == ["failed", "connection b"]
    assert "store write SaveConnection failed" in caplog.text


def test_sqlite_store_keeps_connections_until_deleted(tmp_path: Path) -> None:
    """Connection records round-trip through the file and go when deleted."""
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path)
    store.save_connection(_connection("alice"))
    store.save_connection(_connection("bob"))
    store.delete_connection("alice")
    store.close()
    again = SqliteStore(path)
    assert [c.user_id for c in again.load_connections()] == ["bob"]
    again.close()


async def test_a_slow_store_does_not_block_requests(clock: FakeClock) -> None:
    """While the store is stuck in a write, logins, calls, joins and pings are all answered;
    once it is unstuck every write lands, in order."""
    store = GatedStore()
    config = CoordinatorConfig(apps=(APP,))
    server = Coordinator(config, clock=clock, store=store)
    await server.start()
    clients: list[WsClient] = []
    try:
        for user_id in ("alice", "bob"):
            token = mint_token(APP.api_secret, user_id, now=clock())
            clients.append(await WsClient.login(server.url, APP.api_key, token, user_id))
        alice, bob = clients
        await create(alice, "c1", ["bob"])
        await alice.request("call.join", cid="default:c1")
        await bob.request("call.join", cid="default:c1")
        assert "server_time" in await bob.request("ping")
        assert store.done == []  # the writer thread is still stuck in the first write
        store.gate.set()
        for _ in range(500):
            if len(store.done) == 5:
                break
            await asyncio.sleep(0.01)
        # One write per request that changed the call: created, alice joined, bob joined.
        assert store.done == ["connection alice", "connection bob"] + ["call default:c1"] * 3
    finally:
        store.gate.set()
        for client in clients:
            await client.close()
        await server.stop()
    assert store.closed


def _iter_calls(store: SqliteStore) -> Iterator[str]:
    return (stored.call.cid for _, stored in store.load())


async def test_stop_finishes_queued_writes(tmp_path: Path, clock: FakeClock) -> None:
    """Writes still queued when the coordinator stops reach the file before it closes."""
    path = tmp_path / "calls.sqlite3"
    config = CoordinatorConfig(apps=(APP,), db=str(path))
    token = mint_token(APP.api_secret, "alice", now=clock())
    async with Coordinator(config, clock=clock) as server:
        alice = await WsClient.login(server.url, APP.api_key, token, "alice")
        for n in range(20):
            await create(alice, f"c{n}", [])
        await alice.close()
    store = SqliteStore(path)
    assert sorted(_iter_calls(store)) == sorted(f"default:c{n}" for n in range(20))
    store.close()
