"""One aiortc peer connection to one remote session, negotiated the "perfect" way.

**Who offers.** Either side offers whenever what it sends changes (a track published,
unpublished, or first sent); the side with the smaller session id makes the first offer,
so two kernels meeting never collide at the start. **Glare** (both offered at once) is
resolved by the perfect-negotiation rule: the side with the lexically smaller session id
is *polite*: it rolls its unanswered offer back and answers the other's; the impolite side
ignores the colliding offer and waits for its answer. The polite side then offers again
for what its rolled-back offer carried. aiortc 1.16 cannot roll back
(``setLocalDescription({type: "rollback"})``), so :func:`_rollback` does it (see there).

**Transceivers.** This session owns one sending transceiver per published
:class:`~streamcall_widget.protocol.models.TrackType`; the type travels as the ``a=msid``
track id (:func:`~streamcall_widget.engine.tracks.track_label`). When answering, local
tracks go only onto transceivers the offer made (so any valid offer gets an answer, an
audio-only one included); what found no place is offered right after. A transceiver keeps
its type for life: unpublishing sets it ``recvonly``, publishing again reuses it.
**Remote tracks** are read from each remote description: a section whose direction sends,
typed by its track id, is a started track; one that stops sending has ended.

aiortc gathers its candidates before ``setLocalDescription`` returns, so the SDP carries
them; candidates trickled by other clients are added as they come.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

from aiortc import RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import SessionDescription, candidate_from_sdp

from streamcall_widget.errors import InputError
from streamcall_widget.protocol.models import Signal, SignalKind, TrackType

from .codecs import prefer_codec
from .data_channel import DataArrived, PeerDataChannel
from .rtc_config import MediaConfig
from .tracks import TrackRef, kind_of, track_type_of

__all__ = ["PeerSession"]

logger = logging.getLogger(__name__)

_SENDING = ("sendrecv", "sendonly")

TrackStarted = Callable[[TrackRef, MediaStreamTrack], None]
TrackEnded = Callable[[TrackRef], None]


class PeerSession:
    """The RTCPeerConnection between this session and one remote session."""

    def __init__(
        self,
        local_session_id: str,
        remote_session_id: str,
        *,
        config: MediaConfig,
        send_signal: Callable[[Signal], Awaitable[None]],
        on_started: TrackStarted,
        on_ended: TrackEnded,
        on_data: DataArrived,
    ) -> None:
        self.remote_session_id = remote_session_id
        self.polite = local_session_id < remote_session_id
        """Whether this side rolls back in a glare (the smaller session id)."""
        self.offers_first = self.polite
        self._config = config
        self._send_signal = send_signal
        self._on_started = on_started
        self._on_ended = on_ended
        self.pc = RTCPeerConnection(config.rtc_configuration())
        self.pc.on("connectionstatechange", self._log_state)
        self._on_data = on_data
        self.data: PeerDataChannel | None = None
        """The link's data channel, made with the first description (see :meth:`_data`)."""
        self._lock = asyncio.Lock()
        self._wanted: dict[TrackType, tuple[MediaStreamTrack, bool]] = {}
        self._senders: dict[TrackType, RTCRtpTransceiver] = {}
        self._remote: dict[TrackType, MediaStreamTrack] = {}
        self._dirty = False
        self._ignoring_offer = False
        self.closed = False
        self.glares = 0
        """Colliding offers seen (for tests and logs)."""

    def _log_state(self) -> None:
        logger.debug("peer %s: connection %s", self.remote_session_id, self.pc.connectionState)

    @property
    def state(self) -> str:
        """aiortc's connectionState: new, connecting, connected, failed or closed."""
        return str(self.pc.connectionState)

    # -- what this side sends ----------------------------------------------------------

    def send(self, track_type: TrackType, track: MediaStreamTrack, active: bool) -> None:
        """Carry ``track`` as ``track_type``, sending while ``active``; :meth:`negotiate` next.

        A type's track stays on its sender for the life of the connection: aiortc's sender
        ends for good when its track raises, and stays blocked in ``recv`` on a track it no
        longer holds; the caller pauses and swaps what ``track`` reads instead."""
        self._wanted[track_type] = (track, active)

    def request_keyframes(self) -> None:
        """Make each video sender's next frame a keyframe (its sending resumes after a
        pause), as an RTCP PLI from the other side would (aiortc's own hook for it)."""
        for transceiver in self._senders.values():
            if transceiver.kind == "video":
                transceiver.sender._send_keyframe()

    def _place_tracks(self, create: bool) -> bool:
        """Put each wanted track on its transceiver; True if that needs an offer.

        ``create=False`` (answering) only uses transceivers the remote offer made."""
        needed = False
        for track_type, (track, active) in self._wanted.items():
            transceiver = self._senders.get(track_type) or self._free(track_type, create)
            if transceiver is None:
                needed = needed or active
                continue
            self._senders[track_type] = transceiver
            if transceiver.sender.track is not track:
                transceiver.sender.replaceTrack(track)
            direction = "sendrecv" if active else "recvonly"
            if transceiver.direction != direction:
                transceiver.direction = direction
            sending = transceiver.currentDirection in _SENDING
            needed = needed or transceiver.mid is None or sending != active
        return needed

    def _free(self, track_type: TrackType, create: bool) -> RTCRtpTransceiver | None:
        """A transceiver of the right kind this side sends nothing on, else a new one."""
        kind = kind_of(track_type)
        used = set(map(id, self._senders.values()))
        free = [
            t
            for t in self.pc.getTransceivers()
            if t.kind == kind and id(t) not in used and not t.stopped and t.mid is not None
        ]
        same = [t for t in free if self._remote_type(t) is track_type]
        if same or free:
            return (same or free)[0]
        if not create or not self._wanted[track_type][1]:
            return None
        transceiver = self.pc.addTransceiver(kind, direction="sendrecv")
        if kind == "video":
            prefer_codec(transceiver, self._config.video_codec)
        return transceiver

    @staticmethod
    def _remote_type(transceiver: RTCRtpTransceiver) -> TrackType | None:
        track = transceiver.receiver.track
        return track_type_of(track.id, track.kind) if track is not None else None

    # -- negotiation -------------------------------------------------------------------

    async def negotiate(self) -> None:
        """Offer what this side now sends (later, if a negotiation is under way)."""
        async with self._lock, self._unless_closed():
            await self._offer()

    @contextlib.asynccontextmanager
    async def _unless_closed(self) -> AsyncIterator[None]:
        """Swallow what fails because the connection was closed meanwhile (the session
        left or the call was hung up while negotiating: nothing is left to negotiate)."""
        try:
            yield
        except Exception:
            if not self.closed:
                raise
            logger.debug("peer %s: closed while negotiating", self.remote_session_id)

    async def _offer(self) -> None:
        if self.closed:
            return
        if self.pc.signalingState != "stable":
            self._dirty = True  # offered again once the current exchange is over
            return
        self._dirty = False
        self._place_tracks(create=True)
        self._receive_only()
        self._data()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self._send_description()

    async def handle(self, signal: Signal) -> None:
        """Apply one negotiation message from the remote session."""
        async with self._lock, self._unless_closed():
            if self.closed:
                return
            if signal.kind in (SignalKind.OFFER, SignalKind.ANSWER):
                if not signal.sdp:
                    raise InputError(f"{signal.kind} signal without sdp")
                if signal.kind is SignalKind.OFFER:
                    if not await self._answer(signal.sdp):
                        return
                    # Tracks its offer had no section for, or our rolled-back offer's.
                    again = self._place_tracks(create=False) or self._dirty
                elif self.pc.signalingState == "have-local-offer":
                    await self._apply(RTCSessionDescription(sdp=signal.sdp, type="answer"))
                    again = self._dirty  # never re-offer what the answer refused: no loop
                else:
                    logger.info("peer %s: stale answer ignored", self.remote_session_id)
                    return
                if again:
                    await self._offer()
            elif signal.kind is SignalKind.CANDIDATE and signal.candidate:
                candidate = candidate_from_sdp(signal.candidate.removeprefix("candidate:"))
                candidate.sdpMid = signal.sdp_mid
                candidate.sdpMLineIndex = signal.sdp_mline_index
                if signal.sdp_mid is None and signal.sdp_mline_index is None:
                    # The wire lets a candidate name no m-line; every section is bundled on
                    # the first one's transport, so that is where it belongs.
                    candidate.sdpMLineIndex = 0
                try:
                    await self.pc.addIceCandidate(candidate)
                except Exception:
                    if not self._ignoring_offer:
                        raise  # a candidate of an offer we ignored may name nothing of ours

    async def _answer(self, sdp: str) -> bool:
        """Answer a remote offer; False if this (impolite) side ignores it in a glare."""
        collision = self.pc.signalingState != "stable"
        self._ignoring_offer = collision and not self.polite
        if collision:
            self.glares += 1
            if not self.polite:
                logger.info("peer %s: glare, ignoring its offer", self.remote_session_id)
                return False
            logger.info("peer %s: glare, rolling back our offer", self.remote_session_id)
            _rollback(self.pc)
            self._dirty = True
        await self._apply(RTCSessionDescription(sdp=sdp, type="offer"))
        self._place_tracks(create=False)
        self._data()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self._send_description()
        return True

    async def _apply(self, description: RTCSessionDescription) -> None:
        await self.pc.setRemoteDescription(description)
        self._update_remote(description.sdp)

    def _update_remote(self, sdp: str) -> None:
        """Report the remote tracks that started or ended with this description."""
        sending: dict[str, bool] = {
            str(media.rtp.muxId): media.direction in _SENDING
            for media in SessionDescription.parse(sdp).media
            if media.kind in ("audio", "video")
        }
        now: dict[TrackType, MediaStreamTrack] = {}
        for transceiver in self.pc.getTransceivers():
            track = transceiver.receiver.track
            if track is None or not sending.get(str(transceiver.mid), False):
                continue
            track_type = track_type_of(track.id, track.kind)
            if track_type in now:
                logger.warning("peer %s sends two %s tracks", self.remote_session_id, track_type)
                continue
            now[track_type] = track
        before, self._remote = self._remote, now
        for track_type, track in before.items():
            if now.get(track_type) is not track:
                self._on_ended(TrackRef(self.remote_session_id, track_type))
        for track_type, track in now.items():
            if before.get(track_type) is not track:
                self._on_started(TrackRef(self.remote_session_id, track_type), track)

    def _receive_only(self) -> None:
        """A side with nothing to send (a livestream viewer) still offers to receive audio
        and video: with no media section the data channel would get the only transport,
        and media added by a later offer never connects on it (see :meth:`_data`)."""
        if self.pc.getTransceivers():
            return
        self.pc.addTransceiver("audio", direction="recvonly")
        prefer_codec(
            self.pc.addTransceiver("video", direction="recvonly"), self._config.video_codec
        )

    def _data(self) -> None:
        """Make the data channel once the connection has its media sections: aiortc puts
        SCTP on the bundled transport only if a transceiver exists when the channel is
        made (one made earlier gets a transport of its own, which never connects when
        bundled); so the offerer makes it after placing its tracks, the answerer after
        applying the offer."""
        if self.data is None:
            self.data = PeerDataChannel(self.pc, self._on_data)

    async def _send_description(self) -> None:
        description = self.pc.localDescription
        await self._send_signal(Signal(kind=SignalKind(description.type), sdp=description.sdp))

    def transceivers(self) -> list[RTCRtpTransceiver]:
        """Every transceiver of the connection."""
        return list(self.pc.getTransceivers())

    async def close(self) -> None:
        """Close the connection (its RTP tasks and UDP sockets with it); remote tracks end."""
        self.closed = True
        await self.pc.close()
        ended, self._remote = self._remote, {}
        for track_type in ended:
            self._on_ended(TrackRef(self.remote_session_id, track_type))


