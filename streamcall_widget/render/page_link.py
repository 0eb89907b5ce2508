"""The WebRTC link between one CallView's page and the kernel (aiortc in the kernel).

The page always makes the offer, so the two sides never glare: its offer has three
*uplink* transceivers (``sendonly``: camera, microphone, screen, each given a track by
``replaceTrack`` when the page captures, with no renegotiation) and *downlink slots*
(``recvonly``: video and audio). The kernel answers with each slot sending one
:class:`SlotTrack`, and tells the page which tile each slot shows (``link_slots``). A
tile that appears takes a free slot; when none is free the kernel asks for more
(``link_grow``) and the page offers again. Moving a slot to another tile is only a new
``link_slots`` message: the slot's track starts carrying the other tile's frames.

Everything here runs on the engine loop; messages come in through
:meth:`PageLink.handle`, which the bridge calls there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame
from av.frame import Frame

from streamcall_widget.engine.colour import reformatted, yuv420p
from streamcall_widget.engine.media import Timeline
from streamcall_widget.engine.page_devices import ROLES, Role
from streamcall_widget.engine.rtc_config import MediaConfig
from streamcall_widget.errors import InputError

__all__ = ["PageLink", "SlotTrack", "parse_offer"]

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], None]
_MAX_SDP = 256 * 1024
_MAX_SLOTS = 64
_AUDIO_QUEUE = 10
"""Audio frames a slot holds at most (200 ms): beyond, the oldest go (the page is behind)."""


class SlotTrack(MediaStreamTrack):
    """One downlink slot's track: the frames of whichever tile the slot shows now.

    Video keeps only the newest frame (a slow encoder skips frames, never lags); audio
    keeps a short queue. With no tile, ``recv`` waits: the sender sends nothing. Each
    tile's frames count time from their own source's start, so frames go through a
    :class:`~streamcall_widget.engine.media.Timeline`: after a move to another tile the
    timestamps still only go forward (libvpx refuses frames that go back, and the
    sender dies with it). A video slot sends frames at most at the size the tile is shown
    (:attr:`size`, device pixels): a small tile costs its encoder a small picture.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.key: str | None = None
        self._queue: asyncio.Queue[VideoFrame | AudioFrame] = asyncio.Queue()
        self._limit = 1 if kind == "video" else _AUDIO_QUEUE
        self._timeline = Timeline()
        self.size: tuple[int, int] | None = None
        """The tile's size on screen (width, height); None: the frames' own size."""

    def show(self, key: str | None) -> None:
        """Carry tile ``key`` from now on (None: nothing)."""
        if key != self.key:
            self.key = key
            while not self._queue.empty():
                self._queue.get_nowait()

    def feed(self, frame: VideoFrame | AudioFrame) -> None:
        """Queue one frame of the tile shown (engine loop)."""
        while self._queue.qsize() >= self._limit:
            self._queue.get_nowait()
        self._queue.put_nowait(frame)

    async def recv(self) -> Frame:
        """The next frame to send; MediaStreamError once stopped."""
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._queue.get()
        if not isinstance(frame, VideoFrame):
            return self._timeline.place(frame)
        fitted = self._fit(frame)  # a new frame when converted or scaled: shifted in place
        return self._timeline.place(fitted, owned=fitted is not frame)

    def _fit(self, frame: VideoFrame) -> VideoFrame:
        """``frame`` in yuv420p, scaled down (aspect kept, even sides) to fit :attr:`size`."""
        size = self.size
        scale = min(size[0] / frame.width, size[1] / frame.height) if size else 1.0
        if scale >= 1.0:
            return yuv420p(frame)
        width = max(2, int(frame.width * scale) // 2 * 2)
        height = max(2, int(frame.height * scale) // 2 * 2)
        return reformatted(frame, width=width, height=height, format="yuv420p")


def _mids(value: object, name: str) -> list[str]:
    if (
        not isinstance(value, list)
        or len(value) > _MAX_SLOTS
        or not all(isinstance(mid, str) and 0 < len(mid) <= 32 for mid in value)
    ):
        raise InputError(f"{name} must be a list of at most {_MAX_SLOTS} transceiver mids")
    return list(value)


def parse_offer(content: Mapping[str, Any]) -> tuple[str, dict[str, Role], list[str], list[str]]:
    """The SDP, uplink mids by role and the video and audio slot mids of a ``link`` offer;
    InputError naming the field when malformed."""
    sdp = content.get("sdp")
    if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > _MAX_SDP:
        raise InputError(f"sdp must be an SDP offer (starting v=0) of at most {_MAX_SDP} bytes")
    uplink = content.get("uplink")
    if not isinstance(uplink, dict) or not all(
        isinstance(mid, str) and role in ROLES for mid, role in uplink.items()
    ):
        raise InputError(f"uplink must map transceiver mids to roles ({', '.join(ROLES)})")
    video, audio = _mids(content.get("video"), "video"), _mids(content.get("audio"), "audio")
    return sdp, dict(uplink), video, audio


class PageLink:
    """The kernel's peer connection with one page: slots down, the page's captures up.

    ``on_frame(role, frame)`` gets each frame the page sends up; ``on_state(state)`` gets
    ``connected``, ``failed`` or ``closed``.
    """

    def __init__(
        self,
        config: MediaConfig,
        send: Send,
        on_frame: Callable[[Role, Frame], None],
        on_state: Callable[[str], None],
    ) -> None:
        self._pc = RTCPeerConnection(config.rtc_configuration())
        self._send = send
        self._on_frame = on_frame
        self._on_state = on_state
        self._slots: dict[str, dict[str, SlotTrack]] = {"video": {}, "audio": {}}
        """Slot tracks by mid, per kind."""
        self._wanted: dict[str, list[str]] = {"video": [], "audio": []}
        self._sizes: dict[str, tuple[int, int]] = {}
        """The tiles that should have a slot, per kind, in the order they appeared."""
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._grow_asked: dict[str, int] = {}
        self._closed = False
        self._pc.on("connectionstatechange", self._state_changed)

    @property
    def connected(self) -> bool:
        """Whether media flows over the link."""
        return self._pc.connectionState == "connected"

    async def offer(self, content: Mapping[str, Any]) -> None:
        """Answer the page's offer (``{kind: "link", sdp, uplink, video, audio}``)."""
        sdp, uplink, video, audio = parse_offer(content)
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        for transceiver in self._pc.getTransceivers():
            mid = transceiver.mid or ""
            if mid in uplink:
                self._read_uplink(mid, uplink[mid], transceiver.receiver.track)
                continue
            kind = "video" if mid in video else "audio" if mid in audio else None
            if kind is None or transceiver.kind != kind:
                continue
            slot = self._slots[kind].get(mid)
            if slot is None:
                slot = self._slots[kind][mid] = SlotTrack(kind)
            transceiver.direction = "sendonly"
            transceiver.sender.replaceTrack(slot)
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        local = self._pc.localDescription
        answer = {"kind": "link", "link": content.get("link"), "type": local.type, "sdp": local.sdp}
        self._send(answer)
        self._grow_asked.clear()
        self._assign()

    def show(self, video: dict[str, tuple[int, int]], audio: list[str]) -> None:
        """The tiles whose video (with the size each is shown at) and whose audio the page
        should get, in order."""
        self._sizes = dict(video)
        if list(video) != self._wanted["video"] or audio != self._wanted["audio"]:
            self._wanted = {"video": list(video), "audio": list(audio)}
            self._assign()
        for slot in self._slots["video"].values():
            slot.size = self._sizes.get(slot.key) if slot.key is not None else None

    def frame(self, key: str, kind: str, frame: VideoFrame | AudioFrame) -> None:
        """A frame of tile ``key`` (engine loop): into the slot showing it, if any."""
        for slot in self._slots[kind].values():
            if slot.key == key:
                slot.feed(frame)
                return

    def _assign(self) -> None:
        """Keep each tile in its slot, give new tiles free slots, free the slots of tiles
        gone; ask the page for more slots when a kind has too few. Tell the page."""
        if self._closed:
            return
        for kind, slots in self._slots.items():
            wanted = self._wanted[kind]
            kept = {slot.key for slot in slots.values() if slot.key in wanted}
            for slot in slots.values():
                if slot.key not in kept:
                    slot.show(None)
            waiting = [key for key in wanted if key not in kept]
            for slot in slots.values():
                if slot.key is None and waiting:
                    slot.show(waiting.pop(0))
                    slot.size = self._sizes.get(slot.key or "")
            if waiting and self._grow_asked.get(kind) != len(slots) + len(waiting):
                self._grow_asked[kind] = len(slots) + len(waiting)
                self._send({"kind": "link_grow", "media": kind, "count": len(waiting)})
        self._send(
            {
                "kind": "link_slots",
                "slots": {
                    mid: slot.key
                    for slots in self._slots.values()
                    for mid, slot in slots.items()
                    if slot.key is not None
                },
            }
        )

    def _read_uplink(self, mid: str, role: Role, track: MediaStreamTrack | None) -> None:
        if track is None or mid in self._readers:
            return
        self._readers[mid] = asyncio.ensure_future(self._read(role, track))

    async def _read(self, role: Role, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                try:
                    self._on_frame(role, frame)  # type: ignore[arg-type]
                except Exception:
                    logger.exception("page %s frame dropped", role)

    async def _state_changed(self) -> None:
        state = self._pc.connectionState
        if state in ("connected", "failed", "closed"):
            self._on_state(state)

    async def close(self) -> None:
        """Stop the slots and uplink readers and close the peer connection."""
        self._closed = True
        for task in self._readers.values():
            task.cancel()
        await asyncio.gather(*self._readers.values(), return_exceptions=True)
        self._readers.clear()
        for slots in self._slots.values():
            for slot in slots.values():
                slot.stop()
        await self._pc.close()
