"""What one call sends: its local streams (seed 001's ``localStreams``).

A call sends the client's camera and microphone (shared by every call and the preview,
muted by switching them off, never renegotiated) unless removed, plus tracks it opened
itself: a screen (``screen_share``) and streams added with ``Call.add_stream`` (a device,
a media file, or any aiortc video/audio track). There is at most one track per
:class:`~streamcall_widget.protocol.models.TrackType`, so ``add_stream`` takes the first
free type of the source's kind: ``video`` then ``screen_share``, ``audio`` then
``screen_share_audio``.

Replacing a stream swaps the source *inside* its
:class:`~streamcall_widget.engine.media.LocalTrack` (``set_source``), which is what
``switch_camera`` and ``set_microphone`` do for the shared ones: nothing is renegotiated,
and the track's timeline keeps timestamps rising across sources (an encoder given a new
track through ``RTCRtpSender.replaceTrack`` would see them start over, and libvpx stops).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiortc.mediastreams import MediaStreamTrack

from streamcall_widget.errors import InputError, InvalidState
from streamcall_widget.protocol.models import TrackType

from .devices import Device, DeviceKind
from .local_media import LocalMedia
from .media import LocalTrack
from .tracks import TrackRef, kind_of

__all__ = ["LocalStream", "Source", "Streams"]

Source = str | MediaStreamTrack | None
"""A device id or label, a media file path, an aiortc track, or None (the default)."""

_SHARED = (TrackType.AUDIO, TrackType.VIDEO)
_DEVICE_KIND = {
    TrackType.VIDEO: DeviceKind.CAMERA,
    TrackType.SCREEN_SHARE: DeviceKind.SCREEN,
    TrackType.AUDIO: DeviceKind.MICROPHONE,
    TrackType.SCREEN_SHARE_AUDIO: DeviceKind.MICROPHONE,
}


@dataclass(frozen=True)
class LocalStream:
    """One track a call sends."""

    ref: TrackRef
    """This session and the track's type."""
    source: str
    """Where it comes from: a device id, a media file, or ``track:<id>``."""


@dataclass
class _Own:
    """A track the call opened itself, and the device it holds open."""

    track: LocalTrack
    device: Device | None
    source: str


class Streams:
    """The tracks one call sends (see the module doc)."""

    def __init__(self, media: LocalMedia) -> None:
        self._media = media
        self._own: dict[TrackType, _Own] = {}
        self._removed: set[TrackType] = set()

    def sent(self) -> dict[TrackType, LocalTrack]:
        """Every track sent, by type."""
        shared = {TrackType.AUDIO: self._media.audio, TrackType.VIDEO: self._media.video}
        sent = {t: track for t, track in shared.items() if t not in self._removed}
        return sent | {t: own.track for t, own in self._own.items()}

    def announced(self, track_type: TrackType) -> bool:
        """Whether the others should see ``track_type`` published (a shared device only
        while it is on and open)."""
        track = self.sent().get(track_type)
        if track is None:
            return False
        return track_type in self._own or (track.enabled and track.source is not None)

    def listed(self, session_id: str) -> tuple[LocalStream, ...]:
        """The streams sent, as this session's :class:`LocalStream` values."""
        devices = {TrackType.VIDEO: self._media.camera, TrackType.AUDIO: self._media.microphone}
        listed = []
        for track_type in self.sent():
            own = self._own.get(track_type)
            device = devices.get(track_type)
            source = own.source if own is not None else device.id if device is not None else ""
            listed.append(LocalStream(TrackRef(session_id, track_type), source))
        return tuple(listed)

    def free_type(self, kind: str) -> TrackType:
        """The first type of ``kind`` not sent yet; InvalidState if both are."""
        order = (
            (TrackType.VIDEO, TrackType.SCREEN_SHARE)
            if kind == "video"
            else (TrackType.AUDIO, TrackType.SCREEN_SHARE_AUDIO)
        )
        free = [t for t in order if t not in self.sent()]
        if not free:
            raise InvalidState(f"{' and '.join(order)} are both sent; remove_stream() one first")
        return free[0]

    async def open(self, track_type: TrackType, source: Source) -> LocalTrack:
        """Open ``source`` as the call's own ``track_type`` track."""
        if track_type in self.sent():
            raise InvalidState(f"a {track_type} track is already sent; remove it first")
        device, track, described = await self._open_source(track_type, source)
        local = LocalTrack(kind_of(track_type), track, enabled=True)
        self._own[track_type] = _Own(local, device, described)
        self._removed.discard(track_type)
        return local

    async def replace(self, track_type: TrackType, source: Source) -> None:
        """Send ``source`` in place of the ``track_type`` track, without renegotiating."""
        own = self._own.get(track_type)
        if own is None and track_type in _SHARED and track_type not in self._removed:
            if not isinstance(source, str):
                raise InputError(f"the {track_type} stream takes a device id or label")
            select = (
                self._media.select_camera
                if track_type is TrackType.VIDEO
                else self._media.select_microphone
            )
            await select(await self._media.list(), source)
            return
        if own is None:
            raise InvalidState(f"no {track_type} track is sent; add_stream() it first")
        device, track, own.source = await self._open_source(track_type, source)
        previous = own.track.set_source(track)
        if previous is not None:
            previous.stop()
        if own.device is not None and own.device != device:
            await self._media.release(own.device)
        own.device = device

    async def _open_source(
        self, track_type: TrackType, source: Source
    ) -> tuple[Device | None, MediaStreamTrack, str]:
        if isinstance(source, MediaStreamTrack):
            if source.kind != kind_of(track_type):
                raise InputError(f"a {track_type} stream needs a {kind_of(track_type)} track")
            return None, source, f"track:{source.id}"
        if source is not None and not isinstance(source, str):
            raise InputError(
                f"a source is a device id or label, a media file path or an aiortc track, "
                f"not {type(source).__name__}"
            )
        device, track = await self._media.open_source(_DEVICE_KIND[track_type], source)
        return device, track, device.id

    async def close(self, track_type: TrackType) -> None:
        """Stop sending ``track_type``: an own track is stopped and its device released;
        the shared camera or microphone is only left out of this call."""
        own = self._own.pop(track_type, None)
        if own is None:
            self._removed.add(track_type)
            return
        own.track.stop()
        if own.track.source is not None:
            own.track.source.stop()
        if own.device is not None:
            await self._media.release(own.device)

    async def close_all(self) -> None:
        """Stop every own track."""
        for track_type in list(self._own):
            await self.close(track_type)
