"""A CallView's page as a device and a screen of the kernel.

The bridge is the kernel end of everything the page does beyond drawing JPEG tiles: it
attaches the page to the client's :class:`~streamcall_widget.engine.page_devices.PageDevices`
(the page's device list, captures and their answers), answers the page's WebRTC offers
(:class:`~.page_link.PageLink`: the page's captures up, the call's tiles down) and takes
the page's captures over the widget channel where WebRTC cannot connect
(:class:`~.uplink.PipeUplink`). Frames from the page are brought to the kernel's one
colour space (:mod:`streamcall_widget.engine.colour`) before anyone reads them.

Page messages arrive on the kernel's comm thread; the bridge hands them to the engine
loop, where the page devices and the peer connection live. The messages are those of
docs/widgets.md, "The page as a device" and "The page link".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Literal

from av import AudioFrame, VideoFrame
from av.frame import Frame

from streamcall_widget.engine.client import StreamCall
from streamcall_widget.engine.colour import ColourSpace, page_source_space, to_canonical
from streamcall_widget.engine.colour import PageSource as PageSourceKind
from streamcall_widget.engine.page_devices import ROLES, Role
from streamcall_widget.errors import InputError

from .page_link import PageLink
from .uplink import PipeUplink

__all__ = ["MEDIA_PATHS", "PageBridge"]

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any], list[bytes]], None]
MEDIA_PATHS = ("auto", "webrtc", "pipe")
"""The ``media_path`` setting: WebRTC with the widget channel as fallback, or only one."""
Path = Literal["connecting", "webrtc", "pipe"]
_CAPTURE_KINDS = {"page_devices", "capture_state", "capture_ended"}


def _role(content: dict[str, Any]) -> Role:
    role = content.get("role")
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role  # type: ignore[no-any-return]


def _source_kind(role: Role) -> PageSourceKind:
    """What kind of picture a video capture is, for its colour space."""
    return "screen" if role == "screen" else "camera"


class PageBridge:
    """The page of one CallView model, for its client: devices, captures, media link.

    ``on_path(path)`` is told which path the call's media takes to and from the page:
    ``connecting`` (WebRTC being tried), ``webrtc`` or ``pipe`` (the widget channel).
    """

    def __init__(self, client: StreamCall, send: Send, on_path: Callable[[Path], None]) -> None:
        self._client = client
        self._engine = client.engine
        self._send_raw = send
        self._on_path = on_path
        self._link: PageLink | None = None
        self._link_id = ""
        self.fallback: Path = "pipe"
        """The path when the link is down: ``pipe``, or ``connecting`` while WebRTC is
        forced (``media_path="webrtc"``: the page tries again, nothing else carries media)."""
        self._shown: tuple[dict[str, tuple[int, int]], list[str]] = ({}, [])
        self.path: Path = "pipe"
        self._colours: dict[Role, ColourSpace] = {}
        """The colour space each video capture arrives in (from its capture_state)."""
        self._uplink = PipeUplink(send, self._piped_frame)

    # -- page → kernel (comm thread) -----------------------------------------------------

    def receive(self, content: dict[str, Any], buffers: list[bytes]) -> bool:
        """Take a page message of the bridge's; True when it was one (InputError if bad)."""
        kind = content.get("kind")
        if self._uplink.receive(content, buffers):
            return True
        if kind in _CAPTURE_KINDS:
            self._engine.call_soon(lambda: self._capture_message(content))
            return True
        if kind == "link":
            link_id = content.get("link")
            if not isinstance(link_id, str) or not 0 < len(link_id) <= 64:
                raise InputError("a link offer needs link, the page's id of its connection")
            self._engine.submit(self._offer(link_id, content)).add_done_callback(self._report)
            return True
        if kind == "link_state":
            if content.get("state") not in ("failed", "closed"):
                raise InputError("a page link_state is failed or closed")
            self._engine.submit(self._close_link(self.fallback))
            return True
        return False

    def _capture_message(self, content: dict[str, Any]) -> None:
        """A device list, a capture's answer or its end (engine loop)."""
        page = self._client.media.page
        try:
            if content["kind"] == "page_devices":
                page.report(self, content)
            elif content["kind"] == "capture_state":
                role, error, ok = _role(content), content.get("error"), content.get("ok") is True
                if ok and role != "microphone":
                    colour = content.get("colour")
                    self._colours[role] = page_source_space(
                        _source_kind(role), colour if isinstance(colour, dict) else None
                    )
                page.captured(role, ok, error if isinstance(error, dict) else None)
            else:
                page.ended(_role(content))
        except InputError as exc:
            self._client.report("a message from the page", exc)

    async def _offer(self, link_id: str, content: dict[str, Any]) -> None:
        """Answer an offer: a renegotiation of the link, or a new peer connection of the
        page (``link`` id: a retry, a reloaded page), which replaces the old link. A
        failure is reported and told to the page, which then gives up on this link."""
        if self._link is not None and link_id != self._link_id:
            await self._close_link("connecting")
        if self._link is None:
            self._link = PageLink(
                self._client.media_config, self._send, self._feed, self._link_state
            )
            if not self._link_id or self.path != "pipe":
                # A retry after the link fell back leaves the label on the widget channel,
                # which carries the media until the new link connects.
                self._set_path("connecting")
            self._link_id = link_id
        link = self._link
        link.show(*self._shown)
        try:
            await link.offer(content)
        except Exception as error:
            if link is not self._link:
                # Closed while answering: the page gave up on this link (its offer waited
                # behind a running cell longer than the page waits), or a newer one
                # replaced it. Nobody waits for this answer: nothing went wrong.
                return
            self._send({"kind": "link", "link": link_id, "error": str(error)})
            await self._close_link(self.fallback)
            raise

    def _report(self, done: Future[None]) -> None:
        error = done.exception()
        if error is not None:
            self._client.report("answering the page's WebRTC offer", error)

    def _link_state(self, state: str) -> None:
        if state == "connected":
            self._set_path("webrtc")
        else:
            self._engine.submit(self._close_link(self.fallback))

    async def _close_link(self, path: Path) -> None:
        link, self._link = self._link, None
        self._set_path(path)
        if link is not None:
            await link.close()

    def _set_path(self, path: Path) -> None:
        if path != self.path:
            self.path = path
            self._on_path(path)

    # -- frames --------------------------------------------------------------------------

    def _feed(self, role: Role, frame: Frame) -> None:
        """A frame the page captured (engine loop), in the kernel's colour space."""
        if isinstance(frame, VideoFrame):
            space = self._colours.get(role) or page_source_space(_source_kind(role), None)
            frame = to_canonical(frame, space)
        self._client.media.page.feed(role, frame)

    def _piped_frame(self, role: str, frame: VideoFrame | AudioFrame) -> None:
        """A frame that came over the widget channel (the uplink's decoding thread)."""
        if role in ROLES:
            self._engine.call_soon(lambda: self._feed(role, frame))

    def show(self, video: dict[str, tuple[int, int]], audio: list[str]) -> None:
        """The tiles the page shows with video (and at what size), and those it plays
        (any thread)."""
        self._shown = (dict(video), list(audio))
        self._engine.call_soon(self._show)

    def _show(self) -> None:
        if self._link is not None:
            self._link.show(*self._shown)

    def frame(self, key: str, kind: str, frame: VideoFrame | AudioFrame) -> None:
        """A tile's frame for the link (engine loop); dropped while it is not connected."""
        link = self._link
        if link is not None and link.connected:
            link.frame(key, kind, frame)

    # -- kernel → page: the Page protocol (engine loop) ----------------------------------

    def _send(self, content: dict[str, Any]) -> None:
        self._send_raw(content, [])

    def request_capture(self, role: Role, device_id: str) -> None:
        """Ask the page to capture ``device_id`` for ``role`` (its answer: capture_state)."""
        self._send({"kind": "capture", "role": role, "device_id": device_id})

    def release_capture(self, role: Role) -> None:
        """Ask the page to stop capturing for ``role``."""
        self._send({"kind": "release", "role": role})

    def set_sink(self, device_id: str) -> None:
        """Ask the page to play the call on speaker ``device_id``."""
        self._send({"kind": "sink", "device_id": device_id})

    def close(self) -> None:
        """Detach the page and close the link (any thread; nothing left to do once the
        engine is closed, as when a widget is collected after its client)."""
        self._uplink.close()
        if self._engine.running and not self._engine.loop.is_closed():
            self._engine.call_soon(lambda: self._client.media.page.detach(self))
            self._engine.submit(self._close_link("pipe"))
