"""One aiortc peer connection to one remote participant of a mesh call.

Who offers is decided by the two session ids (the smaller one offers), so both sides
agree without a round trip and two offers never cross. Each side always negotiates one
audio and one video transceiver, both ``sendrecv``: muting or having no device only stops
frames at the :class:`~streamcall_widget.engine.media.LocalTrack`, so turning media back on
never renegotiates. aiortc gathers its candidates before ``setLocalDescription`` returns,
so the SDP carries them; candidates trickled by other clients are added as they come.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from streamcall_widget.errors import InputError
from streamcall_widget.protocol.models import Signal, SignalKind

from .codecs import VIDEO_CODECS, prefer_codec

__all__ = ["IceServer", "MediaConfig", "PeerSession"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IceServer:
    """A STUN or TURN server for ICE (``turn:`` URLs need username and credential)."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def __post_init__(self) -> None:
        if not self.urls:
            raise InputError("an ICE server needs at least one URL (stun:, turn: or turns:)")
        for url in self.urls:
            scheme = url.partition(":")[0]
            if scheme not in ("stun", "turn", "turns"):
                raise InputError(f"ICE server URL {url!r} must start with stun:, turn: or turns:")
            if scheme != "stun" and (self.username is None or self.credential is None):
                raise InputError(f"TURN server {url!r} needs a username and a credential")


@dataclass(frozen=True)
class MediaConfig:
    """How peer connections are made."""

    ice_servers: tuple[IceServer, ...] = ()
    """No servers by default: host candidates only, gathered in milliseconds (STUN/TURN
    answers are awaited at most ``StreamCall(gather_timeout=...)``, 1 s by default)."""
    video_codec: str = "video/VP8"
    """The video codec offered first: ``video/VP8`` or ``video/H264``."""
    stats_interval: float = 2.0
    """Seconds between RTCP statistics reads (connection quality)."""

    def __post_init__(self) -> None:
        if self.video_codec not in VIDEO_CODECS:
            raise InputError(
                f"video codec {self.video_codec!r} is not supported; allowed: "
                f"{', '.join(VIDEO_CODECS)}"
            )

    def rtc_configuration(self) -> RTCConfiguration:
        """aiortc's configuration (an explicit empty list: aiortc's own default is Google STUN)."""
        return RTCConfiguration(
            iceServers=[
                RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
                for s in self.ice_servers
            ]
        )


class PeerSession:
    """The RTCPeerConnection between this session and one remote session."""

    def __init__(
        self,
        local_session_id: str,
        remote_session_id: str,
        *,
        config: MediaConfig,
        audio: MediaStreamTrack,
        video: MediaStreamTrack,
        send_signal: Callable[[Signal], Awaitable[None]],
        on_track: Callable[[MediaStreamTrack], None],
    ) -> None:
        self.remote_session_id = remote_session_id
        self.offerer = local_session_id < remote_session_id
        self._config = config
        self._audio = audio
        self._video = video
        self._send_signal = send_signal
        self.pc = RTCPeerConnection(config.rtc_configuration())
        self.pc.on("track", on_track)
        self.pc.on("connectionstatechange", self._log_state)
        self._lock = asyncio.Lock()
        self._tracks_added = False

    def _log_state(self) -> None:
        logger.debug("peer %s: connection %s", self.remote_session_id, self.pc.connectionState)

    @property
    def state(self) -> str:
        """aiortc's connectionState: new, connecting, connected, failed or closed."""
        return str(self.pc.connectionState)

    def _add_tracks(self) -> None:
        if self._tracks_added:
            return
        self._tracks_added = True
        self.pc.addTrack(self._audio)
        self.pc.addTrack(self._video)
        for transceiver in self.pc.getTransceivers():
            transceiver.direction = "sendrecv"
            if transceiver.kind == "video":
                prefer_codec(transceiver, self._config.video_codec)

    async def start(self) -> None:
        """Send the offer if this side offers; the answerer waits for it."""
        if not self.offerer:
            return
        async with self._lock:
            self._add_tracks()
            await self.pc.setLocalDescription(await self.pc.createOffer())
            await self._send_description()

    async def handle(self, signal: Signal) -> None:
        """Apply one negotiation message from the remote session."""
        async with self._lock:
            if signal.kind in (SignalKind.OFFER, SignalKind.ANSWER):
                if not signal.sdp:
                    raise InputError(f"{signal.kind} signal without sdp")
                await self.pc.setRemoteDescription(
                    RTCSessionDescription(sdp=signal.sdp, type=str(signal.kind))
                )
                if signal.kind is SignalKind.OFFER:
                    self._add_tracks()
                    await self.pc.setLocalDescription(await self.pc.createAnswer())
                    await self._send_description()
            elif signal.kind is SignalKind.CANDIDATE and signal.candidate:
                candidate = candidate_from_sdp(signal.candidate.removeprefix("candidate:"))
                candidate.sdpMid = signal.sdp_mid
                candidate.sdpMLineIndex = signal.sdp_mline_index
                await self.pc.addIceCandidate(candidate)

    async def _send_description(self) -> None:
        description = self.pc.localDescription
        await self._send_signal(Signal(kind=SignalKind(description.type), sdp=description.sdp))

    def transceivers(self) -> list[RTCRtpTransceiver]:
        """The audio and video transceivers."""
        return list(self.pc.getTransceivers())

    async def close(self) -> None:
        """Close the connection (its RTP tasks and UDP sockets with it)."""
        await self.pc.close()
