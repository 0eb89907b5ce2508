"""How peer connections are made: ICE servers, the preferred video codec, stats interval.

Shared by every transport that opens aiortc peer connections (the mesh today).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer

from streamcall_widget.errors import InputError

from .codecs import VIDEO_CODECS

__all__ = ["IceServer", "MediaConfig"]


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
        """aiortc's configuration: an explicit empty server list (aiortc's own default is
        Google STUN), and every track bundled on one transport, so a track added mid-call
        renegotiates without gathering or connecting anything new."""
        return RTCConfiguration(
            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
            iceServers=[
                RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
                for s in self.ice_servers
            ],
        )


class PeerSession:
    """The RTCPeerConnection between this session and one remote session."""
