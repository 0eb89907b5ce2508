"""The device and media methods of ``StreamCall``: list devices, mute, camera on/off,
switch devices, speaker, processors, codec.

They are a mixin of :class:`~streamcall_widget.engine.client.StreamCall` (the plugin's API
has them on the client object) kept in a module of their own: they only touch the local
media (:class:`~streamcall_widget.engine.local_media.LocalMedia`), the active call's
announcements and the listeners, never the connection or the call flows.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from streamcall_widget.errors import DeviceError, InvalidArguments, NotAllowed, StreamCallError
from streamcall_widget.protocol.lifecycle import CallEvent, CallState, track_state
from streamcall_widget.protocol.models import TrackType, UserData

from .devices import DeviceKind, DeviceList
from .loop import EngineFuture
from .page_devices import PermissionState, Role
from .results import CameraEnabled, MicrophoneEnabled, SuccessResponse
from .threadsafe import threadsafe

if TYPE_CHECKING:
    from .call import Call
    from .listeners import ListenerHandle, ListenerRegistry
    from .local_media import LocalMedia
    from .media import LocalTrack
    from .rtc_config import MediaConfig
    from .taps import FrameTap, FrameTaps

__all__ = ["MediaControls"]

T = TypeVar("T")


class MediaControls:
    """Device and media methods; the client provides what is declared here."""

    media: LocalMedia
    media_config: MediaConfig
    taps: FrameTaps
    _listeners: ListenerRegistry[Any]
    _active: Call | None
    _user: UserData | None
    _media_ready: asyncio.Task[None] | None

    if TYPE_CHECKING:

        def _submit(self, coro: Coroutine[Any, Any, T]) -> EngineFuture[T]: ...

        def emit(self, events: list[CallEvent]) -> None: ...

        def report(self, where: str, error: BaseException) -> None: ...

    def _follow_media_events(self) -> None:
        """Tell ``devicesUpdated`` listeners about device changes, and follow the page
        ending its captures."""
        self.media.on_devices_updated = lambda devices: self._listeners.emit(
            "devicesUpdated", devices
        )
        self.media.on_capture_ended = self._page_capture_ended

    def watch_media(self, tap: FrameTap) -> ListenerHandle:
        """Call ``tap(key, kind, frame)`` on the engine loop for every frame shown or sent.

        ``key`` is a remote session id or ``"local"``; the tap must return at once. This is
        how the widgets get frames; ``Call.on_remote_video`` is the API for analysis.
        """
        return self.taps.add(tap)

    def list_devices(self) -> EngineFuture[DeviceList]:
        """Cameras, microphones, speakers and screens (synthetic ones always included)."""
        return self._submit(self.media.list())

    def set_microphone_enabled(self, enabled: bool) -> EngineFuture[SuccessResponse]:
        """Unmute (True) or mute (False) the microphone; the others see it."""
        return self._submit(self._set_track_enabled(TrackType.AUDIO, enabled))

    def set_camera_enabled(self, enabled: bool) -> EngineFuture[SuccessResponse]:
        """Turn the camera on or off; the others see it and stop receiving video."""
        return self._submit(self._set_track_enabled(TrackType.VIDEO, enabled))

    async def _set_track_enabled(
        self, kind: TrackType, enabled: bool, *, emit: bool = True
    ) -> SuccessResponse:
        if not isinstance(enabled, bool):
            raise InvalidArguments(f"enabled must be True or False, not {enabled!r}")
        call = self._active
        known = call is not None and call.own_capabilities  # () until the coordinator said
        if enabled and call is not None and known and not call.may_send(kind):
            needed = "send-video" if kind is TrackType.VIDEO else "send-audio"
            raise NotAllowed(
                f"{self._user_id_or_none()} may not send {kind} in {call.cid}: the {needed} "
                "right is missing or was revoked; call.request_permissions([...]) asks for it"
            )
        track = self.media.video if kind is TrackType.VIDEO else self.media.audio
        changed = track.enabled != enabled
        track.enabled = enabled
        if emit and changed:
            state = track_state(kind, enabled)
            assert state is not None
            if call is not None:
                self.emit([call.lifecycle.note(state, user_id=self._user_id_or_none())])
            else:
                self.emit([CallEvent(call_id="", state=state, user_id=self._user_id_or_none())])
        if call is not None:
            await call.publish(kind, enabled and track.source is not None)
        return SuccessResponse()

    async def set_camera(self, enabled: bool) -> None:
        """Turn the camera on or off as a call or an accepted ring asks (with its events)."""
        await self._set_track_enabled(TrackType.VIDEO, enabled)

    async def switch_off(self, kind: TrackType) -> None:
        """Turn the camera or microphone off because the call took the right to send it
        (with its events): granted again, it stays off until the user turns it on, so a
        grant never makes a microphone live behind the user's back."""
        await self._set_track_enabled(kind, False)

    def _user_id_or_none(self) -> str | None:
        return self._user.id if self._user is not None else None

    @threadsafe
    async def is_camera_enabled(self) -> CameraEnabled:
        """Whether the camera is on: switched on and open (False when it could not open;
        before login, whether it will be switched on)."""
        return CameraEnabled(await self._sending(self.media.video))

    @threadsafe
    async def is_microphone_enabled(self) -> MicrophoneEnabled:
        """Whether the microphone is on: unmuted and open (as :meth:`is_camera_enabled`)."""
        return MicrophoneEnabled(await self._sending(self.media.audio))

    @threadsafe
    async def toggle_camera(self) -> CameraEnabled:
        """Switch the camera off if it is switched on, else on; what is true afterwards."""
        await self._set_track_enabled(TrackType.VIDEO, not self.media.video.enabled)
        return CameraEnabled(await self._sending(self.media.video))

    @threadsafe
    async def toggle_microphone(self) -> MicrophoneEnabled:
        """Mute the microphone if it is unmuted, else unmute it; what is true afterwards."""
        await self._set_track_enabled(TrackType.AUDIO, not self.media.audio.enabled)
        return MicrophoneEnabled(await self._sending(self.media.audio))

    async def _sending(self, track: LocalTrack) -> bool:
        """Whether ``track`` is switched on and has an open device, once the devices
        opening since login are done (before login: whether it is switched on)."""
        opening = self._media_ready
        if opening is None:
            return track.enabled
        with contextlib.suppress(Exception):  # a failed device was reported already
            await asyncio.shield(opening)
        return track.enabled and track.source is not None

    @threadsafe
    async def switch_camera(self, camera: str) -> SuccessResponse:
        """Switch to the ``front`` or ``back`` camera, or to any camera by id or label."""
        if not isinstance(camera, str) or not camera:
            raise InvalidArguments("camera must be 'front', 'back' or a camera's id or label")
        await self.media.switch_camera(camera)
        return SuccessResponse()

    @threadsafe
    async def set_microphone(self, name: str) -> SuccessResponse:
        """Take sound from microphone ``name`` (an id or label from ``list_devices()``)."""
        if not isinstance(name, str) or not name:
            raise InvalidArguments(
                "microphone name must be a non-empty string (see list_devices())"
            )
        await self.media.select_microphone(await self.media.list(), name)
        return SuccessResponse()

    @threadsafe
    async def set_speaker(self, name: str) -> SuccessResponse:
        """Play remote audio on speaker ``name`` (``browser``, ``null`` or a device; a
        browser speaker ``browser:<id>`` through the page's ``setSinkId``)."""
        return await self._use_speaker(name)

    async def _use_speaker(self, name: str) -> SuccessResponse:
        if not isinstance(name, str) or not name:
            raise InvalidArguments("speaker name must be a non-empty string (see list_devices())")
        device = (await self.media.list()).find(DeviceKind.SPEAKER, name)
        if device.format == "browser" and not self.media.page.set_sink(device):
            raise DeviceError(
                f"this browser cannot choose a speaker (no setSinkId): {device.label} "
                "cannot be used; the call plays on the browser's default output"
            )
        device = await self.media.select_speaker(device.id)
        state = CallState.SPEAKER_DISABLED if device.id == "null" else CallState.SPEAKER_ENABLED
        call = self._active
        event = (
            call.lifecycle.note(state, user_id=self._user_id_or_none(), reason=device.id)
            if call is not None
            else CallEvent(call_id="", state=state, reason=device.id)
        )
        self.emit([event])
        return SuccessResponse()

    @threadsafe
    async def set_audio_out_device(self, device_id: str) -> SuccessResponse:
        """Play the call on speaker ``device_id`` (seed 004's ``setAudioOutDevice``).

        A browser speaker (``browser:<id>`` from ``list_devices()``) is chosen with the
        page's ``setSinkId``; where the browser has none, this resolves to
        ``SuccessResponse(success=False)`` and the speaker stays as it was, as the seed
        says. Any other speaker is :meth:`set_speaker`.
        """
        if not isinstance(device_id, str) or not device_id:
            raise InvalidArguments("device_id must be a speaker id from list_devices()")
        device = (await self.media.list()).find(DeviceKind.SPEAKER, device_id)
        if device.format == "browser" and not self.media.page.sink_supported:
            return SuccessResponse(success=False)
        return await self._use_speaker(device.id)

    def get_permission_state(self) -> PermissionState:
        """Whether the page may use the camera and microphone (seed 002's
        ``getPermissionState``): ``success``, ``denied``, ``failed`` or ``prompt`` (not asked
        yet), with the browser's reason and a message saying what to do."""
        return self.media.page.permission

    def _page_capture_ended(self, role: Role) -> None:
        """The page ended its screen capture itself (the browser's "Stop sharing" bar):
        our share stops too (``local_share_closed``)."""
        call = self._active
        if role == "screen" and call is not None and call.has_screen_sharing:
            self._submit(self._stop_page_share(call))

    async def _stop_page_share(self, call: Call) -> None:
        try:
            await call.stop_screen_share()
        except StreamCallError as exc:  # the share ended meanwhile
            self.report("stopping a screen share", exc)

    def set_video_processor(self, fn: Callable[[Any], Any] | None) -> EngineFuture[SuccessResponse]:
        """Apply ``fn(rgb_array) -> rgb_array`` to every local video frame before sending."""
        return self._submit(self._set_processor("video", fn))

    def set_audio_processor(self, fn: Callable[[Any], Any] | None) -> EngineFuture[SuccessResponse]:
        """Apply ``fn(samples) -> samples`` to every local audio frame before sending."""
        return self._submit(self._set_processor("audio", fn))

    async def _set_processor(self, kind: str, fn: Callable[[Any], Any] | None) -> SuccessResponse:
        self.media.set_processor(kind, fn)
        return SuccessResponse()

    @threadsafe
    async def set_video_codec(self, mime_type: str) -> SuccessResponse:
        """Offer ``video/VP8`` or ``video/H264`` first, for peers connected from now on."""
        self.media_config = dataclasses.replace(self.media_config, video_codec=mime_type)
        return SuccessResponse()
