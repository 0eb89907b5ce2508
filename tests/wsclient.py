"""A small real WebSocket client of the wire protocol, for tests and benchmarks.

It speaks raw JSON over aiohttp so tests exercise exactly what another language's client
would send; replies come back as dicts, errors as the typed exceptions of ``errors.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any

import aiohttp

from streamcall_widget.errors import error_from_wire


class WsClient:
    """One connection: ``request()`` awaits the reply; events queue up for ``next_event()``."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.seqs: list[int] = []
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self.close_code: int | None = None
        self.auth: dict[str, Any] = {}
        """The ``auth`` reply's data once logged in."""
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, url: str, **headers: str) -> WsClient:
        """Connect without authenticating."""
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(url, headers=headers, autoping=True)
        except BaseException:
            await session.close()
            raise
        return cls(session, ws)

    @classmethod
    async def login(cls, url: str, api_key: str, token: str, user_id: str, **user: Any) -> WsClient:
        """Connect and authenticate; raises the typed error if authentication fails."""
        client = await cls.open(url)
        try:
            client.auth = await client.request(
                "auth", api_key=api_key, token=token, user={"id": user_id, **user}
            )
        except BaseException:
            await client.close()
            raise
        return client

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            if frame["type"] == "event":
                self.seqs.append(frame["seq"])
                self.events.put_nowait(frame["event"])
            else:
                future = self._pending.pop(frame.get("id") or "", None)
                if future is None:
                    self.events.put_nowait(frame)  # errors without an id
                elif not future.done():
                    future.set_result(frame)
        self.close_code = self.ws.close_code
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError(f"closed with {self.close_code}"))

    async def send_raw(self, data: str | bytes) -> None:
        """Send a frame as it is (text for str, binary for bytes)."""
        if isinstance(data, bytes):
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(data)

    async def request(self, type_: str, timeout: float = 5.0, **fields: Any) -> Any:
        """Send one request and return its ``data``; raise the typed error it answers with."""
        request_id = f"r{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self.ws.send_str(json.dumps({"type": type_, "id": request_id, **fields}))
        frame = await asyncio.wait_for(future, timeout)
        if frame["type"] == "error":
            raise error_from_wire(frame["name"], frame["message"])
        return frame["data"]

    async def next_event(self, type_: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        """The next event (of ``type_`` if given, skipping others)."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.events.get()
                if type_ is None or event.get("type") == type_:
                    return event

    def drain(self) -> list[dict[str, Any]]:
        """Every event received so far, removed from the queue."""
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    async def wait_closed(self, timeout: float = 10.0) -> int | None:
        """Wait until the server closes the socket; returns the close code."""
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.close_code

    async def close(self) -> None:
        """Close the socket and the session."""
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.session.close()
