"""The engine's WebSocket to the coordinator: requests with replies, and a stream of events.

Every request gets an id; its reply resolves the matching future (an ``error`` frame
becomes the typed exception :func:`~streamcall_widget.errors.error_from_wire` names), and
a reply that does not come within ``request_timeout`` raises ``RequestTimeout``, so no
caller ever hangs. Events are handed to ``on_event`` in ``seq`` order, on the engine loop.
When the socket closes, every pending request fails with ``ConnectionLost`` and
``on_close`` is told why. While nothing else is sent, a ``ping`` request goes out every
``idle_timeout / 3`` seconds (the server's figure, from the auth result), because the
coordinator closes a connection that sends nothing for ``idle_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import msgspec
from aiohttp import WSCloseCode

from streamcall_widget.errors import (
    ConnectionLost,
    RequestTimeout,
    StreamCallError,
    error_from_wire,
)
from streamcall_widget.protocol.events import AnyEvent
from streamcall_widget.protocol.frames import (
    EventFrame,
    ResultFrame,
    encode,
    parse_server_frame,
)
from streamcall_widget.protocol.models import UserInput
from streamcall_widget.protocol.replies import AuthResult, ServerLimits
from streamcall_widget.protocol.requests import Auth, Ping, Request

__all__ = ["RESUMING", "AuthResult", "CoordinatorConnection", "ResumeTicket", "ServerLimits"]

logger = logging.getLogger(__name__)

R = TypeVar("R")

RESUMING = 4000
"""Our close code for a socket given up to resume its sessions on a new one: any code but
1000/1001 is a drop to the coordinator, which then keeps the sessions for a resume."""


@dataclass(frozen=True)
class ResumeTicket:
    """What a new connection names to take this one's call sessions back (keep private)."""

    connection_id: str
    resume_token: str


