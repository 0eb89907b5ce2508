"""Cameras, microphones, speakers and screens: finding them, and opening each once for all.

:func:`probe_devices` lists what this machine has without opening any device (opening a
camera to look at it can take seconds): device nodes and ``/proc`` entries for the input
formats this PyAV build has, plus synthetic devices that are always there, plus media
files given by the caller. The first device of each kind is the default: files first (the
caller asked for them), then real devices, then synthetic ones; speakers start with the
browser page (``browser``: CallView plays the call).

:class:`DeviceManager` opens a device on first use and shares it through one
``MediaRelay``: the preview and every peer get their own proxy of the same source. PyAV
work that blocks (opening, and stopping a ``MediaPlayer``, which joins its decoding
thread) runs in worker threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import glob
import logging
import os
import platform
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import av
from aiortc.contrib.media import MediaPlayer, MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame
from av.frame import Frame
from av.packet import Packet

from streamcall_widget.errors import DeviceError, InputError, InvalidState

from .synthetic import SyntheticCamera, SyntheticMicrophone, SyntheticScreen

__all__ = [
    "BACK_STAMP_MASK",
    "BROWSER_SPEAKER",
    "NULL_SPEAKER",
    "SCREEN_STAMP_MASK",
    "SILENT_MICROPHONE",
    "SYNTHETIC_BACK_CAMERA",
    "SYNTHETIC_CAMERA",
    "SYNTHETIC_MICROPHONE",
    "SYNTHETIC_SCREEN",
    "Device",
    "DeviceKind",
    "DeviceList",
    "DeviceManager",
    "list_devices",
    "probe_devices",
]

logger = logging.getLogger(__name__)


class DeviceKind(enum.StrEnum):
    """What a device does."""

    CAMERA = "camera"
    MICROPHONE = "microphone"
    SPEAKER = "speaker"
    SCREEN = "screen"


@dataclass(frozen=True)
class Device:
    """One device, and how PyAV opens it.

    ``id`` is stable across runs (``synthetic-camera``, ``v4l2:/dev/video0``,
    ``file:/abs/clip.mp4``); ``label`` is for people. ``url`` and ``format`` are what
    ``av.open`` gets (``format`` None: a media file, its format detected); synthetic and
    the browser speaker have neither.
    """

    kind: DeviceKind
    id: str
    label: str
    url: str = ""
    format: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    @property
    def in_browser(self) -> bool:
        """Whether this is the browser page's device (captured or played by the page),
        not one of the kernel's machine."""
        return self.format == _PAGE_FORMAT or self.id == "browser"


SYNTHETIC_CAMERA = Device(DeviceKind.CAMERA, "synthetic-camera", "Synthetic camera (front)")
SYNTHETIC_BACK_CAMERA = Device(
    DeviceKind.CAMERA, "synthetic-camera-back", "Synthetic camera (back)"
)
"""A second synthetic camera, so ``switch_camera("back")`` works on a machine without any:
it draws ``"<name> (back)"`` and stamps the user's id XOR :data:`BACK_STAMP_MASK`."""
BACK_STAMP_MASK = 0xFFFF
SYNTHETIC_SCREEN = Device(DeviceKind.SCREEN, "synthetic-screen", "Synthetic screen")
"""A screen for machines without one (and tests): a light desktop naming the user, which
stamps the user's id XOR :data:`SCREEN_STAMP_MASK`, so a camera and a screen differ."""
SCREEN_STAMP_MASK = 0x5A5A
SYNTHETIC_MICROPHONE = Device(
    DeviceKind.MICROPHONE, "synthetic-microphone", "Synthetic microphone (tone)"
)
SILENT_MICROPHONE = Device(DeviceKind.MICROPHONE, "silent-microphone", "Silent microphone")
BROWSER_SPEAKER = Device(DeviceKind.SPEAKER, "browser", "This browser page")
NULL_SPEAKER = Device(DeviceKind.SPEAKER, "null", "Null (discard)")

_FILE = "file:"
_PAGE_FORMAT = "browser"
"""The ``format`` of the browser page's devices (engine/page_devices.py)."""
_SYNTHETIC = {
    d.id
    for d in (
        SYNTHETIC_CAMERA,
        SYNTHETIC_BACK_CAMERA,
        SYNTHETIC_SCREEN,
        SYNTHETIC_MICROPHONE,
        SILENT_MICROPHONE,
    )
}
_CAMERA_OPTIONS = (("framerate", "30"), ("video_size", "640x480"))
_SCREEN_OPTIONS = (("framerate", "30"),)
_KIND_ORDER = (DeviceKind.CAMERA, DeviceKind.MICROPHONE, DeviceKind.SPEAKER, DeviceKind.SCREEN)
"""The order of :class:`DeviceList`'s fields."""


