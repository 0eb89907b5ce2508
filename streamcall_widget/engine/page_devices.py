"""The browser page's cameras, microphones, speakers and screen, as devices of the kernel.

A CallView shown in a page makes that page a device of the kernel: the page lists its
devices (``enumerateDevices``), captures the one the engine asks for (``getUserMedia``,
``getDisplayMedia``) and sends what it captures up the page link (WebRTC, or the widget
channel when WebRTC cannot connect). This module is the engine's side of that and knows
nothing of widgets or links: a *page* (:class:`Page`, implemented by ``render.page_link``)
attaches itself, reports its devices and capture results, and feeds frames; the engine
opens a page device like any other and reads a :class:`PageSource`.

Each capture has a *role*: ``camera``, ``microphone`` or ``screen``; a page captures at most
one device per role, and a frame fed for a role goes to the source open for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.frame import Frame

from streamcall_widget.errors import DeviceError, InputError, PermissionDenied

from .devices import Device, DeviceKind

__all__ = [
    "PAGE_PREFIX",
    "PAGE_SCREEN",
    "ROLES",
    "Page",
    "PageDevices",
    "PageSource",
    "PermissionProblem",
    "PermissionState",
    "explain_capture_error",
    "parse_device_report",
]

logger = logging.getLogger(__name__)

PAGE_PREFIX = "browser:"
"""The id prefix of every page device (``browser:<deviceId>``); ``browser`` alone is the
page as a speaker (CallView plays the call there)."""
PAGE_SCREEN = Device(
    DeviceKind.SCREEN, "browser:screen", "Screen, window or tab (browser)", "", "browser"
)
"""A screen the person picks in the browser's own share dialog."""
Role = Literal["camera", "microphone", "screen"]
ROLES: tuple[Role, ...] = ("camera", "microphone", "screen")
_ROLE_OF: dict[DeviceKind, Role] = {
    DeviceKind.CAMERA: "camera",
    DeviceKind.MICROPHONE: "microphone",
    DeviceKind.SCREEN: "screen",
}
_KIND_OF = {
    "videoinput": DeviceKind.CAMERA,
    "audioinput": DeviceKind.MICROPHONE,
    "audiooutput": DeviceKind.SPEAKER,
}
CAPTURE_TIMEOUT = 60.0
"""Seconds the engine waits for the page to answer a capture: the person may be reading
the browser's permission prompt."""
_MAX_DEVICES = 64
_MAX_TEXT = 256
_VIDEO_QUEUE = 2
_AUDIO_QUEUE = 25
"""Audio frames a source holds at most (0.5 s of 20 ms frames): older ones are dropped."""

# The browser's DOMException names, in words a person understands, with what to do.
Failure = Literal["failed", "denied"]
_CAPTURE_ERRORS: dict[str, tuple[Failure, str]] = {
    "NotAllowedError": (
        "denied",
        "The browser was not allowed to use the {what}. Allow it in the address bar's "
        "site settings (the camera icon), then try again.",
    ),
    "SecurityError": (
        "denied",
        "The browser blocks the {what} on this page. Open Jupyter over https or on "
        "localhost (a secure context), then try again.",
    ),
    "NotFoundError": (
        "failed",
        "No {what} was found. Plug one in, or pick another in the device list.",
    ),
    "NotReadableError": (
        "failed",
        "The {what} is in use by another program or could not be started. Close the other "
        "program (or tab) using it, then try again.",
    ),
    "OverconstrainedError": (
        "failed",
        "The {what} cannot do what was asked (size or frame rate). Pick another device.",
    ),
    "AbortError": ("failed", "Starting the {what} was interrupted. Try again."),
    "InsecureContext": (
        "denied",
        "This page is not a secure context, so the browser offers no {what}. Open Jupyter "
        "over https or on localhost.",
    ),
    "NoPage": (
        "failed",
        "No browser page shows this kernel's CallView, so there is no browser {what}. "
        "Display a CallView (or phone()) in the notebook.",
    ),
    "NotSupportedError": ("failed", "This browser cannot capture a {what}."),
    "InvalidStateError": (
        "failed",
        "The browser only shares a {what} after a click on the page: use the Share screen button.",
    ),
}
_WHAT = {"camera": "camera", "microphone": "microphone", "screen": "screen"}


