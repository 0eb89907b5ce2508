"""The local user's media: which camera and microphone, on or off, and who reads them.

One :class:`~streamcall_widget.engine.media.LocalTrack` per kind is fed by the chosen
device (opened by the :class:`~streamcall_widget.engine.devices.DeviceManager`, which
shares each device through a ``MediaRelay``); every peer and the preview read the local
track through one more ``MediaRelay``, so a camera switch, a mute or a processor applies
to all of them at once. A device that fails to open raises ``DeviceError`` and leaves the
track without a source: the call goes on without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from streamcall_widget.errors import DeviceError, InputError

from .devices import (
    SYNTHETIC_BACK_CAMERA,
    SYNTHETIC_CAMERA,
    SYNTHETIC_SCREEN,
    Device,
    DeviceKind,
    DeviceList,
    DeviceManager,
    list_devices,
)
from .listeners import ErrorSink
from .media import Hook, LocalTrack
from .page_devices import PAGE_SCREEN, PageDevices, Role
from .stamp import user_stamp, user_tone

__all__ = ["LocalMedia"]

logger = logging.getLogger(__name__)

MACHINE_POLL = 2.0
"""Seconds between two looks at this machine's devices while someone listens for changes
(Linux has no portable device-change notice that PyAV exposes)."""

_FACING = {"front": (0, SYNTHETIC_CAMERA), "back": (1, SYNTHETIC_BACK_CAMERA)}
"""Each facing's place among the real cameras, and its synthetic camera."""


def _facing(devices: DeviceList, facing: str) -> Device:
    """The ``front``/``back`` camera: a real camera labelled so, else the first/second real
    camera, else the synthetic front/back camera.

    Only real cameras (opened through a capture format such as v4l2) count: a media file
    listed as a camera is a source the user picks by name, not a side of the machine, and a
    file named ``front.mp4`` must not pass for one either.
    """
    real = [c for c in devices.cameras if c.format is not None]  # None: synthetic or a file
    index, synthetic = _FACING[facing]
    labelled = [c for c in real if facing in c.label.lower()]
    return (labelled or real[index : index + 1] or [synthetic])[0]


def _default(devices: DeviceList, kind: DeviceKind) -> Device:
    """This machine's first real screen, else the synthetic one; the first camera or
    microphone (the page's, when a page is attached)."""
    if kind is DeviceKind.SCREEN:
        # The page's screen is asked for by name ("browser"): the browser only opens its
        # share dialog after a click, so code that asks for "a screen" gets this machine's.
        real = [d for d in devices.screens if d.format is not None and not d.in_browser]
        return (real or [SYNTHETIC_SCREEN])[0]
    return devices.of_kind(kind)[0]


async def _named(devices: DeviceList, kind: DeviceKind, name: str) -> Device:
    """Device ``name`` of ``kind`` (a screen may also be a camera), else a media file."""
    if kind is DeviceKind.SCREEN and name in ("browser", PAGE_SCREEN.id):
        if PAGE_SCREEN not in devices.screens:
            raise DeviceError(
                "no browser page can share a screen: display a CallView (or phone()) in "
                "a browser that has getDisplayMedia, or pick this machine's screen"
            )
        return PAGE_SCREEN  # "share from the browser": the page's getDisplayMedia
    kinds = (kind, DeviceKind.CAMERA) if kind is DeviceKind.SCREEN else (kind,)
    for wanted in kinds:
        with contextlib.suppress(DeviceError):
            return devices.find(wanted, name)
    media = DeviceKind.MICROPHONE if kind is DeviceKind.MICROPHONE else DeviceKind.CAMERA
    try:
        with_file = await list_devices((name,))
    except DeviceError as exc:
        raise DeviceError(
            f"no {kind} {name!r} (there are: {devices.describe(kind)}) and {exc}"
        ) from exc
    from_file = [d for d in with_file.of_kind(media) if d not in devices.of_kind(media)]
    if not from_file:
        raise DeviceError(
            f"media file {name!r} has no {'audio' if media is DeviceKind.MICROPHONE else 'video'}"
        )
    return from_file[0]