@dataclass(frozen=True)
class DeviceList:
    """The devices of each kind, the default (first) first."""

    cameras: tuple[Device, ...] = ()
    microphones: tuple[Device, ...] = ()
    speakers: tuple[Device, ...] = ()
    screens: tuple[Device, ...] = ()

    @classmethod
    def of(cls, devices: Sequence[Device]) -> DeviceList:
        """``devices`` sorted by kind, keeping their order."""
        return cls(*(tuple(d for d in devices if d.kind is kind) for kind in _KIND_ORDER))

    def of_kind(self, kind: DeviceKind) -> tuple[Device, ...]:
        """The devices of ``kind``."""
        if kind not in _KIND_ORDER:
            raise InputError(f"a device kind is one of {', '.join(_KIND_ORDER)}, not {kind!r}")
        return (self.cameras, self.microphones, self.speakers, self.screens)[
            _KIND_ORDER.index(kind)
        ]

    def find(self, kind: DeviceKind, name: str) -> Device:
        """The device of ``kind`` whose id or label is ``name`` (case-insensitive)."""
        wanted = name.casefold()
        for device in self.of_kind(kind):
            if wanted in (device.id.casefold(), device.label.casefold()):
                return device
        raise DeviceError(f"no {kind} {name!r}; available: {self.describe(kind)}")

    def describe(self, kind: DeviceKind) -> str:
        """``id (label)`` of every device of ``kind``, for error messages."""
        return ", ".join(f"{d.id} ({d.label})" for d in self.of_kind(kind)) or "none"


class PageOpener(Protocol):
    """What opens a browser page's device (``page_devices.PageDevices``)."""

    async def open(self, device: Device) -> MediaStreamTrack:
        """A track of what the page captures from ``device``."""
        ...


def _formats() -> set[str]:
    """Input formats this PyAV build has (``video4linux2,v4l2`` counts as both names)."""
    return {name for entry in av.formats_available for name in entry.split(",")}


def _v4l2_cameras() -> list[Device]:
    """``/dev/video*`` capture nodes; UVC metadata nodes (sysfs index > 0) are skipped."""
    cameras = []
    for node in sorted(glob.glob("/dev/video*")):
        sysfs = Path("/sys/class/video4linux") / Path(node).name
        try:
            if (sysfs / "index").read_text().strip() not in ("", "0"):
                continue
            label = (sysfs / "name").read_text().strip()
        except OSError:
            label = f"Video device {node}"
        cameras.append(
            Device(DeviceKind.CAMERA, f"v4l2:{node}", label, node, "v4l2", _CAMERA_OPTIONS)
        )
    return cameras


def _alsa_devices() -> list[Device]:
    """ALSA capture (microphone) and playback (speaker) PCMs from ``/proc/asound/pcm``."""
    try:
        lines = Path("/proc/asound/pcm").read_text().splitlines()
    except OSError:
        return []
    devices = []
    for line in lines:
        # "00-00: ALC3246 Analog : ALC3246 Analog : playback 1 : capture 1"
        fields = [part.strip() for part in line.split(":")]
        numbers = re.fullmatch(r"(\d+)-(\d+)", fields[0])
        if numbers is None or len(fields) < 3:
            continue
        url = f"plughw:{int(numbers[1])},{int(numbers[2])}"
        for direction, kind in (
            ("capture", DeviceKind.MICROPHONE),
            ("playback", DeviceKind.SPEAKER),
        ):
            if any(f.startswith(direction) for f in fields[3:]):
                devices.append(Device(kind, f"alsa:{url}", f"{fields[2]} ({url})", url, "alsa"))
    return devices


def _linux_devices(formats: set[str]) -> list[Device]:
    """V4L2 cameras, ALSA and PulseAudio microphones and speakers, the X11 screen."""
    devices = _v4l2_cameras() if "v4l2" in formats else []
    if "alsa" in formats:
        devices += _alsa_devices()
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if "pulse" in formats and runtime and Path(runtime, "pulse", "native").exists():
        devices += [
            Device(kind, "pulse:default", "PulseAudio", "default", "pulse")
            for kind in (DeviceKind.MICROPHONE, DeviceKind.SPEAKER)
        ]
    display = os.environ.get("DISPLAY")
    if "x11grab" in formats and display:
        devices.append(
            Device(
                DeviceKind.SCREEN,
                f"x11grab:{display}",
                f"Screen {display}",
                display,
                "x11grab",
                _SCREEN_OPTIONS,
            )
        )
    return devices