@dataclass(frozen=True)
class PermissionProblem:
    """Why the page could not capture: the browser's error name and what a person reads."""

    reason: str
    """The browser's name for it (``NotAllowedError``, ``NotFoundError``...)."""
    message: str
    """What happened and what to do, for people."""

    @property
    def raw_str(self) -> str:
        """The seed's ``rawStr``: the text to show the user (the same as ``message``)."""
        return self.message


@dataclass(frozen=True)
class PermissionState:
    """``get_permission_state()`` (seed 002's ``DevicePermissionStatus``).

    ``state`` is ``success`` (the page captured), ``denied`` (the person or the browser
    refused), ``failed`` (no device, in use, no page...) or ``prompt`` (nothing asked yet).
    """

    state: Literal["success", "failed", "denied", "prompt"]
    error: PermissionProblem | None = None


def explain_capture_error(
    role: str, name: str, detail: str = ""
) -> tuple[Failure, PermissionProblem]:
    """The permission state and readable problem for the browser's error ``name``."""
    state, template = _CAPTURE_ERRORS.get(
        name, ("failed", "The browser could not start the {what}: ")
    )
    message = template.replace("{what}", _WHAT.get(role, role))
    if name not in _CAPTURE_ERRORS:  # the browser's own words, as they are (braces too)
        message += f"{detail or name}."
    return state, PermissionProblem(name, message)


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise InputError(f"{name} must be a string of at most {_MAX_TEXT} characters")
    return value


def parse_device_report(report: Mapping[str, Any]) -> tuple[Device, ...]:
    """The page's ``enumerateDevices`` entries (``[{kind, device_id, label}]``) as devices;
    InputError for a malformed list. Devices without an id (no permission yet) keep their
    place as the kind's default, ``browser:default``-like ids stay as the browser gives them."""
    entries = report.get("devices")
    if not isinstance(entries, list) or len(entries) > _MAX_DEVICES:
        raise InputError(f"devices must be a list of at most {_MAX_DEVICES} entries")
    devices: list[Device] = []
    counts: dict[DeviceKind, int] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise InputError("each device must be an object {kind, device_id, label}")
        kind = _KIND_OF.get(_text(entry.get("kind"), "kind"))
        if kind is None:
            raise InputError(f"device kind must be one of {', '.join(_KIND_OF)}")
        device_id = _text(entry.get("device_id"), "device_id")
        if not device_id and any(d.kind is kind and d.url == "default" for d in devices):
            continue  # before permission every entry is anonymous: the kind's default is one
        device_id = device_id or "default"
        counts[kind] = counts.get(kind, 0) + 1
        label = _text(entry.get("label", ""), "label") or f"Browser {kind} {counts[kind]}"
        device = Device(kind, PAGE_PREFIX + device_id, f"{label} (browser)", device_id, "browser")
        if device not in devices:
            devices.append(device)
    if report.get("display") is True:
        devices.append(PAGE_SCREEN)
    return tuple(devices)


class Page(Protocol):
    """A page that captures for the engine (the page link implements it)."""

    def request_capture(self, role: Role, device_id: str) -> None:
        """Ask the page to capture ``device_id`` (``""``: the browser's choice) for ``role``."""

    def release_capture(self, role: Role) -> None:
        """Ask the page to stop capturing for ``role``."""

    def set_sink(self, device_id: str) -> None:
        """Play the call's audio on speaker ``device_id`` (``setSinkId``)."""


