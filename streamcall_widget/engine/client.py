"""``StreamCall``: the Stream Call plugin's API for a notebook, in snake_case.

Every public method may be called from any thread; it schedules its work on the engine
loop (:mod:`streamcall_widget.engine.loop`) and returns an ``EngineFuture`` to ``await`` or
to wait on with ``.result(timeout)``. Errors, bad arguments included, come back through
that future as the typed exceptions of :mod:`streamcall_widget.errors`.

One client is one user (after ``login``) with at most one call in progress: ringing out,
joining or joined. Incoming rings wait beside it until accepted or rejected. Listeners get
``callEvent`` (a :class:`~streamcall_widget.protocol.lifecycle.CallEvent`),
``incomingCall`` (an :class:`~streamcall_widget.protocol.lifecycle.IncomingCall`),
``error`` (an :class:`~streamcall_widget.engine.results.ErrorReport`) and
``devicesUpdated`` on their own thread.

This module holds login, listeners, error reports and shutdown; the call methods live in
:mod:`.client_calls`, the reads about calls in :mod:`.client_queries`, the device methods
in :mod:`.media_controls`, push registration in :mod:`.push` and the way back after a
drop in :mod:`.reconnection`, mixins that ``StreamCall`` gathers into one object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from streamcall_widget.coordinator.embedded import EmbeddedCoordinator
from streamcall_widget.errors import (
    InvalidArguments,
    InvalidState,
    StreamCallError,
)
from streamcall_widget.protocol.lifecycle import (
    CallEvent,
)
from streamcall_widget.protocol.models import (
    UserData,
    UserInput,
)
from streamcall_widget.protocol.requests import (
    Request,
)

from . import lifetime
from .access import Target, TokenProvider, TokenSource, authenticate, resolve_target
from .call import Call
from .client_calls import CallFlows
from .client_queries import CallQueries
from .codecs import install_fast_h264
from .connection import CoordinatorConnection
from .ice import DEFAULT_GATHER_TIMEOUT, bound_gathering
from .listeners import CallbackRunner, ListenerHandle, ListenerRegistry
from .local_media import LocalMedia
from .loop import EngineFuture, acquire_loop, release_loop
from .media_controls import MediaControls
from .messaging import CALL_MESSAGE_EVENTS
from .presence import Presence
from .push import PushNotifications, PushNotificationsConfig, checked_push_config
from .reconnection import Reconnection
from .recording import RECORDING_EVENTS
from .results import (
    CurrentUser,
    DynamicApiKey,
    ErrorReport,
    SuccessResponse,
)
from .rtc_config import IceServer, MediaConfig
from .settings import SettingsStore
from .taps import FrameTaps
from .threadsafe import threadsafe

__all__ = ["StreamCall"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

EVENTS = (
    "callEvent",
    "incomingCall",
    "error",
    "devicesUpdated",
    "dtmf",
    "permissionRequest",
    "permissionsUpdated",
    *CALL_MESSAGE_EVENTS,
    *RECORDING_EVENTS,
)


class StreamCall(CallFlows, CallQueries, MediaControls, Presence, PushNotifications, Reconnection):
    """A calling client for one user: login, ring, accept, talk, mute, listen to events.

    ``StreamCall()`` uses this machine's embedded coordinator (starting it if no other
    kernel has); ``StreamCall(url="ws://host:8765/ws", api_key="...")`` a server.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        runtime_dir: str | Path | None = None,
        settings_dir: str | Path | None = None,
        ice_servers: tuple[IceServer, ...] = (),
        video_codec: str = "video/VP8",
        camera: str | None = None,
        microphone: str | None = None,
        media_files: tuple[str, ...] = (),
        request_timeout: float = 10.0,
        gather_timeout: float = DEFAULT_GATHER_TIMEOUT,
    ) -> None:
        bound_gathering(gather_timeout)  # validates first: nothing is started on bad input
        self._url = url
        self._api_key = api_key
        self._runtime_dir = runtime_dir
        self._settings = SettingsStore(settings_dir)
        self.media_config = MediaConfig(ice_servers=tuple(ice_servers), video_codec=video_codec)
        self._camera_choice = camera
        self._microphone_choice = microphone
        self._request_timeout = request_timeout
        self._runner = CallbackRunner()
        self._listeners: ListenerRegistry[Any] = ListenerRegistry(EVENTS, self._runner, self._log)
        self.engine = acquire_loop()
        install_fast_h264()
        self.media = LocalMedia(self.report, tuple(media_files))
        self._follow_media_events()
        self.taps = FrameTaps(self.engine.loop, self.media, self.report)
        self._target: Target | None = None
        self._embedded: EmbeddedCoordinator | None = None
        self._token_given: tuple[str | None, TokenProvider | None] = (None, None)
        self._tokens: TokenSource | None = None
        self._conn: CoordinatorConnection | None = None
        self._user: UserData | None = None
        self._calls: dict[str, Call] = {}
        self._active: Call | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._media_ready: asyncio.Task[None] | None = None
        self._closed = False
        lifetime.track(self)

    def __repr__(self) -> str:
        who = self._user.id if self._user is not None else "not logged in"
        return f"<StreamCall {who} call={self._active!r}>"

    def __enter__(self) -> StreamCall:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------

    def _submit(self, coro: Coroutine[Any, Any, T]) -> EngineFuture[T]:
        if self._closed:
            coro.close()
            future: EngineFuture[T] = EngineFuture()
            future.set_exception(InvalidState("this StreamCall is closed; create a new one"))
            return future
        return self.engine.submit(coro)

    @property
    def user_id(self) -> str:
        """The logged-in user's id."""
        if self._user is None:
            raise InvalidState("not logged in; call login(user_id=...) first")
        return self._user.id

    @property
    def user(self) -> UserData | None:
        """The logged-in user (None when logged out); readable from any thread."""
        return self._user

    @property
    def status(self) -> str:
        """``logged_out``, ``logged_in`` or ``reconnecting`` (the coordinator link)."""
        if self._user is None:
            return "logged_out"
        reconnecting = self._reconnect_task is not None and not self._reconnect_task.done()
        return "reconnecting" if reconnecting else "logged_in"

    @property
    def embedded(self) -> bool:
        """Whether this client uses the machine's embedded coordinator (dev tokens)."""
        return self._url is None

    @property
    def hosts_coordinator(self) -> bool:
        """Whether this client started the embedded coordinator it uses (its ``close()``
        stops it)."""
        return self._embedded is not None

    async def request(self, request: Request, result_type: type[R]) -> R:
        """Send ``request`` to the coordinator (engine loop only)."""
        if self._conn is None:
            raise InvalidState("not logged in; call login(user_id=...) first")
        return await self._conn.request(request, result_type)

    def emit(self, events: list[CallEvent]) -> None:
        """Hand callEvents to the ``callEvent`` listeners, in order."""
        for event in events:
            self._listeners.emit("callEvent", event)

    def notify(self, event: str, payload: object) -> None:
        """Hand a call's ``dtmf``, ``message``, ``info``, ``data``, ``custom``,
        ``permissionRequest`` or ``permissionsUpdated`` payload to listeners."""
        self._listeners.emit(event, payload)

    def report(self, where: str, error: BaseException) -> None:
        """Hand an error that stops nothing to the ``error`` listeners, once. It is logged
        in one line (its traceback at DEBUG): a warning when nobody listens, else info,
        as the listeners (the widgets among them) show it."""
        listened = self._listeners.count("error") > 0
        level = logging.INFO if listened else logging.WARNING
        logger.log(level, "error in %s: %s", where, error)
        logger.debug("error in %s", where, exc_info=error)
        self._log(where, error)

    def _log(self, where: str, error: BaseException) -> None:
        if self._listeners.count("error"):
            self._listeners.emit("error", ErrorReport(where, error))

    def post_callback(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the listener thread, after the callbacks queued before it."""
        self._runner.post(job)

    def call_finished(self, call: Call) -> None:
        """Forget a call that is over and close its peers (awaited by ``close()``)."""
        self._calls.pop(call.cid, None)
        if self._active is call:
            self._active = None
        closing = asyncio.get_running_loop().create_task(call.close())
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    # -- listeners -------------------------------------------------------------------

    def add_listener(
        self, event: str, listener: Callable[[Any], Any], *, once: bool = False
    ) -> ListenerHandle:
        """Call ``listener(payload)`` for each ``callEvent``, ``incomingCall``, ``error``,
        ``devicesUpdated`` (a :class:`~streamcall_widget.engine.devices.DeviceList`, when a
        device appears or goes, in the page or on this machine), ``dtmf`` (a
        :class:`~streamcall_widget.engine.dtmf.DtmfEvent` per digit another plays),
        ``permissionRequest`` / ``permissionsUpdated`` (see :mod:`.permissions`), a
        call's ``message``, ``info``, ``data`` and ``custom`` events (see :mod:`.messaging`),
        or ``recording`` (a call started or stopped recording, see :mod:`.recording`).

        Listeners run on one dedicated thread, in the order they were added; one raising
        is reported (``error`` event, log) and the others still run. ``once=True`` (seed
        001's ``ListenerOptions``, as the DOM's) calls the listener for the first event
        only, then removes it.
        """
        handle = self._listeners.add(event, listener, once=once)
        if event == "devicesUpdated":
            self._submit(self.media.watch_machine())
        return handle

    def remove_all_listeners(self) -> EngineFuture[None]:
        """Remove every listener."""
        self._listeners.clear()
        done: EngineFuture[None] = EngineFuture()
        done.set_result(None)
        return done

    # -- login ---------------------------------------------------------------------------

    @threadsafe
    async def login(
        self,
        user_id: str,
        *,
        name: str | None = None,
        image_url: str | None = None,
        token: str | None = None,
        token_provider: TokenProvider | None = None,
        custom: dict[str, Any] | None = None,
        push_config: PushNotificationsConfig | None = None,
    ) -> SuccessResponse:
        """Connect as ``user_id``; with the embedded coordinator no token is needed.
        ``push_config`` rings the user through push providers while offline (see
        :mod:`.push`)."""
        push = checked_push_config(push_config)
        user = UserInput(id=user_id, name=name, image=image_url, custom=custom or {})
        if not isinstance(user_id, str) or not user_id.strip():
            raise InvalidArguments("user_id must be a non-empty string")
        if self._user is not None:
            if self._user.id == user_id:
                return SuccessResponse()
            raise InvalidState(f"already logged in as {self._user.id!r}; logout() first")
        self._token_given = (token, token_provider)
        self._conn = await self._connect(user)
        await self._register_push(push)
        await self.media.identify(user_id, user.name or user_id)
        if self.media.camera is None and self.media.microphone is None:
            self._media_ready = None
        # Open devices now, while nothing waits for them: a call then starts at once.
        self._start_media()
        return SuccessResponse()

    async def _resolve(self, user_id: str) -> None:
        """Find the coordinator (again: an embedded one may have moved) and token source."""
        if self._target is None or self._target.embedded is None:
            key = self._settings.dynamic_api_key or self._api_key
            self._target = await resolve_target(self._url, key, self._runtime_dir)
            if self._target.embedded is not None:
                self._embedded = self._target.embedded
        token, provider = self._token_given
        self._tokens = TokenSource(user_id, token, provider, self._target)

    async def _connect(self, user: UserInput) -> CoordinatorConnection:
        await self._resolve(user.id)
        assert self._target is not None
        assert self._tokens is not None
        conn, self._user = await authenticate(
            self._target,
            self._tokens,
            user,
            on_event=self._on_event,
            on_close=self._on_close,
            request_timeout=self._request_timeout,
        )
        return conn

    @threadsafe
    async def logout(self) -> SuccessResponse:
        """Leave any call, reject nothing, stop push notifications, and disconnect."""
        if self._user is not None:
            await self._unregister_push()
        return await self._logout()

    async def _logout(self) -> SuccessResponse:
        if self._user is None:
            raise InvalidState("not logged in")
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
        active = self._active
        if active is not None and active.lifecycle.active:
            with contextlib.suppress(StreamCallError):
                await active.hang_up()
        for call in list(self._calls.values()):
            call._finish("logout")
        await asyncio.gather(*self._closing)
        conn, self._conn, self._user = self._conn, None, None
        if conn is not None:
            await conn.close()
        if self._target is not None and self._target.embedded is None:
            self._target = None  # the next login looks again (and reads the dynamic key)
        return SuccessResponse()

    @threadsafe
    async def get_current_user(self) -> CurrentUser:
        """Who is logged in."""
        user = self._user
        if user is None:
            return CurrentUser(user_id="", name="", image_url="", is_logged_in=False)
        return CurrentUser(user.id, user.name or "", user.image or "", self._conn is not None)

    @threadsafe
    async def set_dynamic_api_key(self, api_key: str | None) -> SuccessResponse:
        """Use ``api_key`` instead of the configured one, from the next login (and after a
        restart) until cleared with ``None``."""
        self._settings.set_dynamic_api_key(api_key)
        return SuccessResponse()

    @threadsafe
    async def get_dynamic_api_key(self) -> DynamicApiKey:
        """The dynamic API key, if one is set."""
        key = self._settings.dynamic_api_key
        return DynamicApiKey(api_key=key, has_dynamic_key=key is not None)

    # -- calls ---------------------------------------------------------------------------

    def _start_media(self) -> asyncio.Task[None]:
        if self._media_ready is None:
            self._media_ready = asyncio.get_running_loop().create_task(
                self.media.ensure_open(self._camera_choice, self._microphone_choice)
            )
        return self._media_ready

    async def prepare_media(self) -> None:
        """Open the camera and microphone once (a call joins only when they are ready)."""
        await asyncio.shield(self._start_media())

    # -- shutdown ------------------------------------------------------------------------

    def close(self, timeout: float = 10.0) -> None:
        """Leave any call, disconnect, close devices and stop the embedded coordinator."""
        if self._closed:
            return
        try:
            self.engine.submit(self._shutdown()).result(timeout)
        except StreamCallError as exc:
            logger.warning("closing: %s", exc)
        finally:
            self._closed = True
            lifetime.forget(self)
            self._runner.close()
            release_loop()

    async def _shutdown(self) -> None:
        if self._user is not None:
            with contextlib.suppress(StreamCallError):
                await self._logout()
        if self._media_ready is not None:
            with contextlib.suppress(Exception):
                await self._media_ready
            self._media_ready = None
        await self.taps.close()
        await self.media.close()
        if self._embedded is not None:
            await self._embedded.stop()
            self._embedded = None
        self._target = None