def _macos_devices(formats: set[str]) -> list[Device]:
    """AVFoundation's default camera and microphone, and the first screen."""
    if "avfoundation" not in formats:
        return []
    return [
        Device(kind, f"avfoundation:{name}", label, url, "avfoundation", options)
        for kind, name, label, url, options in (
            (DeviceKind.CAMERA, "default", "Default camera", "default:none", _CAMERA_OPTIONS),
            (DeviceKind.MICROPHONE, "default", "Default microphone", "none:default", ()),
            (DeviceKind.SCREEN, "screen0", "Screen 0", "Capture screen 0:none", _SCREEN_OPTIONS),
        )
    ]


def _windows_devices(formats: set[str]) -> list[Device]:
    """DirectShow devices by the names DirectShow lists (it has no ``default``), the desktop."""
    devices = []
    if "dshow" in formats:
        try:
            found = av.device.enumerate_input_devices("dshow")
        except (av.FFmpegError, OSError):
            found = []
        devices += [
            Device(kind, f"dshow:{media}={d.name}", d.description, f"{media}={d.name}", "dshow")
            for d in found
            for media, kind in (("video", DeviceKind.CAMERA), ("audio", DeviceKind.MICROPHONE))
            if media in d.media_types
        ]
    if "gdigrab" in formats:
        devices.append(
            Device(DeviceKind.SCREEN, "gdigrab:desktop", "Desktop", "desktop", "gdigrab")
        )
    return devices


_PLATFORMS = {"Linux": _linux_devices, "Darwin": _macos_devices, "Windows": _windows_devices}


def _file_devices(path: str | Path) -> list[Device]:
    """A camera and/or microphone for a media file, by the streams it has."""
    absolute = str(Path(path).expanduser().resolve())
    try:
        with av.open(absolute) as container:
            has = {
                DeviceKind.CAMERA: container.streams.video,
                DeviceKind.MICROPHONE: container.streams.audio,
            }
    except (av.FFmpegError, OSError) as exc:
        raise DeviceError(f"cannot read media file {absolute}: {exc}") from exc
    devices = [
        Device(kind, _FILE + absolute, Path(absolute).name, absolute)
        for kind, streams in has.items()
        if streams
    ]
    if not devices:
        raise DeviceError(f"media file {absolute} has no audio or video stream")
    return devices


def probe_devices(files: Sequence[str | Path] = ()) -> DeviceList:
    """Every device of this machine, plus ``files`` as cameras/microphones. Blocking.

    Devices are not opened (a camera can take seconds to answer), only listed; the files
    are opened to see which streams they have. Run it in a thread: :func:`list_devices`.
    """
    from_files = [device for path in files for device in _file_devices(path)]
    probe = _PLATFORMS.get(platform.system())
    platform_devices = probe(_formats()) if probe else []
    return DeviceList.of(
        [
            *from_files,
            BROWSER_SPEAKER,
            NULL_SPEAKER,
            *platform_devices,
            SYNTHETIC_CAMERA,
            SYNTHETIC_BACK_CAMERA,
            SYNTHETIC_SCREEN,
            SYNTHETIC_MICROPHONE,
            SILENT_MICROPHONE,
        ]
    )


async def list_devices(files: Sequence[str | Path] = ()) -> DeviceList:
    """:func:`probe_devices` in a worker thread, so the event loop never waits on it."""
    return await asyncio.to_thread(probe_devices, files)