class PageSource(MediaStreamTrack):
    """Frames the page captured for one role, as a track the engine reads like a device's.

    Video keeps the newest frames (a slow reader gets fewer, never older ones); audio
    keeps up to half a second. The source ends (``MediaStreamError``) when the page stops
    the capture or goes away.
    """

    def __init__(self, kind: str, role: Role, on_end: Callable[[], None]) -> None:
        super().__init__()
        self.kind = kind
        self.role = role
        self._queue: asyncio.Queue[Frame | None] = asyncio.Queue()
        self._limit = _VIDEO_QUEUE if kind == "video" else _AUDIO_QUEUE
        self._on_end = on_end
        self.frames = 0
        """Frames fed so far."""

    def feed(self, frame: Frame) -> None:
        """Queue one frame from the page (engine loop); the oldest go beyond the limit."""
        if self.readyState != "live":
            return
        while self._queue.qsize() >= self._limit:
            self._queue.get_nowait()
        self.frames += 1
        self._queue.put_nowait(frame)

    def finish(self) -> None:
        """The page stopped capturing: the source ends now (a device that reopens it
        captures again), without asking the page to release what it no longer has."""
        if self.readyState == "live":
            MediaStreamTrack.stop(self)
            self._queue.put_nowait(None)  # wakes a reader waiting for a frame

    async def recv(self) -> Frame:
        """The next frame; MediaStreamError once the capture ended."""
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._queue.get()
        if frame is None:
            raise MediaStreamError
        return frame

    def stop(self) -> None:
        """Stop reading: the page is asked to stop capturing."""
        if self.readyState == "live":
            super().stop()
            self._on_end()


@dataclass
class _Capture:
    device: Device
    source: PageSource
    started: asyncio.Future[None]


