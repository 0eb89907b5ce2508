"""Where calls are kept: a small interface, an in-memory store and a SQLite file store.

The coordinator keeps every call of every app in memory and writes each change through to
the store (off the event loop, see :mod:`.writer`), so history (query_calls) survives a
restart when the store is a file. So do the call sessions of the connections that were
live, with each connection's resume-token digest: after a restart the clients resume
(``session.resume``) within the grace period and keep their calls; rings are not restored.
Users' push registrations are kept too, so a user whose kernel is stopped is still rung
through push after a restart.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import msgspec

from streamcall_widget.protocol.models import CallData, MemberData

__all__ = [
    "CallStore",
    "DeleteConnection",
    "DeletePushRegistration",
    "MemoryStore",
    "SaveCall",
    "SaveConnection",
    "SavePushRegistration",
    "SqliteStore",
    "StoreWrite",
    "StoredCall",
    "StoredConnection",
    "StoredPushRegistration",
    "apply_write",
    "open_store",
]


class StoredCall(msgspec.Struct, kw_only=True):
    """What is kept of one call: its wire shape and its members."""

    call: CallData
    members: list[MemberData]
    connections: dict[str, str] = {}
    """Participant session id -> the connection holding it (who may resume it)."""
    rung: bool = False
    """Whether the call was ever rung (a rung two-member call ends when one party leaves)."""


class StoredConnection(msgspec.Struct, kw_only=True):
    """An authenticated connection, kept so its sessions can be resumed after a restart."""

    id: str
    app: str
    user_id: str
    role: str
    call_cids: list[str] | None = None
    resume_digest: str
    """SHA-256 of the connection's resume token (the token itself is never stored)."""


class StoredPushRegistration(msgspec.Struct, kw_only=True):
    """A user's push registration (``push.register``): the provider names they chose."""

    app: str
    user_id: str
    push_provider_name: str | None = None
    voip_provider_name: str | None = None


@dataclass(frozen=True, slots=True)
class SaveCall:
    """Insert or replace one call."""

    app: str
    call: StoredCall


@dataclass(frozen=True, slots=True)
class SaveConnection:
    """Insert or replace one connection record."""

    connection: StoredConnection


@dataclass(frozen=True, slots=True)
class DeleteConnection:
    """Forget a connection: it closed for good, or its grace period ran out."""

    connection_id: str


@dataclass(frozen=True, slots=True)
class SavePushRegistration:
    """Insert or replace one user's push registration."""

    registration: StoredPushRegistration


@dataclass(frozen=True, slots=True)
class DeletePushRegistration:
    """Forget one user's push registration (``push.unregister``)."""

    app: str
    user_id: str


StoreWrite = (
    SaveCall | SaveConnection | DeleteConnection | SavePushRegistration | DeletePushRegistration
)
"""One write the rules ask for; the writer thread applies it with :func:`apply_write`."""


class CallStore(Protocol):
    """Persistence of calls, keyed by (app, cid), of resumable connections, by id, and of
    push registrations, by (app, user id)."""

    def load(self) -> Iterator[tuple[str, StoredCall]]:
        """Every stored call with its app's API key."""
        ...

    def load_connections(self) -> Iterator[StoredConnection]:
        """Every stored connection."""
        ...

    def load_push_registrations(self) -> Iterator[StoredPushRegistration]:
        """Every stored push registration."""
        ...

    def save(self, app: str, call: StoredCall) -> None:
        """Insert or replace one call."""
        ...

    def save_connection(self, connection: StoredConnection) -> None:
        """Insert or replace one connection."""
        ...

    def delete_connection(self, connection_id: str) -> None:
        """Remove one connection (nothing if absent)."""
        ...

    def save_push_registration(self, registration: StoredPushRegistration) -> None:
        """Insert or replace one user's push registration."""
        ...

    def delete_push_registration(self, app: str, user_id: str) -> None:
        """Remove one user's push registration (nothing if absent)."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


def apply_write(store: CallStore, write: StoreWrite) -> None:
    """Carry out one write."""
    if isinstance(write, SaveCall):
        store.save(write.app, write.call)
    elif isinstance(write, SaveConnection):
        store.save_connection(write.connection)
    elif isinstance(write, DeleteConnection):
        store.delete_connection(write.connection_id)
    elif isinstance(write, SavePushRegistration):
        store.save_push_registration(write.registration)
    else:
        store.delete_push_registration(write.app, write.user_id)


class MemoryStore:
    """Keeps nothing beyond the coordinator's own memory: history ends with the process."""

    def load(self) -> Iterator[tuple[str, StoredCall]]:
        """Nothing was stored before this process."""
        return iter(())

    def load_connections(self) -> Iterator[StoredConnection]:
        """Nothing was stored before this process."""
        return iter(())

    def load_push_registrations(self) -> Iterator[StoredPushRegistration]:
        """Nothing was stored before this process."""
        return iter(())

    def save(self, app: str, call: StoredCall) -> None:
        """Nothing to do: the coordinator already holds the call."""

    def save_connection(self, connection: StoredConnection) -> None:
        """Nothing to do: the coordinator already holds the connection."""

    def delete_connection(self, connection_id: str) -> None:
        """Nothing to do."""

    def save_push_registration(self, registration: StoredPushRegistration) -> None:
        """Nothing to do: the coordinator already holds it."""

    def delete_push_registration(self, app: str, user_id: str) -> None:
        """Nothing to do."""

    def close(self) -> None:
        """Nothing to release."""


