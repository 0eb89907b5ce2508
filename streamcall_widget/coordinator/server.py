"""The coordinator's I/O: an aiohttp server that moves frames in and out of CallControl.

Endpoints: ``GET /ws`` (the WebSocket of docs/protocol.md), ``GET /health``, and, when
development tokens are on (the embedded coordinator), ``POST /dev/token`` from loopback.
Output to each connection is batched into one write per loop iteration and never waits,
so a slow client never stalls the others (it is disconnected when its buffer is full).
Store writes go to a writer thread (:mod:`.writer`), so a slow disk never stalls them
either, and push notices to a sender's queue (:mod:`.push`), so a slow webhook never does.
A client that closes with 1000 or 1001 has left; any other end of a connection detaches
it, and its call sessions wait ``Limits.session_grace`` seconds for a resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import ipaddress
import itertools
import logging
import struct
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from streamcall_widget import __version__
from streamcall_widget.errors import (
    AuthenticationError,
    InternalError,
    InvalidState,
    RateLimited,
    StreamCallError,
    UnsupportedProtocol,
)
from streamcall_widget.protocol import frames
from streamcall_widget.protocol.models import iso
from streamcall_widget.protocol.replies import AuthResult, ServerLimits
from streamcall_widget.protocol.requests import Auth

from .auth import App, Verifier, mint_token
from .control import CallControl, Delivery
from .hub import EventHub, LocalHub
from .ids import IdSource, random_ids
from .limits import Limits, RateLimiter
from .push import PushSender
from .store import CallStore, open_store
from .writer import StoreWriter

__all__ = ["LOOPBACK_ORIGINS", "Coordinator", "CoordinatorConfig"]

logger = logging.getLogger(__name__)

LOOPBACK_ORIGINS = (
    "http://127.0.0.1:*",
    "http://localhost:*",
    "https://127.0.0.1:*",
    "https://localhost:*",
    "http://[::1]:*",
)
"""Browser origins allowed by default: pages served from this machine."""

POLICY_VIOLATION = WSCloseCode.POLICY_VIOLATION
LEAVING_CLOSE_CODES = frozenset({WSCloseCode.OK, WSCloseCode.GOING_AWAY})
"""Close codes of a client that leaves on purpose: its sessions leave at once. Any other
end of a connection (no close frame, a server-side close) keeps them for a resume."""


@dataclass(frozen=True, kw_only=True)
class CoordinatorConfig:
    """Everything a coordinator needs to run."""

    apps: tuple[App, ...]
    host: str = "127.0.0.1"
    port: int = 0
    db: str | None = None
    """SQLite file for call history; None keeps calls in memory only."""
    allowed_origins: tuple[str, ...] = LOOPBACK_ORIGINS
    """Browser Origins allowed to connect (``*`` wildcards); clients sending no Origin pass."""
    limits: Limits = field(default_factory=Limits)
    dev_tokens: bool = False
    """Serve ``POST /dev/token`` to loopback clients (embedded development mode)."""
    push_providers: Mapping[str, str] = field(default_factory=dict)
    """Push provider name -> webhook URL (http/https) that rings offline users (:mod:`.push`)."""


def _text_frame_header(length: int) -> bytes:
    """RFC 6455 header of one unmasked, uncompressed, final text frame (server to client)."""
    if length < 126:
        return struct.pack("!BB", 0x81, length)
    if length < 65536:
        return struct.pack("!BBH", 0x81, 126, length)
    return struct.pack("!BBQ", 0x81, 127, length)


class _Peer:
    """One WebSocket connection: its outbound frames, event counter and rate limiter.

    Frames produced while the loop handles a batch of input are joined and written to the
    transport in one write at the end of that loop iteration: a relay of N messages costs
    one system call, not 2N. Writes never wait; a client that stops reading lets its
    transport buffer grow, and past ``Limits.send_buffer_bytes`` it is disconnected, so a
    slow reader never stalls the others. (Compression is off, so a server frame is just a
    header and the payload; closing still goes through aiohttp, after a final flush.)
    """

    def __init__(
        self,
        connection_id: str,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport,
        limits: Limits,
        now: float,
    ) -> None:
        self.id = connection_id
        self.ws = ws
        self.transport = transport
        self.seq = itertools.count(1)
        self.limiter = RateLimiter(limits.rate_per_second, limits.rate_burst, now)
        self.last_seen = asyncio.get_running_loop().time()
        self._max_buffer = limits.send_buffer_bytes
        self._pending: list[bytes] = []
        self._too_slow = False
        self.left = False
        """The client closed with 1000 or 1001: it left, its sessions go now."""
        self.server_closing = False
        """The server started the close: whatever code comes back, this is no leave."""

    async def close(self, code: int, message: bytes) -> None:
        """Close from the server side (the sessions stay for a resume)."""
        self.server_closing = True
        await self.ws.close(code=code, message=message)

    def send(self, frame: bytes) -> None:
        """Queue one frame for this loop iteration's write."""
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append(_text_frame_header(len(frame)))
        self._pending.append(frame)

    def send_event(self, body: bytes) -> None:
        """Send an event frame around an already serialised event."""
        self.send(b'{"type":"event","seq":%d,"event":%b}' % (next(self.seq), body))

    def flush(self) -> None:
        """Write every pending frame now, in one write."""
        if not self._pending:
            return
        data, self._pending = b"".join(self._pending), []
        if self.transport.is_closing() or self._too_slow:
            return
        self.transport.write(data)
        if self.transport.get_write_buffer_size() > self._max_buffer:
            # The client stopped reading: a close handshake would wait on it too, so drop
            # the TCP connection; the read side then cleans up like any disconnect.
            self._too_slow = True
            logger.warning("connection %s is too slow; disconnecting it", self.id)
            self.transport.abort()