def _rollback(pc: RTCPeerConnection) -> None:
    """Undo this side's unanswered offer, as ``setLocalDescription(rollback)`` would.

    aiortc 1.16 has no rollback, so this sets back what its ``setLocalDescription(offer)``
    changed: the signaling state (``stable``), the pending local description, and the mid
    and m-line index of transceivers that offer introduced (so the remote offer's sections
    can take them, by kind, as a browser's rollback allows; those it does not take stay
    ``inactive`` until our next offer). Transceivers keep their
    tracks and directions; the next offer carries them again. An ICE role both sides then
    claim is repaired by aioice (RFC 8445 role conflict).
    """
    remote = pc.remoteDescription
    negotiated = (
        {str(m.rtp.muxId) for m in SessionDescription.parse(remote.sdp).media}
        if remote is not None
        else set()
    )
    for transceiver in pc.getTransceivers():
        if transceiver.mid is not None and transceiver.mid not in negotiated:
            loose = cast(Any, transceiver)  # aiortc types these setters as never taking None
            loose._set_mid(None)
            loose._set_mline_index(None)
            # What a browser's rollback leaves: a transceiver the remote offer has no
            # section for stays unnegotiated (aiortc's answer reads every transceiver's
            # offered direction, and fails on None).
            loose._offerDirection = "inactive"
    sctp = pc.sctp
    if sctp is not None and sctp.mid is not None and sctp.mid not in negotiated:
        sctp.mid = None  # the data channel's section is the remote offer's to place
    private = cast(Any, pc)
    private._RTCPeerConnection__pendingLocalDescription = None
    private._RTCPeerConnection__setSignalingState("stable")