class SqliteStore:
    """One SQLite file, one row per call (and per connection) holding its JSON; WAL so
    writes stay cheap. Opened on one thread and written from the writer thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS calls ("
            " app TEXT NOT NULL, cid TEXT NOT NULL, data BLOB NOT NULL,"
            " PRIMARY KEY (app, cid))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS connections (id TEXT PRIMARY KEY, data BLOB NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS push_registrations ("
            " app TEXT NOT NULL, user_id TEXT NOT NULL, data BLOB NOT NULL,"
            " PRIMARY KEY (app, user_id))"
        )
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(StoredCall)
        self._connection_decoder = msgspec.json.Decoder(StoredConnection)
        self._push_decoder = msgspec.json.Decoder(StoredPushRegistration)

    def load(self) -> Iterator[tuple[str, StoredCall]]:
        """Every stored call."""
        for app, data in self._db.execute("SELECT app, data FROM calls"):
            yield app, self._decoder.decode(data)

    def load_connections(self) -> Iterator[StoredConnection]:
        """Every stored connection."""
        for (data,) in self._db.execute("SELECT data FROM connections"):
            yield self._connection_decoder.decode(data)

    def load_push_registrations(self) -> Iterator[StoredPushRegistration]:
        """Every stored push registration."""
        for (data,) in self._db.execute("SELECT data FROM push_registrations"):
            yield self._push_decoder.decode(data)

    def save(self, app: str, call: StoredCall) -> None:
        """Write one call through."""
        self._db.execute(
            "INSERT OR REPLACE INTO calls (app, cid, data) VALUES (?, ?, ?)",
            (app, call.call.cid, self._encoder.encode(call)),
        )

    def save_connection(self, connection: StoredConnection) -> None:
        """Write one connection through."""
        self._db.execute(
            "INSERT OR REPLACE INTO connections (id, data) VALUES (?, ?)",
            (connection.id, self._encoder.encode(connection)),
        )

    def delete_connection(self, connection_id: str) -> None:
        """Remove one connection."""
        self._db.execute("DELETE FROM connections WHERE id = ?", (connection_id,))

    def save_push_registration(self, registration: StoredPushRegistration) -> None:
        """Write one push registration through."""
        self._db.execute(
            "INSERT OR REPLACE INTO push_registrations (app, user_id, data) VALUES (?, ?, ?)",
            (registration.app, registration.user_id, self._encoder.encode(registration)),
        )

    def delete_push_registration(self, app: str, user_id: str) -> None:
        """Remove one push registration."""
        self._db.execute(
            "DELETE FROM push_registrations WHERE app = ? AND user_id = ?", (app, user_id)
        )

    def close(self) -> None:
        """Close the file."""
        self._db.close()


def open_store(db: str | Path | None) -> CallStore:
    """A SQLite store at ``db``, or a memory store for None or ``":memory:"``."""
    if db is None or str(db) == ":memory:":
        return MemoryStore()
    return SqliteStore(Path(db))
