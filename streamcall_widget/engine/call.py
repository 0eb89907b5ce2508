"""One call the local user takes part in: its phase, participants, peers and media hooks.

A :class:`Call` is created by ``StreamCall.call()``, ``join_call()`` or an incoming ring.
Its public methods may be called from any thread and return an
:class:`~streamcall_widget.engine.loop.EngineFuture`; everything else runs on the engine
loop: coordinator events come in through :meth:`Call.receive`, the
:class:`~streamcall_widget.protocol.lifecycle.CallLifecycle` turns them into ``callEvent``
payloads, and the call opens one :class:`~streamcall_widget.engine.peer.PeerSession` per
remote participant once joined, closing everything when it is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamTrack

from streamcall_widget.errors import (
    ConnectionLost,
    DoesNotExist,
    InputError,
    InvalidState,
    StreamCallError,
)
from streamcall_widget.protocol.events import (
    AnyEvent,
    CallAccepted,
    MemberAdded,
    MemberRemoved,
    ParticipantJoined,
    ParticipantLeft,
    SignalReceived,
    TrackPublished,
    TrackUnpublished,
)
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
    GetOrCreateCall,
    JoinCall,
    LeaveCall,
    PublishTrack,
    RejectCall,
    Request,
    SendSignal,
)

from .listeners import ListenerHandle
from .local_media import LocalMedia
from .loop import EngineFuture, EngineLoop
from .media import Hook, RemoteSink
from .participants import Participant, ParticipantTable
from .peer import MediaConfig, PeerSession
from .quality import ConnectionQuality, connection_quality
from .taps import FrameTaps

__all__ = ["Call", "CallHost"]

logger = logging.getLogger(__name__)

R = TypeVar("R")
Array = npt.NDArray[np.generic]
FrameHook = Callable[[Participant, Array], Any]


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

    def report(self, where: str, error: BaseException) -> None:
        """Show an error that must not stop the engine."""

    async def prepare_media(self) -> None:
        """Open the local devices (once)."""

    async def set_camera(self, enabled: bool) -> None:
        """Turn the local camera on or off, telling the listeners and the call."""

    def call_finished(self, call: Call) -> None:
        """The call was left; forget it."""


class Call:
    """One call: ``state``, ``participants``, frame hooks, ``leave()`` and ``end()``."""

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
        self.lifecycle = CallLifecycle(
            cid, host.user_id, direction, caller=caller, members=members, custom=custom
        )
        self.session_id: str | None = None
        self.own_capabilities: tuple[str, ...] = ()
        self._participants = ParticipantTable()
        self._peers: dict[str, PeerSession] = {}
        self._sinks: dict[tuple[str, str], RemoteSink] = {}
        self._hooks: dict[str, dict[int, Hook[Any]]] = {"video": {}, "audio": {}}
        self._hook_ids = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stats_task: asyncio.Task[None] | None = None
        self._phase_waiters: list[tuple[frozenset[CallState], asyncio.Future[Call]]] = []
        self._finished = False
        self.video = True
        """Whether the ring asked for video (an audio ring is accepted with the camera off)."""
        self.joined_at: float | None = None
        """When the call was first joined (epoch seconds; a rejoin keeps it), for timers."""

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

    def remote_frame_count(self, session_id: str, kind: str = "video") -> int:
        """Frames received so far from one participant's ``video`` or ``audio``."""
        sink = self._sinks.get((session_id, kind))
        return sink.frames if sink is not None else 0

    # -- what a user does (any thread) --------------------------------------------------

    def on_remote_video(self, fn: FrameHook) -> ListenerHandle:
        """Call ``fn(participant, rgb_array)`` for remote video frames, in a worker thread.

        While ``fn`` runs, newer frames skip it (analysis never lags behind the call).
        """
        return self._add_hook("video", fn)

    def on_remote_audio(self, fn: FrameHook) -> ListenerHandle:
        """Call ``fn(participant, samples)`` for remote audio frames, in a worker thread."""
        return self._add_hook("audio", fn)

    def _add_hook(self, kind: str, fn: FrameHook) -> ListenerHandle:
        if not callable(fn):
            raise InputError(f"a frame hook must be callable, not {type(fn).__name__}")
        self._hook_ids += 1
        key = self._hook_ids
        name = getattr(fn, "__qualname__", repr(fn))
        self._hooks[kind][key] = Hook(fn, f"on_remote_{kind} hook {name}", self._host.report)

        def remove() -> None:
            hook = self._hooks[kind].pop(key, None)
            if hook is not None:
                hook.close()

        return ListenerHandle(f"remote_{kind}", remove)

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
        self.lifecycle.caller = CallMember.from_user(response.call.created_by)
        self._apply(response)
        if create.ring:
            self.ringing()
            return self
        return await self.join()

    async def accept(self) -> Call:
        """Answer the ring and join, with the camera as the ring asked (audio or video)."""
        self.lifecycle.accepting()
        try:
            await self._host.request(AcceptCall(id="", cid=self.cid), CallResponse)
        except BaseException:
            self.lifecycle.accepting(started=False)
            raise
        self._emit(self.lifecycle.accepted())
        await self._host.set_camera(self.video)
        return await self.join()

    async def reject(self, reason: RejectReason) -> None:
        """Decline the ring (``decline``, ``busy``), or cancel ours (``cancel``)."""
        await self._host.request(RejectCall(id="", cid=self.cid, reason=reason), object)

    async def hang_up(self) -> None:
        """Cancel our ring, end a 1:1 call for both, or leave a group call."""
        if self.state is CallState.RINGING:
            await self.reject(RejectReason.CANCEL)
        elif len(self.members) <= 2 and "end-call" in self.own_capabilities:
            await self._end()
        else:
            await self._leave()

    def wait_until(self, *states: CallState) -> EngineFuture[Call]:
        """Resolve when the call's phase is one of ``states`` (InvalidState if it ends first)."""
        wanted = frozenset(states)
        return self._host.engine.submit(self._wait_until(wanted))

    # -- engine side ---------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                self._host.report(what, finished.exception() or RuntimeError(what))

        task.add_done_callback(done)

    def _emit(self, events: list[CallEvent]) -> None:
        if not events:
            return
        self._host.emit(events)
        self._wake_waiters()

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
        self._emit(self.lifecycle.ringing())

    async def join(self) -> Call:
        """Join the session, publish local tracks and connect to everyone already there."""
        self._emit(self.lifecycle.joining())
        return await self._enter_session()

    async def rejoin(self) -> Call:
        """Back in the call after a reconnection: a new session, new peers."""
        return await self._enter_session()

    async def _enter_session(self) -> Call:
        try:
            await self._host.prepare_media()
            response = await self._host.request(JoinCall(id="", cid=self.cid), CallResponse)
        except ConnectionLost:
            if self.lifecycle.phase is not CallState.RECONNECTING:
                self._finish("join_failed")
            raise  # reconnecting: the client rejoins once it is back
        except StreamCallError:
            self._finish("join_failed")
            raise
        if self.lifecycle.phase is CallState.JOINED:
            return self  # a rejoin raced a join that completed first
        self.session_id = response.session_id
        self._apply(response)
        if self.joined_at is None:
            self.joined_at = time.time()
        self._emit(self.lifecycle.joined())
        await self._publish_local_tracks()
        for participant in self.remote_participants:
            self._peer_for(participant.session_id)
        if self._stats_task is None:
            self._stats_task = asyncio.get_running_loop().create_task(self._stats_loop())
        return self

    def _apply(self, response: CallResponse) -> None:
        self.own_capabilities = tuple(str(c) for c in response.own_capabilities)
        self.lifecycle.members = tuple(CallMember.from_member(m) for m in response.members)
        self.lifecycle.custom = dict(response.call.custom)
        self._participants.clear()
        session = response.call.session
        for data in session.participants if session is not None else ():
            self._participants.put(
                Participant.from_wire(data, is_local=data.session_id == self.session_id)
            )
        self.lifecycle.participant_count = len(self._participants)

    async def _publish_local_tracks(self) -> None:
        media = self._host.media
        for kind, track in ((TrackType.AUDIO, media.audio), (TrackType.VIDEO, media.video)):
            if track.enabled and track.source is not None:
                await self.publish(kind, True)

    async def publish(self, track: TrackType, published: bool) -> None:
        """Tell the call this session (un)publishes ``track`` (mute/unmute)."""
        if self.session_id is None or not self.lifecycle.in_session:
            return
        request = PublishTrack(id="", cid=self.cid, track_type=track, published=published)
        try:
            await self._host.request(request, type(None))
        except StreamCallError as exc:
            if self.lifecycle.in_session:
                self._host.report(f"publishing {track} in {self.cid}", exc)
            return
        if self.session_id is not None:
            self._participants.set_track(self.session_id, track, published)

    def receive(self, event: AnyEvent) -> None:
        """Apply one coordinator event of this call."""
        own = self.session_id
        match event:
            case SignalReceived():
                self._spawn(self._on_signal(event.from_session_id, event.signal), "a signal")
                return
            case ParticipantJoined() if event.participant.session_id != own:
                self._participants.put(Participant.from_wire(event.participant, is_local=False))
                if self.lifecycle.phase is CallState.JOINED:
                    self._peer_for(event.participant.session_id)
            case ParticipantLeft():
                gone = event.participant.session_id
                if gone == own:
                    self._participants.remove(gone)
                    self.lifecycle.participant_count = len(self._participants)
                    self._emit(self.lifecycle.receive(event))
                    self._finish(event.reason)
                    return
                self._participants.remove(gone)
                self._spawn(self._close_peer(gone), "closing a peer")
            case TrackPublished() | TrackUnpublished():
                published = isinstance(event, TrackPublished)
                self._participants.set_track(event.session_id, event.track_type, published)
                if event.session_id == own:
                    return  # the local toggle already emitted this
            case MemberAdded():
                added = tuple(CallMember.from_member(m) for m in event.members)
                known = {m.user_id for m in added}
                self.lifecycle.members = (
                    tuple(m for m in self.lifecycle.members if m.user_id not in known) + added
                )
            case MemberRemoved():
                removed = set(event.user_ids)
                self.lifecycle.members = tuple(
                    m for m in self.lifecycle.members if m.user_id not in removed
                )
        self.lifecycle.participant_count = len(self._participants)
        was_ringing = self.lifecycle.phase is CallState.RINGING
        self._emit(self.lifecycle.receive(event))
        if (
            isinstance(event, CallAccepted)
            and was_ringing
            and self.direction is Direction.OUTGOING
            and self.lifecycle.phase is CallState.RINGING
        ):
            self._spawn(self.join(), f"joining {self.cid} after it was accepted")
        if self.lifecycle.phase is CallState.LEFT:
            self._finish(None)

    def _peer_for(self, session_id: str) -> PeerSession:
        peer = self._peers.get(session_id)
        if peer is not None:
            return peer
        assert self.session_id is not None
        media = self._host.media

        async def send(signal: Signal) -> None:
            request = SendSignal(id="", cid=self.cid, session_id=session_id, signal=signal)
            try:
                await self._host.request(request, type(None))
            except (InvalidState, DoesNotExist):
                if self.lifecycle.phase is CallState.JOINED and session_id in self._peers:
                    raise  # otherwise one side left while negotiating: nothing to tell

        peer = PeerSession(
            self.session_id,
            session_id,
            config=self._host.media_config,
            audio=media.subscribe("audio"),
            video=media.subscribe("video"),
            send_signal=send,
            on_track=lambda track: self._on_track(session_id, track),
        )
        self._peers[session_id] = peer
        self._spawn(peer.start(), f"offering to {session_id}")
        return peer

    async def _on_signal(self, from_session_id: str, signal: Signal) -> None:
        if self.session_id is None or not self.lifecycle.in_session:
            return
        await self._peer_for(from_session_id).handle(signal)

    def _on_track(self, session_id: str, track: MediaStreamTrack) -> None:
        kind = track.kind

        def on_level(level: float, speaking: bool) -> None:
            self._participants.set_audio(session_id, level, speaking)

        self._sinks[(session_id, kind)] = RemoteSink(
            track,
            hooks=lambda: list(self._hooks[kind].values()),
            subject=lambda: self._participants.get(session_id),
            on_level=on_level if kind == "audio" else None,
            on_frame=lambda frame: self._host.taps(session_id, kind, frame),
        )

    async def _close_peer(self, session_id: str) -> None:
        peer = self._peers.pop(session_id, None)
        for kind in ("audio", "video"):
            sink = self._sinks.pop((session_id, kind), None)
            if sink is not None:
                await sink.close()
        if peer is not None:
            await peer.close()

    async def _stats_loop(self) -> None:
        interval = self._host.media_config.stats_interval
        while True:
            await asyncio.sleep(interval)
            grades = []
            for session_id, peer in list(self._peers.items()):
                grade = await _grade(peer)
                grades.append(grade)
                self._participants.update(session_id, connection_quality=grade)
            if self.session_id is not None and grades:
                worst = min(grades, key=_QUALITY_ORDER.index)
                self._participants.update(self.session_id, connection_quality=worst)

    async def _leave(self) -> None:
        if not self.lifecycle.in_session:
            raise InvalidState(f"call {self.cid} is {self.state.value}; nothing to leave")
        self._emit(self.lifecycle.leaving())
        try:
            await self._host.request(LeaveCall(id="", cid=self.cid), CallResponse)
        finally:
            self._finish("left")

    async def _end(self) -> None:
        if self.state is CallState.LEFT:
            raise InvalidState(f"call {self.cid} is already over")
        await self._host.request(EndCall(id="", cid=self.cid), CallResponse)

    def _finish(self, reason: str | None) -> None:
        """Out of the call: emit ``left`` (once) and close every peer."""
        if self.lifecycle.phase is not CallState.LEFT:
            self._emit(self.lifecycle.left(reason or "left"))
        if self._finished:
            return
        self._finished = True
        self._host.call_finished(self)

    async def close(self) -> None:
        """Close peers, sinks, hooks and timers (the coordinator is not told)."""
        await self.drop_media()
        for hooks in self._hooks.values():
            for hook in list(hooks.values()):
                await hook.aclose()
            hooks.clear()

    async def drop_media(self) -> None:
        """Close every peer and timer but keep hooks (a reconnection rejoins)."""
        if self._stats_task is not None:
            self._stats_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stats_task
            self._stats_task = None
        for session_id in list(self._peers):
            await self._close_peer(session_id)
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        self._participants.clear()


_QUALITY_ORDER = [
    ConnectionQuality.POOR,
    ConnectionQuality.UNSPECIFIED,
    ConnectionQuality.GOOD,
    ConnectionQuality.EXCELLENT,
]


async def _grade(peer: PeerSession) -> ConnectionQuality:
    """The link's quality from the RTCP receiver reports the remote side sent us."""
    try:
        report = await peer.pc.getStats()
    except Exception:  # a closing connection has no stats; that is not an error
        return ConnectionQuality.UNSPECIFIED
    losses: list[float] = []
    rtts: list[float] = []
    for stats in report.values():
        if getattr(stats, "type", None) == "remote-inbound-rtp":
            if stats.fractionLost is not None:
                losses.append(float(stats.fractionLost))
            if stats.roundTripTime is not None:
                rtts.append(float(stats.roundTripTime))
    return connection_quality(max(losses) if losses else None, max(rtts) if rtts else None)


def _names(states: frozenset[CallState]) -> str:
    return " or ".join(sorted(s.value for s in states))