class Coordinator:
    """A running coordinator: ``await start()``, then ``url``; ``await stop()`` to finish."""

    def __init__(
        self,
        config: CoordinatorConfig,
        *,
        clock: Callable[[], float] = time.time,
        store: CallStore | None = None,
        hub: EventHub | None = None,
        ids: IdSource = random_ids,
    ) -> None:
        self.config = config
        self._clock = clock
        self._secrets = {a.api_key: a.api_secret for a in config.apps}
        self.push = (
            PushSender(config.push_providers, self._secrets, clock=clock)
            if config.push_providers
            else None
        )
        """Sends the push notices of rings to offline users (None: no provider)."""
        self._store = store if store is not None else open_store(config.db)
        self.control = CallControl(
            self._store,
            now=clock(),
            ids=ids,
            session_grace=config.limits.session_grace,
            push_providers=frozenset(config.push_providers),
        )
        self._writer: StoreWriter | None = None
        self._closings: set[asyncio.Task[None]] = set()
        self._verifier = Verifier({a.api_key: a for a in config.apps})
        self._hub = hub if hub is not None else LocalHub()
        self._hub.subscribe(self._receive)
        self._peers: dict[str, _Peer] = {}
        self._runner: web.AppRunner | None = None
        self._timer_task: asyncio.Task[None] | None = None
        self._idle_task: asyncio.Task[None] | None = None
        self._timer_wake = asyncio.Event()
        self._encoder = msgspec.json.Encoder()
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The WebSocket URL clients connect to."""
        return f"ws://{self._url_host}:{self.port}/ws"

    @property
    def http_url(self) -> str:
        """The base HTTP URL (health, dev tokens)."""
        return f"http://{self._url_host}:{self.port}"

    @property
    def _url_host(self) -> str:
        host = self.config.host
        return f"[{host}]" if ":" in host else host

    async def start(self) -> None:
        """Bind and serve; with port 0 the chosen port is in ``port``."""
        app = web.Application()
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/health", self._health)
        if self.config.dev_tokens:
            app.router.add_post("/dev/token", self._dev_token)
        self._writer = StoreWriter(self._store)
        if self.push is not None:
            await self.push.start()
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets: Iterable[Any] = getattr(server, "sockets", ())
        self.port = next(iter(sockets)).getsockname()[1]
        loop = asyncio.get_running_loop()
        self._timer_task = loop.create_task(self._timer_loop())
        self._idle_task = loop.create_task(self._idle_loop())
        logger.info("coordinator listening on %s", self.url)

    async def stop(self) -> None:
        """Close every connection, stop serving, finish the store's writes and close it.

        Connections closed here keep their call sessions in the store: a coordinator
        restarted on the same database lets the clients resume them."""
        for task in (self._timer_task, self._idle_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._timer_task = self._idle_task = None
        for peer in list(self._peers.values()):
            await peer.close(WSCloseCode.GOING_AWAY, b"server shutdown")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._flush()  # what the last closes changed, while the writer still takes it
        if self.push is not None:
            await self.push.stop()
        writer, self._writer = self._writer, None
        if writer is not None:
            await asyncio.to_thread(writer.close)
        else:
            self._store.close()

    async def __aenter__(self) -> Coordinator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def run_timers(self) -> None:
        """Fire ring timers due now (the timer task does this itself; tests with a fake
        clock call it after moving the clock)."""
        self.control.tick(self._clock())
        self._flush()

    @property
    def connection_count(self) -> int:
        """Authenticated connections now."""
        return len(self._peers)

    # -- HTTP ---------------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        health: dict[str, object] = {
            "status": "ok",
            "version": __version__,
            "protocol_version": frames.PROTOCOL_VERSION,
            "connections": len(self._peers),
        }
        if self.push is not None:
            health["push"] = asdict(self.push.stats)
        return web.json_response(health)

    async def _dev_token(self, request: web.Request) -> web.Response:
        if not _is_loopback(request.remote):
            raise web.HTTPForbidden(text="development tokens are only served to this machine")
        try:
            body = await request.json()
            secret = self._secrets[body["api_key"]]
            user_id = body["user_id"]
        except (ValueError, KeyError, TypeError):
            raise web.HTTPBadRequest(text="send JSON {api_key, user_id} of a known app") from None
        if not isinstance(user_id, str) or not user_id:
            raise web.HTTPBadRequest(text="user_id must be a non-empty string")
        return web.json_response({"token": mint_token(secret, user_id, now=self._clock())})

    # -- WebSocket ----------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        origin = request.headers.get("Origin")
        if origin is not None and not any(
            fnmatch.fnmatchcase(origin, pattern) for pattern in self.config.allowed_origins
        ):
            raise web.HTTPForbidden(text=f"origin {origin} is not allowed")
        limits = self.config.limits
        ws = web.WebSocketResponse(
            max_msg_size=limits.max_message_bytes + 1,  # aiohttp refuses >= max_msg_size
            heartbeat=limits.heartbeat,
            compress=False,
            decode_text=False,
        )
        await ws.prepare(request)
        transport = request.transport
        if transport is None:  # the client went away during the handshake
            return ws
        peer = _Peer(self.control.new_id(), ws, transport, limits, self._clock())
        try:
            if await self._authenticate(peer):
                await self._serve(peer)
        finally:
            self._peers.pop(peer.id, None)
            if peer.left and not peer.server_closing:
                self.control.disconnect(peer.id, self._clock())
            else:
                self.control.detach(peer.id, self._clock())
            self._flush()
            peer.flush()
            await ws.close()
        return ws

    async def _authenticate(self, peer: _Peer) -> bool:
        limits = self.config.limits
        try:
            msg = await peer.ws.receive(timeout=limits.auth_timeout)
        except TimeoutError:
            await peer.close(POLICY_VIOLATION, b"authentication timeout")
            return False
        if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            return False
        request = frames.parse_request(msg.data)
        request_id = request.request_id if isinstance(request, frames.ParseFailure) else request.id
        try:
            if isinstance(request, frames.ParseFailure):
                raise request.error
            if not isinstance(request, Auth):
                raise AuthenticationError("the first message must be 'auth'")
            if request.protocol_version != frames.PROTOCOL_VERSION:
                raise UnsupportedProtocol(
                    f"protocol version {request.protocol_version} is not supported; "
                    f"this server speaks {frames.PROTOCOL_VERSION}"
                )
            claims = self._verifier.verify(request.api_key, request.token, request.user.id)
        except StreamCallError as exc:
            self._error(peer, request_id, exc)
            peer.flush()
            await peer.close(POLICY_VIOLATION, exc.name.encode())
            return False
        user, resume_token = self.control.connect(
            request.api_key,
            peer.id,
            request.user,
            role=claims.role,
            call_cids=claims.call_cids,
            now=self._clock(),
        )
        self._peers[peer.id] = peer
        self._reply(
            peer,
            request.id,
            AuthResult(
                connection_id=peer.id,
                user=user,
                protocol_version=frames.PROTOCOL_VERSION,
                server_time=iso(self._clock()),
                limits=ServerLimits(
                    max_message_bytes=limits.max_message_bytes,
                    rate_per_second=limits.rate_per_second,
                    idle_timeout=limits.idle_timeout,
                    session_grace=limits.session_grace,
                ),
                resume_token=resume_token,
            ),
        )
        self._flush()  # a ring already under way for this user (control.connect)
        return True

    async def _serve(self, peer: _Peer) -> None:
        limits = self.config.limits
        loop = asyncio.get_running_loop()
        while True:
            msg = await peer.ws.receive()
            peer.last_seen = loop.time()
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                peer.left = msg.type is WSMsgType.CLOSE and msg.data in LEAVING_CLOSE_CODES
                if msg.type is WSMsgType.ERROR:
                    logger.info("connection %s failed: %s", peer.id, peer.ws.exception())
                return
            if not peer.limiter.allow(self._clock()):
                self._refuse_rate(peer, msg.data)
                if peer.limiter.violations > limits.max_violations:
                    peer.flush()
                    await peer.close(POLICY_VIOLATION, b"rate limit exceeded")
                    return
                continue
            self._handle(peer, msg.data)

    def _handle(self, peer: _Peer, data: bytes | str) -> None:
        request = frames.parse_request(data)
        if isinstance(request, frames.ParseFailure):
            self._error(peer, request.request_id, request.error)
            return
        try:
            if isinstance(request, Auth):
                raise InvalidState("this connection is already authenticated")
            result = self.control.handle(peer.id, request, self._clock())
        except StreamCallError as exc:
            self._error(peer, request.id, exc)
            return
        except Exception:
            logger.exception("request %s failed", type(request).__name__)
            self._error(peer, request.id, InternalError("the coordinator failed on this request"))
            self.control.take_deliveries()
            self.control.take_notices()
            self._flush()  # the store writes of what did change
            return
        self._reply(peer, request.id, result)
        self._flush()

    def _refuse_rate(self, peer: _Peer, data: bytes | str) -> None:
        request = frames.parse_request(data)
        request_id = request.request_id if isinstance(request, frames.ParseFailure) else request.id
        limit = self.config.limits.rate_per_second
        self._error(peer, request_id, RateLimited(f"more than {limit:g} messages per second"))

    def _reply(self, peer: _Peer, request_id: str, data: object) -> None:
        peer.send(self._encoder.encode(frames.ResultFrame(id=request_id, data=data)))

    def _error(self, peer: _Peer, request_id: str | None, error: StreamCallError) -> None:
        peer.send(self._encoder.encode(frames.error_frame(request_id, error)))

    # -- delivery -----------------------------------------------------------------------

    def _flush(self) -> None:
        """Publish the events CallControl produced, each serialised once; hand its push
        notices to the sender and its store writes to the writer thread; close
        connections a resume replaced."""
        notices = self.control.take_notices()
        if self.push is not None:
            self.push.submit(notices)
        writes = self.control.take_writes()
        if self._writer is not None:
            self._writer.submit(writes)
        elif writes:
            logger.debug("the coordinator is stopped; %d store writes dropped", len(writes))
        for connection_id in self.control.take_superseded():
            peer = self._peers.get(connection_id)
            if peer is not None:
                task = asyncio.get_running_loop().create_task(
                    peer.close(WSCloseCode.OK, b"resumed by another connection")
                )
                self._closings.add(task)
                task.add_done_callback(self._closings.discard)
        encoded: dict[int, bytes] = {}
        for delivery in self.control.take_deliveries():
            body = encoded.get(id(delivery.event))
            if body is None:
                body = encoded[id(delivery.event)] = self._encoder.encode(delivery.event)
            self._publish(delivery, body)
        if self.control.timers_changed():
            self._timer_wake.set()

    def _publish(self, delivery: Delivery, body: bytes) -> None:
        self._hub.publish(delivery.app, delivery.user_id, delivery.connection_id, body)

    def _receive(self, app: str, user_id: str, connection_id: str | None, body: bytes) -> None:
        targets = (connection_id,) if connection_id else self.control.connection_ids(app, user_id)
        for target in targets:
            peer = self._peers.get(target)
            if peer is not None:
                peer.send_event(body)

    async def _idle_loop(self) -> None:
        """Close connections silent for ``idle_timeout`` (one sweep, not a timer per read)."""
        idle = self.config.limits.idle_timeout
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(idle / 4)
            cutoff = loop.time() - idle
            # Concurrently: a close waits for the client's answer, and one slow answer must
            # not hold up the sweep of the others.
            await asyncio.gather(
                *(
                    peer.close(WSCloseCode.GOING_AWAY, b"idle timeout")
                    for peer in list(self._peers.values())
                    if peer.last_seen < cutoff and not peer.ws.closed
                )
            )

    async def _timer_loop(self) -> None:
        while True:
            self._timer_wake.clear()
            deadline = self.control.next_deadline()
            delay = None if deadline is None else max(0.0, deadline - self._clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timer_wake.wait(), delay)
            if deadline is not None and self._clock() >= deadline:
                self.control.tick(self._clock())
                self._flush()


def _is_loopback(remote: str | None) -> bool:
    if remote is None:
        return False
    try:
        return ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False
