"""The mesh transport: one aiortc peer connection per other session of the call.

Each local track is read once per peer (an aiortc ``MediaRelay`` subscription, latest
frame wins, so a slow encoder never queues frames) through an :class:`_Outgoing` track
whose id names its type, which is how the other side knows a screen from a camera (see
:mod:`~streamcall_widget.engine.tracks`). Negotiation per peer is in
:class:`~streamcall_widget.engine.peer.PeerSession`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from streamcall_widget.protocol.models import Signal, TrackType

from .listeners import ErrorSink
from .media import LocalTrack
from .peer import PeerSession
from .quality import ConnectionQuality, connection_quality
from .rtc_config import MediaConfig
from .tracks import kind_of, track_label
from .transport import DataReceived, SendSignal, TrackEnded, TrackStarted

__all__ = ["MeshTransport"]

logger = logging.getLogger(__name__)


class _Outgoing(LocalTrack):
    """One peer's reader of a local track type, for the life of the peer connection.

    Its id names the type (the ``a=msid`` track id the other side reads). Publishing,
    unpublishing and replacing swap what it reads (:meth:`feed`), never the sender's track
    (see :meth:`~streamcall_widget.engine.peer.PeerSession.send`), and its timeline keeps
    timestamps rising across sources, which encoders require.
    """

    def __init__(self, track_type: TrackType) -> None:
        super().__init__(kind_of(track_type), None, enabled=True)
        self._label = track_label(track_type)

    @property
    def id(self) -> str:
        """``<track type>:<uuid>``."""
        return self._label

    def feed(self, source: MediaStreamTrack | None) -> None:
        """Read ``source`` from now on (None: send nothing); the previous reader stops."""
        previous = self.set_source(source)
        if previous is not None:
            previous.stop()

    def stop(self) -> None:
        """Stop for good, with the reader it holds."""
        self.feed(None)
        super().stop()


class MeshTransport:
    """A :class:`~streamcall_widget.engine.transport.MediaTransport` over a full mesh."""

    def __init__(
        self,
        session_id: str,
        *,
        config: MediaConfig,
        send_signal: SendSignal,
        on_started: TrackStarted,
        on_ended: TrackEnded,
        on_data: DataReceived,
        report: ErrorSink,
        relay: MediaRelay,
    ) -> None:
        self.session_id = session_id
        self._on_data = on_data
        self._config = config
        self._send_signal = send_signal
        self._on_started = on_started
        self._on_ended = on_ended
        self._report = report
        self._relay = relay
        """Shared by every transport of the client: aiortc's relay reads a track until the
        track ends, so a relay per transport would leave a reader behind on each local
        track after a rejoin, splitting its frames with the next one."""
        self._local: dict[TrackType, MediaStreamTrack] = {}
        self._outgoing: dict[tuple[str, TrackType], _Outgoing] = {}
        """Each peer's reader of each track type ever published to it."""
        self._closing: set[asyncio.Task[None]] = set()
        self._held: Callable[[str], bool] = lambda _session_id: False
        self.peers: dict[str, PeerSession] = {}
        """The peer connection to each other session (read by tests and stats)."""

    async def publish(self, track_type: TrackType, track: MediaStreamTrack) -> None:
        """Send ``track`` to every peer as ``track_type`` (each renegotiates if needed)."""
        self._local[track_type] = track
        for peer in list(self.peers.values()):
            self._feed(peer, track_type)
            await self._negotiate(peer)

    async def unpublish(self, track_type: TrackType) -> None:
        """Stop sending ``track_type`` to every peer (each renegotiates)."""
        if self._local.pop(track_type, None) is None:
            return
        for peer in list(self.peers.values()):
            self._feed(peer, track_type)
            await self._negotiate(peer)

    def _feed(self, peer: PeerSession, track_type: TrackType) -> None:
        """Make ``peer``'s reader of ``track_type`` read the local track (or pause)."""
        key = (peer.remote_session_id, track_type)
        outgoing = self._outgoing.get(key)
        if outgoing is None:
            outgoing = self._outgoing[key] = _Outgoing(track_type)
        local = self._local.get(track_type)
        outgoing.feed(self._relay.subscribe(local, False) if local is not None else None)
        outgoing.enabled = not self._held(peer.remote_session_id)
        peer.send(track_type, outgoing, local is not None)

    def hold_sending(self, held: Callable[[str], bool]) -> None:
        """Send no frames to the sessions ``held`` names: their senders and the SDP stay,
        each sender's track just waits (hold); a link that resumes asks its video
        encoders for a keyframe, so the picture comes back at once."""
        self._held = held
        resumed: set[str] = set()
        for (session_id, _), outgoing in self._outgoing.items():
            sending = not held(session_id)
            if sending and not outgoing.enabled:
                resumed.add(session_id)
            outgoing.enabled = sending
        for session_id in resumed:
            peer = self.peers.get(session_id)
            if peer is not None:
                peer.request_keyframes()

    async def _negotiate(self, peer: PeerSession) -> None:
        try:
            await peer.negotiate()
        except Exception as exc:  # one failing link must not stop the others
            if not peer.closed:
                self._report(f"negotiating with {peer.remote_session_id}", exc)

    def _peer_for(self, session_id: str) -> PeerSession:
        peer = self.peers.get(session_id)
        if peer is not None:
            return peer

        async def send(signal: Signal) -> None:
            await self._send_signal(session_id, signal)

        def arrived(data: bytes | str) -> None:
            self._on_data(session_id, data)

        peer = PeerSession(
            self.session_id,
            session_id,
            config=self._config,
            send_signal=send,
            on_started=self._on_started,
            on_ended=self._on_ended,
            on_data=arrived,
        )
        self.peers[session_id] = peer
        for track_type in self._local:
            self._feed(peer, track_type)
        return peer

    async def session_joined(self, session_id: str) -> None:
        """Open the link to ``session_id``; this side offers if its session id is smaller."""
        if session_id in self.peers:
            return
        logger.debug("%s: link to %s opens", self.session_id, session_id)
        peer = self._peer_for(session_id)
        if peer.offers_first:
            await self._negotiate(peer)

    def session_left(self, session_id: str) -> None:
        """Forget the link to ``session_id`` now; close it in the background."""
        logger.debug("%s: link to %s closes", self.session_id, session_id)
        peer = self.peers.pop(session_id, None)
        for key in [k for k in self._outgoing if k[0] == session_id]:
            self._outgoing.pop(key).stop()
        if peer is not None:
            closing = asyncio.get_running_loop().create_task(peer.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def receive_signal(self, from_session_id: str, signal: Signal) -> None:
        """Apply a negotiation message (a first offer opens the link)."""
        await self._peer_for(from_session_id).handle(signal)

    def send_data(self, session_id: str, data: bytes | str) -> bool:
        """Send ``data`` over the data channel of the link to ``session_id``; False when
        that link has no open channel (the caller uses the coordinator)."""
        peer = self.peers.get(session_id)
        return peer is not None and peer.data is not None and peer.data.send(data)

    async def link_quality(self) -> dict[str, ConnectionQuality]:
        """Each peer's grade from the RTCP receiver reports it sent about our media."""
        return {sid: await _grade(peer) for sid, peer in list(self.peers.items())}

    async def close(self) -> None:
        """Close every peer connection."""
        for session_id in list(self.peers):
            self.session_left(session_id)
        await asyncio.gather(*self._closing, return_exceptions=True)


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