class CoordinatorConnection:
    """One authenticated WebSocket to the coordinator."""

    def __init__(
        self,
        url: str,
        *,
        on_event: Callable[[AnyEvent], None],
        on_close: Callable[[str], None],
        request_timeout: float = 10.0,
        heartbeat: float = 20.0,
    ) -> None:
        self.url = url
        self._on_event = on_event
        self._on_close = on_close
        self.request_timeout = request_timeout
        self._heartbeat = heartbeat
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._last_sent = 0.0
        self._last_seq = 0
        self._closing = False
        self.resume_ticket: ResumeTicket | None = None
        """Set by the auth result of a coordinator that can resume sessions."""

    @property
    def connected(self) -> bool:
        """Whether the socket is open."""
        return self._ws is not None and not self._ws.closed

    async def open(self, api_key: str, token: str, user: UserInput) -> AuthResult:
        """Connect and authenticate; errors are typed (token expired, unknown key...)."""
        self._session = aiohttp.ClientSession()
        try:
            self._ws = await self._session.ws_connect(
                self.url, heartbeat=self._heartbeat, timeout=aiohttp.ClientWSTimeout(ws_close=2)
            )
        except (aiohttp.ClientError, OSError) as exc:
            await self._session.close()
            raise ConnectionLost(f"cannot reach the coordinator at {self.url}: {exc}") from None
        self._reader = asyncio.get_running_loop().create_task(self._read())
        try:
            result = await self.request(
                Auth(id="", api_key=api_key, token=token, user=user), AuthResult
            )
        except BaseException:
            await self.close()
            raise
        if result.limits is not None and result.limits.idle_timeout > 0:
            self._keepalive = asyncio.get_running_loop().create_task(
                self._keep_alive(result.limits.idle_timeout / 3)
            )
        if result.resume_token is not None:
            self.resume_ticket = ResumeTicket(result.connection_id, result.resume_token)
        return result

    async def request(self, request: Request, result_type: type[R] | None = None) -> R:
        """Send ``request`` and return its reply's data, converted to ``result_type``."""
        if not self.connected:
            raise ConnectionLost("not connected to the coordinator")
        assert self._ws is not None
        request_id = f"r{next(self._ids)}"
        request.id = request_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self._ws.send_str(encode(request).decode())
            self._last_sent = asyncio.get_running_loop().time()
            async with asyncio.timeout(self.request_timeout):
                data = await future
        except TimeoutError:
            raise RequestTimeout(
                f"{request.__struct_config__.tag} got no reply within {self.request_timeout} s"
            ) from None
        except ConnectionResetError as exc:
            raise ConnectionLost(f"connection to the coordinator lost: {exc}") from None
        finally:
            self._pending.pop(request_id, None)
        if result_type is None:
            return data  # type: ignore[no-any-return]
        return msgspec.convert(data, result_type)

    async def _keep_alive(self, interval: float) -> None:
        """Send ``ping`` once nothing has been sent for ``interval`` seconds.

        Only the client's messages keep the coordinator from closing an idle connection
        (WebSocket pongs do not count), so a quiet client, even in a call, must ping. A
        connection that sends anyway is never pinged: each request pushes the next ping
        back. A failed ping is left to the reader: a lost socket ends this task and the
        reader's ``on_close`` reconnects. A reply is awaited at most ``interval``, so a
        slow one never delays the next ping past the server's deadline.
        """
        loop = asyncio.get_running_loop()
        while self.connected:
            wait = self._last_sent + interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            sent_before = self._last_sent
            try:
                async with asyncio.timeout(interval):
                    await self.request(Ping(id=""))
            except (StreamCallError, TimeoutError) as exc:
                logger.debug("keep-alive ping failed: %r", exc)
                if self._last_sent == sent_before:  # nothing went out: wait, do not spin
                    self._last_sent = loop.time()

    def _stop_keepalive(self) -> asyncio.Task[None] | None:
        """Cancel the keep-alive task (a closed socket has nothing to keep alive)."""
        task, self._keepalive = self._keepalive, None
        if task is not None:
            task.cancel()
        return task

    async def _read(self) -> None:
        assert self._ws is not None
        reason = "closed by the coordinator"
        try:
            async for message in self._ws:
                if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    if self._dispatch(message.data):
                        # Let the requester go on before the events its request caused
                        # are handled: callEvents then follow the order things happened.
                        await asyncio.sleep(0)
                elif message.type == aiohttp.WSMsgType.ERROR:
                    reason = f"connection error: {self._ws.exception()}"
        except Exception as exc:
            reason = f"connection error: {exc}"
            logger.exception("coordinator connection reader failed")
        finally:
            code = self._ws.close_code
            if code == WSCloseCode.ABNORMAL_CLOSURE:
                reason = "the connection to the coordinator dropped"
            elif code is not None and code != WSCloseCode.OK:
                reason = f"closed by the coordinator ({code})"
            self._stop_keepalive()
            self._fail_pending(reason)
            if not self._closing:
                self._on_close(reason)

    def _dispatch(self, data: str | bytes) -> bool:
        """Handle one frame; True if it answered a pending request."""
        try:
            frame = parse_server_frame(data)
        except ValueError:
            logger.exception("ignoring a frame the coordinator sent")
            return False
        if isinstance(frame, EventFrame):
            if frame.seq != self._last_seq + 1:
                logger.warning("event seq jumped from %d to %d", self._last_seq, frame.seq)
            self._last_seq = frame.seq
            self._on_event(frame.event)
            return False
        future = self._pending.get(frame.id or "")
        if future is None or future.done():
            # The answer to a request given up on (timed out, or its call was left).
            logger.debug("reply to %s after its request was given up: %s", frame.id, frame)
            return False
        if isinstance(frame, ResultFrame):
            future.set_result(frame.data)
        else:
            future.set_exception(error_from_wire(frame.name, frame.message))
        return True

    def _fail_pending(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionLost(reason))
        self._pending.clear()

    async def close(self, code: int = WSCloseCode.OK) -> None:
        """Close the socket (pending requests fail with ConnectionLost).

        1000 tells the coordinator this client left: its call sessions leave at once. A
        client that means to resume them on a new connection closes with
        :data:`RESUMING` instead, which the coordinator takes for a drop.
        """
        self._closing = True
        keepalive = self._stop_keepalive()
        if keepalive is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive
        if self._ws is not None:
            await self._ws.close(code=code)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._session is not None:
            await self._session.close()
        self._fail_pending("connection closed")
