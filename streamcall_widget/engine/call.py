"""One call the local user takes part in: its phase, participants, peers and media hooks.

A :class:`Call` is created by ``StreamCall.call()``, ``join_call()`` or an incoming ring.
Its public methods may be called from any thread and return an
:class:`~streamcall_widget.engine.loop.EngineFuture`; everything else runs on the engine
loop: coordinator events come in through :meth:`Call.receive`, the sans-I/O
:class:`~streamcall_widget.engine.call_core.CallCore` decides what they mean (the
``callEvent`` payloads, which sessions to connect or drop, when to join or finish) and the
call performs those actions; once joined the call's media goes through a
:class:`~streamcall_widget.engine.transport.MediaTransport` (the mesh today): local tracks
published by type, remote tracks named by :class:`~streamcall_widget.engine.tracks.TrackRef`
and fanned out to hooks, taps and readers; everything is closed when the call is left.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

from aiortc.mediastreams import MediaStreamTrack

from streamcall_widget.errors import (
    ConnectionLost,
    DoesNotExist,
    InvalidState,
    StreamCallError,
)
from streamcall_widget.protocol.events import AnyEvent
from streamcall_widget.protocol.headers import Headers
from streamcall_widget.protocol.lifecycle import (
    CallEvent,
    CallLifecycle,
    CallMember,
    CallState,
    Direction,
)
from streamcall_widget.protocol.models import CallResponse, RejectReason, Signal, TrackType
from streamcall_widget.protocol.requests import (
    AcceptCall,
    EndCall,
    GetCall,
    GetOrCreateCall,
    JoinCall,
    LeaveCall,
    PublishTrack,
    RejectCall,
    Request,
    SendSignal,
)

from .call_controls import CallControls
from .call_core import (
    Action,
    CallCore,
    DtmfHeard,
    Emit,
    Finish,
    ForwardSignal,
    HoldChanged,
    JoinSession,
    PeerJoined,
    PeerLeft,
)
from .call_streams import CallStreams
from .links import SessionLinks
from .listeners import ListenerHandle
from .local_media import LocalMedia
from .loop import EngineFuture, EngineLoop
from .messaging import CallMessaging
from .participants import Participant
from .permissions import CallRights
from .pins import CallPins
from .recording import CallRecording
from .remote_media import FrameHook, RemoteMedia
from .rtc_config import MediaConfig
from .streams import Streams
from .taps import FrameTaps
from .tracks import TrackRef
from .transport import MediaTransport
from .watchables import CallWatchables

__all__ = ["Call", "CallHost"]

logger = logging.getLogger(__name__)

R = TypeVar("R")


class CallHost(Protocol):
    """What a call needs from the client that owns it."""

    engine: EngineLoop
    media: LocalMedia
    media_config: MediaConfig
    taps: FrameTaps

    @property
    def user_id(self) -> str:
        """The logged-in user."""

    async def request(self, request: Request, result_type: type[R]) -> R:
        """Send a request to the coordinator and return its typed reply."""

    def emit(self, events: list[CallEvent]) -> None:
        """Hand callEvents to the listeners."""

    def notify(self, event: str, payload: object) -> None:
        """Hand a ``dtmf``, ``message``, ``info``, ``data`` or ``custom`` payload to its
        listeners."""

    def report(self, where: str, error: BaseException) -> None:
        """Show an error that must not stop the engine."""

    def post_callback(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the listener thread, after the callbacks queued before it."""

    async def prepare_media(self) -> None:
        """Open the local devices (once)."""

    async def set_camera(self, enabled: bool) -> None:
        """Turn the local camera on or off, telling the listeners and the call."""

    async def switch_off(self, kind: TrackType) -> None:
        """Turn the local camera or microphone off (``kind`` video or audio), telling the
        listeners and the call: the call took the right to send it."""

    def call_finished(self, call: Call) -> None:
        """The call was left; forget it."""