class LocalMedia:
    """Camera and microphone of the local user, shared by the preview and every peer."""

    def __init__(self, on_error: ErrorSink, files: tuple[str, ...] = ()) -> None:
        self._on_error = on_error
        self._files = files
        self._readable_files: tuple[str, ...] | None = None
        self.page = PageDevices(self._page_devices_changed, self._page_capture_ended)
        """The browser page's devices, once a CallView's page attaches itself."""
        self.devices = DeviceManager(self.page)
        self.on_devices_updated: Callable[[DeviceList], None] | None = None
        """Called with the new list when the page's or this machine's devices change."""
        self.on_capture_ended: Callable[[Role], None] | None = None
        """Called when the page ends a screen capture itself (its "Stop sharing" bar)."""
        self._chosen: set[DeviceKind] = set()
        """Kinds whose device the user picked: a page appearing does not replace them."""
        self._following: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None
        self._recapturing: set[asyncio.Future[None]] = set()
        self.relay = MediaRelay()
        """The one relay every reader of a local track goes through (peers, preview)."""
        self.audio = LocalTrack("audio", None, enabled=True)
        self.video = LocalTrack("video", None, enabled=True)
        self.camera: Device | None = None
        self.microphone: Device | None = None
        self.speaker: Device | None = None
        self._user_id = ""
        self._label = ""

    async def list(self) -> DeviceList:
        """The devices of this machine (probed in a worker thread) and of the page, files
        first, then the page's, then this machine's; an unreadable media file is reported
        and left out."""
        if self._readable_files is None:
            readable = []
            for path in self._files:
                try:
                    await list_devices((path,))
                except DeviceError as exc:
                    self._on_error("reading media files", exc)
                else:
                    readable.append(path)
            self._readable_files = tuple(readable)
        probed = await list_devices(self._readable_files)
        ordered = [d for kind in DeviceKind for d in probed.of_kind(kind)]
        files = [d for d in ordered if d.id.startswith("file:")]
        rest = [d for d in ordered if not d.id.startswith("file:")]
        return DeviceList.of([*files, *self.page.devices, *rest])

    def _page_devices_changed(self, _devices: tuple[Device, ...]) -> None:
        """The page's list changed: follow it (engine loop)."""
        if self._following is not None:
            self._following.cancel()
        self._following = asyncio.ensure_future(self._follow_page())

    async def _follow_page(self) -> None:
        """Use the page's camera and microphone when they appear, unless the user picked
        other devices; go back to the default when the page's device goes away. Then tell
        the listeners (``devicesUpdated``)."""
        devices = await self.list()
        for kind, select in (
            (DeviceKind.CAMERA, self.select_camera),
            (DeviceKind.MICROPHONE, self.select_microphone),
        ):
            current = self.camera if kind is DeviceKind.CAMERA else self.microphone
            if current is None or (kind in self._chosen and current in devices.of_kind(kind)):
                continue
            default = devices.of_kind(kind)[0]
            if default.in_browser and self.page.permission.state == "denied":
                continue  # asking again would only be refused again
            if current != default and (default.in_browser or current.in_browser):
                try:
                    await select(devices, default.id, chosen=False)
                except DeviceError as exc:
                    self._on_error("opening a browser device", exc)
        if self.on_devices_updated is not None:
            self.on_devices_updated(devices)

    async def watch_machine(self) -> None:
        """Look for devices plugged into (or out of) this machine every
        :data:`MACHINE_POLL` seconds from now on, telling ``on_devices_updated``."""
        if self._watching is None:
            self._watching = asyncio.ensure_future(self._poll_machine())

    async def _poll_machine(self) -> None:
        """Tell a change of this machine's devices (the page tells its own changes)."""

        def machine(devices: DeviceList) -> list[Device]:
            return [d for kind in DeviceKind for d in devices.of_kind(kind) if not d.in_browser]

        before = machine(await self.list())
        while True:
            await asyncio.sleep(MACHINE_POLL)
            now = await self.list()
            if machine(now) != before and self.on_devices_updated is not None:
                self.on_devices_updated(now)
            before = machine(now)

    def _page_capture_ended(self, role: Role) -> None:
        """The page ended a capture (its device went away, the page reloaded, another
        page took over): capture the camera or microphone again, on the page that
        captures now, else fall back to this machine's; a screen is the call's business."""
        if role == "screen":
            if self.on_capture_ended is not None:
                self.on_capture_ended(role)
            return
        kind = DeviceKind.CAMERA if role == "camera" else DeviceKind.MICROPHONE
        task = asyncio.ensure_future(self._capture_again(kind))
        self._recapturing.add(task)
        task.add_done_callback(self._recapturing.discard)

    async def _capture_again(self, kind: DeviceKind) -> None:
        current = self.camera if kind is DeviceKind.CAMERA else self.microphone
        if current is None or not current.in_browser:
            return
        select = self.select_camera if kind is DeviceKind.CAMERA else self.select_microphone
        devices = await self.list()
        listed = current in devices.of_kind(kind)
        await self._open_quietly(kind, select, devices, current.id if listed else None)

    async def identify(self, user_id: str, label: str) -> None:
        """Whose name the synthetic camera draws and whose tone the microphone plays; a new
        user closes the devices opened for the previous one (they reopen on demand)."""
        if (user_id, label) == (self._user_id, self._label):
            return
        self._user_id, self._label = user_id, label
        for track, device in ((self.video, self.camera), (self.audio, self.microphone)):
            self._swap(track, None)
            if device is not None:
                await self.devices.close_source(device)
        self.camera = self.microphone = None

    async def ensure_open(self, camera: str | None, microphone: str | None) -> None:
        """Open the chosen (or default) devices if none is open yet; failures are reported."""
        devices = await self.list()
        if self.camera is None:
            await self._open_quietly(DeviceKind.CAMERA, self.select_camera, devices, camera)
        if self.microphone is None:
            await self._open_quietly(
                DeviceKind.MICROPHONE, self.select_microphone, devices, microphone
            )
        if self.speaker is None:
            self.speaker = devices.speakers[0]

    async def _open_quietly(
        self,
        kind: DeviceKind,
        select: Callable[..., Any],
        devices: DeviceList,
        name: str | None,
    ) -> None:
        """Open ``name`` (or the default); a default browser device that fails (permission
        refused) gives way to this machine's first device, so the call has media."""
        try:
            await select(devices, name)
        except DeviceError as exc:
            self._on_error("opening a device", exc)
            fallback = [d for d in devices.of_kind(kind) if not d.in_browser]
            if name is None and devices.of_kind(kind)[0].in_browser and fallback:
                try:
                    await select(devices, fallback[0].id, chosen=False)
                except DeviceError as again:
                    self._on_error("opening a device", again)

    async def select_camera(
        self, devices: DeviceList, name: str | None, *, chosen: bool = True
    ) -> Device:
        """Feed the video track from camera ``name`` (default: the first camera); a name
        ``chosen`` by the user stays when a page's camera appears."""
        device = devices.find(DeviceKind.CAMERA, name) if name else devices.cameras[0]
        if name and chosen:
            self._chosen.add(DeviceKind.CAMERA)
        source = await self.devices.open_video(
            device, label=self._label or self._user_id, stamp=user_stamp(self._user_id)
        )
        self._swap(self.video, source)
        previous, self.camera = self.camera, device
        if previous is not None and previous != device:
            await self.devices.close_source(previous)  # a camera left on would stay lit
        return device

    async def select_microphone(
        self, devices: DeviceList, name: str | None, *, chosen: bool = True
    ) -> Device:
        """Feed the audio track from microphone ``name`` (default: the first one); a name
        ``chosen`` by the user stays when a page's microphone appears."""
        device = devices.find(DeviceKind.MICROPHONE, name) if name else devices.microphones[0]
        if name and chosen:
            self._chosen.add(DeviceKind.MICROPHONE)
        source = await self.devices.open_audio(device, frequency=user_tone(self._user_id))
        self._swap(self.audio, source)
        previous, self.microphone = self.microphone, device
        if previous is not None and previous != device:
            await self.devices.close_source(previous)
        return device

    async def switch_camera(self, facing_or_name: str) -> Device:
        """``front``/``back`` among real cameras by label (or order: first, second), else
        the synthetic front/back camera (see :func:`_facing`); or any camera's name."""
        devices = await self.list()
        if facing_or_name not in _FACING:
            return await self.select_camera(devices, facing_or_name)
        return await self.select_camera(devices, _facing(devices, facing_or_name).id)

    async def select_speaker(self, name: str) -> Device:
        """Where remote audio plays (``browser``: the page, through CallView; ``null``: nowhere)."""
        devices = await self.list()
        self.speaker = devices.find(DeviceKind.SPEAKER, name)
        return self.speaker

    async def open_source(
        self, kind: DeviceKind, name: str | None
    ) -> tuple[Device, MediaStreamTrack]:
        """Open one more source for a call's own track: a device of ``kind`` by id or
        label, or a media file path; ``None``: the first real screen else the synthetic
        one (``SCREEN``), the first camera or microphone otherwise. Synthetic sources draw
        this user's name and stamp (a screen: the stamp XOR ``SCREEN_STAMP_MASK``)."""
        devices = await self.list()
        device = _default(devices, kind) if name is None else await _named(devices, kind, name)
        if device.kind is DeviceKind.MICROPHONE:
            return device, await self.devices.open_audio(device, frequency=user_tone(self._user_id))
        label, stamp = self._label or self._user_id, user_stamp(self._user_id)
        return device, await self.devices.open_video(device, label=label, stamp=stamp)

    async def release(self, device: Device) -> None:
        """Close ``device`` unless it is the camera or microphone in use."""
        if device not in (self.camera, self.microphone):
            await self.devices.close_source(device)

    def _swap(self, track: LocalTrack, source: MediaStreamTrack | None) -> None:
        previous = track.set_source(source)
        if previous is not None:
            previous.stop()

    def subscribe(self, kind: str) -> MediaStreamTrack:
        """A new reader of the local ``audio`` or ``video`` track (one per peer/preview)."""
        track = self.audio if kind == "audio" else self.video
        return self.relay.subscribe(track, buffered=False)

    def set_processor(self, kind: str, fn: Callable[[Any], Any] | None) -> None:
        """Apply ``fn`` (array in, array out) to every local ``kind`` frame before sending."""
        if fn is not None and not callable(fn):
            raise InputError(f"a processor must be callable or None, not {type(fn).__name__}")
        track = self.audio if kind == "audio" else self.video
        if track.processor is not None:
            track.processor.close()
        track.processor = (
            Hook(fn, f"{kind} processor {getattr(fn, '__qualname__', fn)!r}", self._on_error)
            if fn is not None
            else None
        )

    async def close(self) -> None:
        """Stop both tracks, the device watch, and close every device."""
        for task in (self._watching, self._following):
            if task is not None:
                task.cancel()
        for kind, track in (("audio", self.audio), ("video", self.video)):
            self.set_processor(kind, None)
            track.stop()
        await self.devices.close()