class _Source(MediaStreamTrack):
    """A source as the relay reads it: ending it cuts short the read in flight.

    ``MediaRelay`` reads a source until the source ends, and a synthetic track only ends
    after its next frame is due. Ending this wrapper cancels the pending read, so the relay
    sees the end at once and nothing reads the inner track any more.
    """

    def __init__(self, inner: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = inner.kind
        self.inner = inner
        self._reading: asyncio.Future[Frame | Packet[Any]] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    async def recv(self) -> Frame | Packet[Any]:
        """The next frame; MediaStreamError once ended."""
        if self.readyState != "live":
            raise MediaStreamError
        self._idle.clear()
        self._reading = asyncio.ensure_future(self._next())
        try:
            return await self._reading
        except asyncio.CancelledError:
            if self.readyState == "live":
                raise
            raise MediaStreamError from None
        finally:
            self._reading = None
            self._idle.set()

    async def _next(self) -> Frame | Packet[Any]:
        """The inner track's next frame."""
        return await self.inner.recv()

    async def end(self) -> None:
        """Stop, and return once no read is in flight and what fed it is released."""
        self.stop()
        if self._reading is not None:
            self._reading.cancel()
        await self._idle.wait()
        await self._release()

    async def _release(self) -> None:
        """Release what fed the source, once nothing reads it."""
        self.inner.stop()


def _open_player(device: Device) -> MediaPlayer:
    """aiortc's MediaPlayer for ``device`` (blocking: run it in a worker thread)."""
    return MediaPlayer(device.url, format=device.format, options=dict(device.options) or None)


def _stop_player(player: MediaPlayer) -> None:
    """Stop a player's tracks: joins its decoding thread and closes the container (blocks)."""
    for track in (player.audio, player.video):
        if track is not None:
            track.stop()


async def _drain(track: MediaStreamTrack) -> None:
    """Read and drop ``track`` until it ends: a player queues every frame until read."""
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


class _PlayerSource(_Source):
    """The audio or video of a device or file read by aiortc's ``MediaPlayer``.

    A player decodes all its streams and queues each one's frames until they are read, so
    the stream not asked for is drained. A file plays again from the start when it ends,
    with a fresh player whose pts go on from where the last pass stopped: aiortc's own
    ``loop=True`` restarts pts at zero and loses its pacing, and with PyAV 18 stops at the
    end of an H264 file. Opening and stopping players blocks, so it runs in worker threads.
    """

    def __init__(self, device: Device, player: MediaPlayer) -> None:
        self._device = device
        self._player = player
        super().__init__(self._wanted(player))
        self._drains: list[asyncio.Task[None]] | None = None
        self._replaying: asyncio.Future[None] | None = None
        self._offset = self._next_pts = self._step = 0

    def _wanted(self, player: MediaPlayer) -> MediaStreamTrack:
        """The player's track of this device's kind; DeviceError if it has none."""
        media = "audio" if self._device.kind is DeviceKind.MICROPHONE else "video"
        track = player.audio if media == "audio" else player.video
        if track is None:
            raise DeviceError(f"{self._device.id} ({self._device.label}) has no {media} stream")
        return track

    def _drain_others(self) -> list[asyncio.Task[None]]:
        """Start reading and dropping the player's other tracks."""
        others = (self._player.audio, self._player.video)
        return [asyncio.ensure_future(_drain(t)) for t in others if t not in (None, self.inner)]

    async def _next(self) -> Frame | Packet[Any]:
        """The wanted track's next frame, pts shifted past earlier passes of a file."""
        while True:
            if self._drains is None:
                # Only once the wanted track reads: the player closes when its last reading
                # track ends, so a drain reaching the end first would close it under us.
                self._drains = self._drain_others()
            try:
                frame = await self.inner.recv()
            except MediaStreamError:
                if not self._device.id.startswith(_FILE) or self._next_pts == self._offset:
                    raise  # a device ended, or a whole pass gave nothing: replaying would spin
                # Shielded: ending the source mid-replay waits for it instead of leaking
                # a half-opened player (see _release).
                self._replaying = asyncio.ensure_future(self._replay())
                await asyncio.shield(self._replaying)
                continue
            if frame.pts is not None:
                frame.pts += self._offset
                self._step = (
                    frame.samples if isinstance(frame, AudioFrame) else frame.duration or self._step
                )
                self._next_pts = frame.pts + self._step
            return frame

    async def _replay(self) -> None:
        """Swap in a fresh player for the next pass; MediaStreamError if the file is gone."""
        await self._stop_player()
        try:
            self._player = await asyncio.to_thread(_open_player, self._device)
            self.inner = self._wanted(self._player)
        except (av.FFmpegError, OSError, ValueError) as exc:
            logger.warning("%s cannot be played again, it ends: %s", self._device.id, exc)
            raise MediaStreamError from exc
        self._offset = self._next_pts

    async def _stop_player(self) -> None:
        """Stop the drains, then the player in a worker thread."""
        drains, self._drains = self._drains or [], None
        for drain in drains:
            drain.cancel()
        await asyncio.gather(*drains, return_exceptions=True)
        await asyncio.to_thread(_stop_player, self._player)

    async def _release(self) -> None:
        """Let a replay in progress finish, then stop the player it left."""
        if self._replaying is not None:
            await asyncio.gather(self._replaying, return_exceptions=True)
        await self._stop_player()


class DeviceManager:
    """Opens each device once and hands out relay proxies of it, one per consumer.

    The first ``open_*`` call of a device opens it (with its ``label``/``stamp`` or
    ``frequency``, which matter for synthetic devices only); later calls share that
    source. Proxies end when their source is closed.
    """

    def __init__(self, page: PageOpener | None = None) -> None:
        self._page = page
        self._relay = MediaRelay()
        self._sources: dict[tuple[str, DeviceKind], _Source] = {}
        self._lock = asyncio.Lock()
        self._closed = False

    async def open_video(
        self, device: Device, *, label: str, stamp: int | None
    ) -> MediaStreamTrack:
        """A new reader of camera or screen ``device`` (opened on first use)."""
        if device.kind not in (DeviceKind.CAMERA, DeviceKind.SCREEN):
            raise InputError(
                f"open_video takes a camera or screen, not the {device.kind} {device.id}"
            )
        if device.format == _PAGE_FORMAT:
            return await self._subscribe(device, lambda: SyntheticCamera(label, stamp=stamp))
        if device.id == SYNTHETIC_SCREEN.id:
            screen = None if stamp is None else stamp ^ SCREEN_STAMP_MASK
            return await self._subscribe(device, lambda: SyntheticScreen(label, stamp=screen))
        if device.id == SYNTHETIC_BACK_CAMERA.id:
            label = f"{label} (back)"
            stamp = None if stamp is None else stamp ^ BACK_STAMP_MASK
        return await self._subscribe(device, lambda: SyntheticCamera(label, stamp=stamp))

    async def open_audio(self, device: Device, *, frequency: float | None) -> MediaStreamTrack:
        """A new reader of microphone ``device`` (opened on first use)."""
        if device.kind is not DeviceKind.MICROPHONE:
            raise InputError(f"open_audio takes a microphone, not the {device.kind} {device.id}")
        if device.id == SILENT_MICROPHONE.id:
            frequency = None  # a page microphone ignores it: it is not synthetic
        return await self._subscribe(device, lambda: SyntheticMicrophone(frequency=frequency))

    async def _subscribe(
        self, device: Device, synthetic: Callable[[], MediaStreamTrack]
    ) -> MediaStreamTrack:
        """A relay proxy of ``device``'s source, opening the source first if need be."""
        async with self._lock:
            if self._closed:
                raise InvalidState("the device manager is closed")
            key = (device.id, device.kind)
            source = self._sources.get(key)
            if source is not None and source.inner.readyState != "live":
                source = None  # the page ended its capture: capture again
            if source is None:
                if device.format == _PAGE_FORMAT:
                    if self._page is None:
                        raise DeviceError(f"{device.id} is a browser device; no page is attached")
                    source = _Source(await self._page.open(device))
                elif device.id in _SYNTHETIC:
                    # Rendering the camera's still background takes some 20 ms.
                    source = _Source(await asyncio.to_thread(synthetic))
                else:
                    source = await self._open(device)
                self._sources[key] = source
            return self._relay.subscribe(source, buffered=False)

    async def _open(self, device: Device) -> _PlayerSource:
        """Open a file or real device with a MediaPlayer, in a worker thread."""
        try:
            player = await asyncio.to_thread(_open_player, device)
        except (av.FFmpegError, OSError, ValueError) as exc:
            available = (await list_devices()).describe(device.kind)
            raise DeviceError(
                f"cannot open {device.kind} {device.id} ({device.label}): {exc}; "
                f"available: {available}"
            ) from exc
        try:
            return _PlayerSource(device, player)
        except DeviceError:
            await asyncio.to_thread(_stop_player, player)
            raise

    async def close_source(self, device: Device) -> None:
        """Close ``device`` if open: its readers end, a real device is released."""
        async with self._lock:
            source = self._sources.pop((device.id, device.kind), None)
        if source is not None:
            await source.end()

    async def close(self) -> None:
        """Close every device; no decoding thread is left running. Opening after: an error."""
        async with self._lock:
            self._closed = True
            sources, self._sources = list(self._sources.values()), {}
        for source in sources:
            await source.end()
