"""The media seam: what a call needs from whatever carries its media.

A call publishes its local tracks by :class:`~streamcall_widget.protocol.models.TrackType`,
tells the transport who is in the session and hands it the negotiation messages addressed
to this session; the transport reports remote tracks, named by
:class:`~streamcall_widget.engine.tracks.TrackRef`, as they start and end. Nothing above it
knows whether media goes peer to peer (:class:`~streamcall_widget.engine.mesh.MeshTransport`)
or, later, through an SFU or to the page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from aiortc.mediastreams import MediaStreamTrack

from streamcall_widget.protocol.models import Signal, TrackType

from .quality import ConnectionQuality
from .tracks import TrackRef

__all__ = ["DataReceived", "MediaTransport", "SendSignal", "TrackEnded", "TrackStarted"]

TrackStarted = Callable[[TrackRef, MediaStreamTrack], None]
"""``started(ref, track)``: a remote track now arrives (engine loop)."""
TrackEnded = Callable[[TrackRef], None]
"""``ended(ref)``: a remote track stopped arriving (unpublished, or its sender left)."""
SendSignal = Callable[[str, Signal], Awaitable[None]]
"""``send(session_id, signal)``: a negotiation message to another session."""
DataReceived = Callable[[str, bytes | str], None]
"""``received(session_id, data)``: data from another session over a direct channel."""


class MediaTransport(Protocol):
    """Publishes local tracks, yields remote ones; owns every peer connection."""

    async def publish(self, track_type: TrackType, track: MediaStreamTrack) -> None:
        """Send ``track`` as ``track_type`` to everyone, now and to whoever joins
        (renegotiating where the type is new)."""

    async def unpublish(self, track_type: TrackType) -> None:
        """Stop sending ``track_type``; the others see that track end."""

    def hold_sending(self, held: Callable[[str], bool]) -> None:
        """Send no frames to the sessions for which ``held(session_id)`` is true, without
        renegotiating (asked again for each new link; call again when the answer changes)."""

    async def session_joined(self, session_id: str) -> None:
        """Another session is in the call: start carrying media to and from it."""

    def session_left(self, session_id: str) -> None:
        """A session left: its link is forgotten now and closed in the background (its
        tracks end)."""

    async def receive_signal(self, from_session_id: str, signal: Signal) -> None:
        """A negotiation message from another session."""

    def send_data(self, session_id: str, data: bytes | str) -> bool:
        """Send ``data`` to ``session_id`` over a direct data channel; False when there is
        none open to it (an SFU transport has none): the call then uses the coordinator."""

    async def link_quality(self) -> dict[str, ConnectionQuality]:
        """Each remote session's link grade (from RTCP receiver reports)."""

    async def close(self) -> None:
        """End every link; every remote track ends."""