class Call(
    CallControls,
    CallMessaging,
    CallPins,
    CallRecording,
    CallWatchables,
    CallStreams,
    CallRights,
):
    """One call: ``state``, ``participants``, frame hooks, hold, deaf and DTMF (see
    :mod:`.call_controls`), messages and data (see :mod:`.messaging`), pins (see
    :mod:`.pins`), watchable
    properties (see :mod:`.watchables`), recording (see :mod:`.recording`), ``leave()``
    and ``end()``."""

    def __init__(
        self,
        host: CallHost,
        cid: str,
        direction: Direction,
        *,
        caller: CallMember | None = None,
        members: tuple[CallMember, ...] = (),
        custom: dict[str, Any] | None = None,
    ) -> None:
        self._host = host
        self.cid = cid
        self.type, _, self.id = cid.partition(":")
        self._core = CallCore(
            cid, host.user_id, direction, caller=caller, members=members, custom=custom
        )
        self._participants = self._core.participants
        self._remote = RemoteMedia(self._participants, self._who, host.taps, host.report)
        self._links = SessionLinks(
            config=host.media_config,
            participants=self._participants,
            remote=self._remote,
            send_signal=self._send_signal,
            on_data=self._data_arrived,
            report=host.report,
            relay=host.media.relay,
        )
        self._streams = Streams(host.media)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._phase_waiters: list[tuple[frozenset[CallState], asyncio.Future[Call]]] = []
        self.video = True
        """Whether the ring asked for video (an audio ring is accepted with the camera off)."""
        self._init_watchables()

    @property
    def lifecycle(self) -> CallLifecycle:
        """The call's phase machine (its ``status()``, ``reason``, ``note()``)."""
        return self._core.lifecycle

    @property
    def session_id(self) -> str | None:
        """This client's session in the call, once joined (a rejoin gets a new one)."""
        return self._core.session_id

    @property
    def own_capabilities(self) -> tuple[str, ...]:
        """What the local user may do in this call (``send-audio``, ``screenshare``...)."""
        return self._core.own_capabilities

    @property
    def joined_at(self) -> float | None:
        """When the call was first joined (epoch seconds; a rejoin keeps it), for timers."""
        return self._core.joined_at

    @property
    def user_id(self) -> str:
        """The local user."""
        return self.lifecycle.self_user_id

    def __repr__(self) -> str:
        return f"<Call {self.cid} {self.state.value} participants={len(self._participants)}>"

    # -- what a user reads (any thread) -------------------------------------------------

    @property
    def state(self) -> CallState:
        """The call's phase: idle, ringing, joining, joined, reconnecting, leaving, left."""
        return self.lifecycle.phase

    @property
    def direction(self) -> Direction:
        """outgoing, incoming or joined."""
        return self.lifecycle.direction

    @property
    def caller(self) -> CallMember | None:
        """Who rang (None for a call joined by id)."""
        return self.lifecycle.caller

    @property
    def members(self) -> tuple[CallMember, ...]:
        """The call's members."""
        return self.lifecycle.members

    @property
    def custom(self) -> dict[str, Any]:
        """The call's custom data."""
        return self.lifecycle.custom

    @property
    def participants(self) -> tuple[Participant, ...]:
        """Everyone in the session now, the local user included (``is_local``)."""
        return self._participants.all()

    @property
    def participant_count(self) -> int:
        """How many sessions are in the call."""
        return len(self._participants)

    @property
    def remote_participants(self) -> tuple[Participant, ...]:
        """Everyone in the session but the local user."""
        return tuple(p for p in self._participants.all() if not p.is_local)

    @property
    def remote_streams(self) -> tuple[TrackRef, ...]:
        """The remote tracks arriving now (seed 001's ``remoteStreams``)."""
        return self._remote.streams

    def remote_frame_count(self, session_id: str, track_type: str = "video") -> int:
        """Frames received so far from one participant's track of ``track_type``, in
        this call: it stops growing when the track ends (a revoke, a mute, the participant
        leaving) and goes on from there if the track comes back."""
        return self._remote.frame_count(TrackRef(session_id, TrackType(track_type)))

    def subscribe(self, ref: TrackRef) -> MediaStreamTrack:
        """A new reader of the remote track ``ref`` getting every frame from now on
        (engine loop only; ``stop()`` it when done). Every reader gets every frame: the
        hooks, the widgets' taps and other readers take nothing from each other."""
        return self._remote.subscribe(ref)

    # -- what a user does (any thread) --------------------------------------------------

    def on_remote_video(self, fn: FrameHook, track_type: str = "video") -> ListenerHandle:
        """Call ``fn(participant, rgb_array)`` for remote video frames of ``track_type``
        (``video``: cameras, ``screen_share``: screens), in a worker thread.

        While ``fn`` runs, newer frames skip it (analysis never lags behind the call).
        """
        return self._remote.add_hook("video", track_type, fn)

    def on_remote_audio(self, fn: FrameHook, track_type: str = "audio") -> ListenerHandle:
        """Call ``fn(participant, samples)`` for remote audio frames of ``track_type``
        (``audio`` or ``screen_share_audio``), in a worker thread."""
        return self._remote.add_hook("audio", track_type, fn)

    def leave(self) -> EngineFuture[None]:
        """Leave the call (others stay in it)."""
        return self._host.engine.submit(self._leave())

    def end(self) -> EngineFuture[None]:
        """End the call for everyone (needs the ``end-call`` capability)."""
        return self._host.engine.submit(self._end())

    # -- the flows of one call (engine loop; StreamCall picks the call and delegates) ----

    async def ring_out(self, create: GetOrCreateCall) -> Call:
        """Create the call with its members: ring them (resolving while it rings; it is
        joined when someone accepts), or join it at once when ``create.ring`` is false."""
        try:
            response = await self._host.request(create, CallResponse)
        except BaseException:
            self._host.call_finished(self)
            raise
        self._core.created(response)
        if create.ring:
            self.ringing()
            return self
        return await self.join()

    async def accept(self, headers: Headers | None = None) -> Call:
        """Answer the ring (with ``headers`` for the caller) and join, with the camera as
        the ring asked (audio or video)."""
        self._core.accept_started()
        try:
            accept = AcceptCall(id="", cid=self.cid, headers=headers or {})
            await self._host.request(accept, CallResponse)
        except BaseException:
            self._core.accept_failed()
            raise
        self._perform(self._core.accepted())
        await self._host.set_camera(self.video)
        return await self.join()

    async def reject(self, reason: RejectReason, headers: Headers | None = None) -> None:
        """Decline the ring (``decline``, ``busy``), or cancel ours (``cancel``)."""
        reject = RejectCall(id="", cid=self.cid, reason=reason, headers=headers or {})
        await self._host.request(reject, object)

    async def hang_up(self, headers: Headers | None = None) -> None:
        """Cancel our ring, end a 1:1 call for both, or leave a group call; ``headers``
        go to the others on the event it causes."""
        if self.state is CallState.RINGING:
            await self.reject(RejectReason.CANCEL, headers)
        elif len(self.members) <= 2 and "end-call" in self.own_capabilities:
            await self._end(headers)
        else:
            await self._leave(headers)

    def wait_until(self, *states: CallState) -> EngineFuture[Call]:
        """Resolve when the call's phase is one of ``states`` (InvalidState if it ends first)."""
        wanted = frozenset(states)
        return self._host.engine.submit(self._wait_until(wanted))

    # -- engine side ---------------------------------------------------------------------

    def _submit(self, coro: Coroutine[Any, Any, R]) -> EngineFuture[R]:
        return self._host.engine.submit(coro)

    def _spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                self._host.report(what, finished.exception() or RuntimeError(what))

        task.add_done_callback(done)

    def _perform(self, actions: list[Action]) -> None:
        """Carry out the core's actions in order (consecutive events go out together)."""
        events: list[CallEvent] = []
        for action in actions:
            if isinstance(action, Emit):
                events.append(action.event)
                continue
            self._emit(events)
            events = []
            match action:
                case PeerJoined():
                    self._links.joined(action.participant, connect=action.connect)
                case PeerLeft():
                    self._links.left(action.session_id, action.participant, action.reason)
                case ForwardSignal():
                    self._spawn(self._on_signal(action), "a signal")
                case JoinSession():
                    self._spawn(self.join(), f"joining {self.cid} after it was accepted")
                case Finish():
                    self._host.call_finished(self)
                case HoldChanged() | DtmfHeard():
                    self._control(action)
        self._emit(events)

    def _emit(self, events: list[CallEvent]) -> None:
        if not events:
            return
        self._host.emit(events)
        self._wake_waiters()
        self._changed()

    def _wake_waiters(self) -> None:
        phase = self.lifecycle.phase
        for wanted, future in list(self._phase_waiters):
            if future.done():
                continue
            if phase in wanted:
                future.set_result(self)
            elif phase is CallState.LEFT:
                future.set_exception(
                    InvalidState(f"call {self.cid} was left before becoming {_names(wanted)}")
                )
        self._phase_waiters = [(w, f) for w, f in self._phase_waiters if not f.done()]

    async def _wait_until(self, wanted: frozenset[CallState]) -> Call:
        future: asyncio.Future[Call] = asyncio.get_running_loop().create_future()
        self._phase_waiters.append((wanted, future))
        self._wake_waiters()
        return await future

    def ringing(self) -> None:
        """The call starts ringing (incoming, or outgoing to the callees)."""
        self._perform(self._core.ring())

    def reconnecting(self, reason: str) -> None:
        """The coordinator connection dropped (``reason``); the client is getting back."""
        self._perform(self._core.reconnecting(reason))

    async def join(self) -> Call:
        """Join the session, publish local tracks and connect to everyone already there."""
        self._perform(self._core.start_joining())
        return await self._enter_session()

    async def resume(self) -> None:
        """Back on the coordinator with the same session after a reconnection: catch up
        with the call as it is now (events of the time away are not replayed); the media
        links never stopped."""
        response = await self._host.request(GetCall(id="", cid=self.cid), CallResponse)
        actions = self._core.resumed(response)
        self._take_pins(response)
        self._perform(actions)

    async def rejoin(self) -> Call:
        """Back in the call after a reconnection: a new session, new peers."""
        return await self._enter_session()

    async def _enter_session(self) -> Call:
        try:
            await self._host.prepare_media()
            response = await self._host.request(JoinCall(id="", cid=self.cid), CallResponse)
        except ConnectionLost:
            # Reconnecting: the client rejoins once it is back.
            self._perform(self._core.join_failed(reconnecting_allowed=True))
            raise
        except StreamCallError:
            self._perform(self._core.join_failed(reconnecting_allowed=False))
            raise
        if self._core.phase is CallState.JOINED:
            return self  # a rejoin raced a join that completed first
        actions = self._core.joined(response, time.time())
        self._take_pins(response)
        self._perform([a for a in actions if isinstance(a, Emit)])
        self._recording_seen(response.call.recording)
        transport = await self._links.open(response.session_id or "")
        self._gate_media()
        await self._publish_local_tracks(transport)
        for action in actions:
            if isinstance(action, PeerJoined):
                await transport.session_joined(action.participant.session_id)
        await self._links.ready()
        await self._hold_again()
        return self

    async def _send_signal(self, to_session_id: str, signal: Signal) -> None:
        request = SendSignal(id="", cid=self.cid, session_id=to_session_id, signal=signal)
        try:
            await self._host.request(request, type(None))
        except (InvalidState, DoesNotExist):
            still_there = self._participants.get(to_session_id) is not None
            if self.lifecycle.phase is CallState.JOINED and still_there:
                raise  # otherwise one side left while negotiating: nothing to tell

    async def _publish_local_tracks(self, transport: MediaTransport) -> None:
        """Everything this call sends; the coordinator hears of what the others should see
        (the camera and microphone are carried even while off: muting only pauses them)."""
        for track_type, track in self._streams.sent().items():
            if not await self._sendable(track_type):
                continue
            await transport.publish(track_type, track)
            if self._streams.announced(track_type):
                await self.publish(track_type, True)

    async def publish(self, track: TrackType, published: bool) -> None:
        """Tell the call this session (un)publishes ``track`` (mute/unmute); a track this
        call does not send (a removed camera stream) is never announced."""
        if self.session_id is None or not self.lifecycle.in_session:
            return
        if published and track not in self._streams.sent():
            return
        request = PublishTrack(id="", cid=self.cid, track_type=track, published=published)
        try:
            await self._host.request(request, type(None))
        except StreamCallError as exc:
            if self.lifecycle.in_session:
                self._host.report(f"publishing {track} in {self.cid}", exc)
            return
        self._core.track_published(track, published)

    def receive(self, event: AnyEvent) -> None:
        """Apply one coordinator event of this call."""
        handled = self._messaging_event(event) or self._pin_event(event)
        if not (handled or self._recording_event(event)):
            self._perform(self._core.receive(event))
            self._rights_event(event)

    def _who(self, session_id: str) -> Participant | None:
        return self._links.who(session_id)  # links are made after the remote media

    async def _on_signal(self, signal: ForwardSignal) -> None:
        if self.lifecycle.in_session:
            await self._links.receive_signal(
                signal.to_session_id, signal.from_session_id, signal.signal
            )

    async def _leave(self, headers: Headers | None = None) -> None:
        await self._recording_closed()  # leave() resolves with the recording's file whole
        self._perform(self._core.start_leaving())
        try:
            leave = LeaveCall(id="", cid=self.cid, headers=headers or {})
            await self._host.request(leave, CallResponse)
        finally:
            self._finish("left")

    async def _end(self, headers: Headers | None = None) -> None:
        if self.state is CallState.LEFT:
            raise InvalidState(f"call {self.cid} is already over")
        await self._host.request(EndCall(id="", cid=self.cid, headers=headers or {}), CallResponse)

    def _finish(self, reason: str | None) -> None:
        """Out of the call: emit ``left`` (once) and close every peer."""
        self._perform(self._core.finish(reason))

    async def close(self) -> None:
        """Close peers, remote tracks, hooks, own tracks and timers (the coordinator is
        not told; a recording in progress is finished)."""
        await self._recording_closed()
        await self._links.close()
        await self._remote.close()
        await self._streams.close_all()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        self._participants.clear()
        self._released()


def _names(states: frozenset[CallState]) -> str:
    return " or ".join(sorted(s.value for s in states))
