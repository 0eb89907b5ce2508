"""What one call sends: its local streams and screen share, a base class of
:class:`~streamcall_widget.engine.call.Call`.

Each local track is opened from a source (a device, a file, an aiortc track) by
:class:`~streamcall_widget.engine.streams.Streams`, published on the call's
:class:`~streamcall_widget.engine.transport.MediaTransport` and announced to the others
(``call.publish_track``); sending needs the capability of its track type, which the
coordinator checks too. Seeds 001 (``addStream``, ``removeStream``, ``replaceStream``,
``localStreams``, ``startScreenSharing``...) and 000 (``startScreenShare``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from aiortc.mediastreams import MediaStreamTrack

from streamcall_widget.errors import InputError, InvalidState, NotAllowed
from streamcall_widget.protocol.lifecycle import CallState
from streamcall_widget.protocol.models import TRACK_CAPABILITY, TrackType

from .call_parts import CallParts
from .results import SuccessResponse
from .streams import LocalStream, Source
from .threadsafe import threadsafe

if TYPE_CHECKING:
    from .loop import EngineFuture
    from .transport import MediaTransport

__all__ = ["CallStreams"]

T = TypeVar("T")


class CallStreams(CallParts):
    """Local stream and screen-share methods; the call provides what is declared here."""

    if TYPE_CHECKING:

        async def publish(self, track: TrackType, published: bool) -> None: ...

    @property
    def local_streams(self) -> tuple[LocalStream, ...]:
        """The tracks this call sends (seed 001's ``localStreams``); none once it is left."""
        left = self.state is CallState.LEFT
        return () if left else self._streams.listed(self.session_id or "")

    @property
    def has_screen_sharing(self) -> bool:
        """Whether this session shares a screen."""
        return TrackType.SCREEN_SHARE in self._streams.sent()

    def remove_stream(self, stream: LocalStream) -> EngineFuture[SuccessResponse]:
        """Stop sending ``stream`` (one of :attr:`local_streams`)."""
        return self._host.engine.submit(self._remove_stream(stream.ref.track_type))

    def _require_session(self, doing: str) -> MediaTransport:
        transport = self._links.transport
        if transport is None or self.lifecycle.phase is not CallState.JOINED:
            raise InvalidState(f"call {self.cid} is {self.state.value}; join it to {doing}")
        return transport

    @threadsafe
    async def start_screen_share(self, source: Source = None) -> SuccessResponse:
        """Share a screen beside the camera: ``source`` is a screen device, a media file,
        an aiortc video track, or None (the first real screen, else the synthetic one)."""
        if self.has_screen_sharing:
            raise InvalidState(f"already sharing a screen in {self.cid}; stop it first")
        await self._send(TrackType.SCREEN_SHARE, source)
        return SuccessResponse()

    @threadsafe
    async def stop_screen_share(self) -> SuccessResponse:
        """Stop sharing the screen."""
        if not self.has_screen_sharing:
            raise InvalidState(f"no screen is shared in {self.cid}")
        await self._remove_stream(TrackType.SCREEN_SHARE)
        return SuccessResponse()

    @threadsafe
    async def add_stream(self, source: Source, track_type: str | None = None) -> LocalStream:
        """Send one more track from ``source`` (see :meth:`start_screen_share`); its type is
        ``track_type`` or the first free one of the source's kind (``video`` then
        ``screen_share``, ``audio`` then ``screen_share_audio``)."""
        if track_type is None:
            kind = source.kind if isinstance(source, MediaStreamTrack) else "video"
            chosen = self._streams.free_type(kind)
        elif track_type in {t.value for t in TrackType}:
            chosen = TrackType(track_type)
        else:
            raise InputError(f"track_type {track_type!r} is not one of {list(TrackType)}")
        await self._send(chosen, source)
        return next(s for s in self.local_streams if s.ref.track_type is chosen)

    async def _send(self, track_type: TrackType, source: Source) -> None:
        """Open ``source`` and send it as ``track_type``; the others are told."""
        transport = self._require_session(f"send {track_type}")
        needed = TRACK_CAPABILITY[track_type]
        if needed not in self.own_capabilities:
            raise NotAllowed(f"sending {track_type} in {self.cid} needs the {needed} capability")
        track = await self._streams.open(track_type, source)
        await transport.publish(track_type, track)
        await self.publish(track_type, True)
        if track_type is TrackType.SCREEN_SHARE:
            self._emit([self.lifecycle.note(CallState.LOCAL_SHARE_CREATED, user_id=self.user_id)])

    async def _remove_stream(self, track_type: TrackType) -> SuccessResponse:
        transport = self._require_session(f"stop sending {track_type}")
        if track_type not in self._streams.sent():
            raise InvalidState(f"no {track_type} track is sent in {self.cid}")
        await transport.unpublish(track_type)
        await self._streams.close(track_type)
        await self.publish(track_type, False)
        if track_type is TrackType.SCREEN_SHARE:
            self._emit([self.lifecycle.note(CallState.LOCAL_SHARE_CLOSED, user_id=self.user_id)])
        return SuccessResponse()

    @threadsafe
    async def replace_stream(self, new: Source, old: LocalStream) -> SuccessResponse:
        """Send ``new`` in place of ``old`` without renegotiating (see :mod:`.streams`)."""
        await self._streams.replace(old.ref.track_type, new)
        return SuccessResponse()
