"""The load client: raw JSON WebSocket connections and the server subprocesses.

One :class:`Conn` per WebSocket, with a reader task that stamps every frame's arrival time
(``time.perf_counter``) before anything else, so client-side parsing never counts as server
latency. Frames are decoded with a tiny msgspec struct that reads only ``type``, ``id`` and
the event's ``type``/``cid``: the client must stay cheap because it shares the machine with
the server. The same code drives the coordinator and the echo baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from .launch import READY_PREFIX

__all__ = [
    "REPO_ROOT",
    "Conn",
    "Reply",
    "ServerProcess",
    "close_all",
    "open_many",
    "run_server",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository root: the servers run with it as working directory (``-m bench...``)."""


class _EventHead(msgspec.Struct):
    type: str = ""
    cid: str | None = None


class _Frame(msgspec.Struct):
    """What the client needs of a frame; msgspec skips every other field unparsed."""

    type: str = ""
    id: str | None = None
    event: _EventHead | None = None
    name: str | None = None
    message: str | None = None
    data: msgspec.Raw = msgspec.Raw(b"null")


_decode = msgspec.json.Decoder(_Frame).decode


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply frame and when it arrived."""

    at: float
    type: str
    data: Any


class Conn:
    """One WebSocket connection of the load client.

    ``request()`` sends a request and awaits its reply; ``expect_event(type, cid)`` returns a
    future resolved with the arrival time of that call's next event of that type; ``on_frame``, when
    set, sees every raw frame first and consumes it by returning True (the relay counter).
    """

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.on_frame: Callable[[str], bool] | None = None
        self._pending: dict[str, asyncio.Future[Reply]] = {}
        self._events: dict[tuple[str, str], asyncio.Future[float]] = {}
        self._ids = itertools.count(1)
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        failure: BaseException | None = None
        try:
            async for msg in self.ws:
                at = time.perf_counter()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                data: str = msg.data
                hook = self.on_frame
                if hook is not None and hook(data):
                    continue
                self._dispatch(at, _decode(data))
        except Exception as exc:
            failure = exc
            raise
        finally:
            error = ConnectionError(f"connection closed ({self.ws.close_code}): {failure!r}")
            futures: list[asyncio.Future[Reply] | asyncio.Future[float]] = [
                *self._pending.values(),
                *self._events.values(),
            ]
            for future in futures:
                if not future.done():
                    future.set_exception(error)

    def _dispatch(self, at: float, frame: _Frame) -> None:
        if frame.type == "event":
            head = frame.event
            if head is not None and head.cid is not None and self._events:
                waiter = self._events.pop((head.type, head.cid), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(at)
            return
        if frame.id is None:
            return
        future = self._pending.pop(frame.id, None)
        if future is None or future.done():
            return
        if frame.type == "error":
            future.set_exception(RuntimeError(f"{frame.name}: {frame.message}"))
        else:
            data = msgspec.json.decode(frame.data)
            future.set_result(Reply(at, frame.type, data))

    def next_id(self, prefix: str = "r") -> str:
        """A fresh request id on this connection."""
        return f"{prefix}{next(self._ids)}"

    def expect_reply(self, request_id: str) -> asyncio.Future[Reply]:
        """A future for the reply (or echo) carrying ``request_id``; register before sending."""
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        return future

    def expect_event(self, type_: str, cid: str) -> asyncio.Future[float]:
        """A future for the arrival time of the next ``type_`` event of call ``cid``."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._events[type_, cid] = future
        return future

    async def request(self, type_: str, timeout: float = 10.0, **fields: Any) -> Any:
        """Send one request and return its reply's ``data`` (raises on an error reply)."""
        request_id = self.next_id()
        future = self.expect_reply(request_id)
        await self.ws.send_str(json.dumps({"type": type_, "id": request_id, **fields}))
        reply = await asyncio.wait_for(future, timeout)
        return reply.data

    async def close(self) -> None:
        """Close the socket and stop the reader."""
        with contextlib.suppress(Exception):
            await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader


async def open_many(
    count: int,
    opener: Callable[[int], Any],
    *,
    batch: int = 100,
) -> list[Conn]:
    """Open ``count`` connections with ``opener(i)`` (a coroutine returning a Conn),
    ``batch`` at a time concurrently; on failure the ones opened are closed again."""
    conns: list[Conn] = []
    try:
        for start in range(0, count, batch):
            results = await asyncio.gather(
                *(opener(i) for i in range(start, min(count, start + batch))),
                return_exceptions=True,
            )
            failures = [r for r in results if isinstance(r, BaseException)]
            conns.extend(r for r in results if isinstance(r, Conn))
            if failures:
                raise failures[0]
    except BaseException:
        await close_all(conns)
        raise
    return conns


async def close_all(conns: Sequence[Conn], batch: int = 200) -> None:
    """Close connections, ``batch`` at a time."""
    for start in range(0, len(conns), batch):
        await asyncio.gather(*(c.close() for c in conns[start : start + batch]))


@dataclass
class ServerProcess:
    """A server subprocess and the port it listens on (127.0.0.1)."""

    name: str
    process: asyncio.subprocess.Process
    port: int

    @property
    def url(self) -> str:
        """Its WebSocket URL."""
        return f"ws://127.0.0.1:{self.port}/ws"


@contextlib.asynccontextmanager
async def run_server(
    name: str, module: str, args: Sequence[str], *, cpu: int | None, start_timeout: float = 30.0
) -> AsyncIterator[ServerProcess]:
    """Run ``python -m module args`` until the block ends (SIGTERM, then SIGKILL after 10 s),
    yielding once it printed its port; it is stopped even if the block fails."""
    argv = [sys.executable, "-m", module, *args]
    if cpu is not None:
        argv += ["--cpu", str(cpu)]
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=REPO_ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), start_timeout)
        text = line.decode().strip()
        if not text.startswith(READY_PREFIX):
            raise RuntimeError(f"{name} server did not start (said {text!r})")
        yield ServerProcess(name, process, int(text[len(READY_PREFIX) :]))
    finally:
        await _stop(process)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 10.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    if process.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL):
        print(f"warning: server exited with {process.returncode}", file=sys.stderr)
