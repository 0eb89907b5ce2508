"""Where calls are kept: a small interface, an in-memory store and a SQLite file store.

The coordinator keeps every call of every app in memory and writes each change through to
the store, so history (query_calls) survives a restart when the store is a file. Live
sessions and rings are not restored: after a restart nobody is connected anymore.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import msgspec

from streamcall_widget.protocol.models import CallData, MemberData

__all__ = ["CallStore", "MemoryStore", "SqliteStore", "StoredCall", "open_store"]


class StoredCall(msgspec.Struct, kw_only=True):
    """What is kept of one call: its wire shape and its members."""

    call: CallData
    members: list[MemberData]


class CallStore(Protocol):
    """Persistence of calls, keyed by (app, cid)."""

    def load(self) -> Iterator[tuple[str, StoredCall]]:
        """Every stored call with its app's API key."""
        ...

    def save(self, app: str, call: StoredCall) -> None:
        """Insert or replace one call."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


class MemoryStore:
    """Keeps nothing beyond the coordinator's own memory: history ends with the process."""

    def load(self) -> Iterator[tuple[str, StoredCall]]:
        """Nothing was stored before this process."""
        return iter(())

    def save(self, app: str, call: StoredCall) -> None:
        """Nothing to do: the coordinator already holds the call."""

    def close(self) -> None:
        """Nothing to release."""


class SqliteStore:
    """One SQLite file, one row per call holding its JSON; WAL so writes stay cheap."""

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
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(StoredCall)

    def load(self) -> Iterator[tuple[str, StoredCall]]:
        """Every stored call."""
        for app, data in self._db.execute("SELECT app, data FROM calls"):
            yield app, self._decoder.decode(data)

    def save(self, app: str, call: StoredCall) -> None:
        """Write one call through."""
        self._db.execute(
            "INSERT OR REPLACE INTO calls (app, cid, data) VALUES (?, ?, ?)",
            (app, call.call.cid, self._encoder.encode(call)),
        )

    def close(self) -> None:
        """Close the file."""
        self._db.close()


def open_store(db: str | Path | None) -> CallStore:
    """A SQLite store at ``db``, or a memory store for None or ``":memory:"``."""
    if db is None or str(db) == ":memory:":
        return MemoryStore()
    return SqliteStore(Path(db))