class PageDevices:
    """The devices of the page attached to this client, and its captures (engine loop).

    ``on_update(devices)`` runs when the page's list changes (``devicesUpdated``);
    ``on_capture_ended(role)`` when the page ends a capture itself (the browser's own
    "Stop sharing" bar, a camera unplugged).
    """

    def __init__(
        self,
        on_update: Callable[[tuple[Device, ...]], None],
        on_capture_ended: Callable[[Role], None],
    ) -> None:
        self._on_update = on_update
        self._on_capture_ended = on_capture_ended
        self._pages: list[Page] = []
        """The pages attached, oldest first: the last one captures."""
        self._reported: dict[Page, tuple[tuple[Device, ...], bool]] = {}
        """Each page's devices and whether it has ``setSinkId``."""
        self._captures: dict[Role, _Capture] = {}
        self.permission = PermissionState("prompt")

    @property
    def _page(self) -> Page | None:
        return self._pages[-1] if self._pages else None

    @property
    def attached(self) -> bool:
        """Whether a page is attached."""
        return bool(self._pages)

    @property
    def devices(self) -> tuple[Device, ...]:
        """The capturing page's devices (none while no page is attached)."""
        page = self._page
        return self._reported.get(page, ((), False))[0] if page is not None else ()

    @property
    def sink_supported(self) -> bool:
        """Whether the capturing page can choose a speaker (``HTMLMediaElement.setSinkId``)."""
        page = self._page
        return page is not None and self._reported.get(page, ((), False))[1]

    def attach(self, page: Page) -> None:
        """Make ``page`` the one that captures: the latest page shown wins, and when it
        goes, the one shown before it takes over. Captures move to the new page."""
        if page in self._pages:
            return
        self._pages.append(page)
        self._end_all()

    def detach(self, page: Page) -> None:
        """``page`` is gone; if it was capturing, its captures move to the page shown
        before it (if any) and the device list becomes that page's."""
        if page not in self._pages:
            return
        capturing = page is self._page
        self._pages.remove(page)
        before = self._reported.pop(page, ((), False))[0]
        if capturing:
            self._end_all()
            if self.devices != before:
                self._on_update(self.devices)

    def report(self, page: Page, report: Mapping[str, Any]) -> None:
        """A page's device list (``page_devices`` message, already on the engine loop).

        A page's first report attaches it (:meth:`attach`): a page is a device once it
        shows a view, never for a widget made and not shown. ``fresh`` marks the first
        report of a page that (re)started: whatever an earlier instance of it was
        capturing is gone, so those captures end and start again there.
        """
        devices = parse_device_report(report)
        if page not in self._pages:
            self.attach(page)
        before = self._reported.get(page, ((), False))[0]
        self._reported[page] = (devices, report.get("sink") is True)
        if page is not self._page:
            return
        if report.get("secure") is False:
            _, problem = explain_capture_error("camera", "InsecureContext")
            self.permission = PermissionState("denied", problem)
        if report.get("fresh") is True:
            self._end_all()
        if devices != before:
            self._on_update(devices)

    async def open(self, device: Device) -> PageSource:
        """Have the page capture ``device``; the source once its first answer is in.

        Raises :class:`~streamcall_widget.errors.PermissionDenied` when the person or the
        browser refuses, :class:`~streamcall_widget.errors.DeviceError` for any other
        failure (the message says what to do).
        """
        role = _ROLE_OF[device.kind]
        page = self._page
        if page is None:
            state, problem = explain_capture_error(role, "NoPage")
            self.permission = PermissionState(state, problem)
            raise DeviceError(problem.message)
        if device not in self.devices:
            raise DeviceError(f"the page has no {device.kind} {device.id}")
        previous = self._captures.pop(role, None)
        if previous is not None:
            previous.source.finish()
        kind = "audio" if role == "microphone" else "video"
        loop = asyncio.get_running_loop()
        capture = _Capture(
            device, PageSource(kind, role, lambda: self._released(role)), loop.create_future()
        )
        self._captures[role] = capture
        page.request_capture(role, device.url)
        try:
            await asyncio.wait_for(asyncio.shield(capture.started), CAPTURE_TIMEOUT)
        except TimeoutError:
            self._drop(role, capture)
            raise DeviceError(
                f"the page did not start the {role} within {CAPTURE_TIMEOUT:.0f} s "
                "(is the permission prompt still open?)"
            ) from None
        except BaseException:
            self._drop(role, capture)
            raise
        return capture.source

    def captured(self, role: Role, ok: bool, error: Mapping[str, Any] | None = None) -> None:
        """The page's answer to a capture request (``capture_state`` message)."""
        capture = self._captures.get(role)
        counts = role != "screen"  # the permission state is the camera's and microphone's
        if ok:
            if counts:
                self.permission = PermissionState("success")
            if capture is not None and not capture.started.done():
                capture.started.set_result(None)
            return
        name = _text((error or {}).get("name", "Error"), "error name")
        detail = _text((error or {}).get("message", ""), "error message")
        state, problem = explain_capture_error(role, name, detail)
        if counts:
            self.permission = PermissionState(state, problem)
        failure: DeviceError = (
            PermissionDenied(problem.message) if state == "denied" else DeviceError(problem.message)
        )
        if capture is not None and not capture.started.done():
            capture.started.set_exception(failure)
        elif capture is not None:  # it had started: the page lost it
            self.ended(role)

    def ended(self, role: Role) -> None:
        """The page ended the capture of ``role`` itself (``capture_ended`` message)."""
        capture = self._captures.pop(role, None)
        if capture is None:
            return
        capture.source.finish()
        self._on_capture_ended(role)

    def feed(self, role: Role, frame: Frame) -> None:
        """A frame the page captured for ``role`` (engine loop)."""
        capture = self._captures.get(role)
        if capture is None:
            return
        if (role == "microphone") != isinstance(frame, av.AudioFrame):
            raise InputError(f"a {role} frame must be {capture.source.kind}")
        if not capture.started.done():
            capture.started.set_result(None)
        capture.source.feed(frame)

    def source(self, role: Role) -> PageSource | None:
        """The source open for ``role``, if any."""
        capture = self._captures.get(role)
        return capture.source if capture is not None else None

    def set_sink(self, device: Device) -> bool:
        """Play the call's audio on the page speaker ``device``; False where the page has
        no ``setSinkId`` (the seed's answer) or no page is attached."""
        if self._page is None or not self.sink_supported:
            return False
        self._page.set_sink(device.url)
        return True

    def _released(self, role: Role) -> None:
        """A source's reader stopped it: tell the page, unless a newer capture took over."""
        capture = self._captures.get(role)
        if capture is not None and capture.source.readyState == "ended":
            del self._captures[role]
            if self._page is not None:
                self._page.release_capture(role)

    def _drop(self, role: Role, capture: _Capture) -> None:
        if self._captures.get(role) is capture:
            del self._captures[role]
            if self._page is not None:
                self._page.release_capture(role)
        capture.source.finish()
        with contextlib.suppress(asyncio.InvalidStateError):
            capture.started.cancel()

    def _end_all(self) -> None:
        """End every capture (their page went away or another took over) and tell the
        engine, which captures again where it can."""
        captures, self._captures = self._captures, {}
        for role, capture in captures.items():
            capture.source.finish()
            self._on_capture_ended(role)
