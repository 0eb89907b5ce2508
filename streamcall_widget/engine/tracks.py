"""Track identity and fan-out: what a track is, and how many readers share one.

A track is named by who publishes it and what it is, never by its place in a peer
connection: :class:`TrackRef` ``(session_id, track_type)`` with the seed's
:class:`~streamcall_widget.protocol.models.TrackType` (``audio``, ``video``,
``screen_share``, ``screen_share_audio``). On the wire of a peer connection the type
travels in the track id of the SDP's ``a=msid`` line (``screen_share:<uuid>``, see
:func:`track_label`); a track whose id names no type (a browser's) is taken for the
camera or microphone by its kind.

:class:`Fanout` reads one remote track once and gives every frame to any number of
subscribers (the frame hooks and taps of a :class:`~streamcall_widget.engine.media.RemoteSink`,
``Call.subscribe`` readers, later a recorder), so no reader steals frames from another.
It is ours rather than aiortc's ``MediaRelay`` for three reasons: a subscriber gets every
frame from the moment it subscribes (a relay proxy is registered only at its first
``recv``); a slow subscriber's backlog is bounded (oldest frames dropped, counted) where a
buffered relay queue grows without end; and :meth:`Fanout.close` stops reading the source
(a relay reads until the source ends), which a track that is unpublished and later
published again on the same transceiver needs, or two readers would compete for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from streamcall_widget.protocol.models import TrackType

__all__ = ["BACKLOG", "Fanout", "TrackRef", "kind_of", "track_label", "track_type_of"]

logger = logging.getLogger(__name__)

BACKLOG = 64
"""Frames a subscriber may fall behind before its oldest ones are dropped (2 s of video)."""

_KINDS = {
    TrackType.AUDIO: "audio",
    TrackType.VIDEO: "video",
    TrackType.SCREEN_SHARE: "video",
    TrackType.SCREEN_SHARE_AUDIO: "audio",
}


@dataclass(frozen=True)
class TrackRef:
    """One published track: whose session, and what it is."""

    session_id: str
    """The publishing session (the local session for local tracks)."""
    track_type: TrackType
    """``audio``, ``video``, ``screen_share`` or ``screen_share_audio``."""


def kind_of(track_type: TrackType) -> str:
    """``audio`` or ``video``: what kind of media a track type carries."""
    return _KINDS[track_type]


def track_label(track_type: TrackType) -> str:
    """A fresh track id that names its type (``screen_share:<uuid>``), for ``a=msid``."""
    return f"{track_type.value}:{uuid.uuid4()}"


def track_type_of(track_id: str | None, kind: str) -> TrackType:
    """The type a remote track id names; a track id naming none is the camera or the
    microphone, by ``kind``."""
    prefix = (track_id or "").partition(":")[0]
    default = TrackType.AUDIO if kind == "audio" else TrackType.VIDEO
    try:
        named = TrackType(prefix)
    except ValueError:
        return default
    return named if kind_of(named) == kind else default


class Fanout:
    """Reads ``source`` once; every subscriber gets every frame (see the module doc)."""

    def __init__(self, source: MediaStreamTrack, backlog: int = BACKLOG) -> None:
        self.source = source
        self._backlog = backlog
        self._subscribers: set[FanoutTrack] = set()
        self.gated = False
        """While set, frames are still read (nothing piles up in the source) but no
        subscriber gets them: a call on hold, a deaf user."""
        self._task = asyncio.get_running_loop().create_task(self._read())

    def subscribe(self) -> FanoutTrack:
        """A new reader that gets every frame from now on (engine loop)."""
        track = FanoutTrack(self, self.source.kind, self._backlog)
        if self._task.done():
            track.end()
        else:
            self._subscribers.add(track)
        return track

    def unsubscribe(self, track: FanoutTrack) -> None:
        """Stop giving frames to ``track``."""
        self._subscribers.discard(track)

    async def _read(self) -> None:
        try:
            while True:
                frame = await self.source.recv()
                if self.gated:
                    continue
                for subscriber in list(self._subscribers):
                    subscriber.push(frame)
        except MediaStreamError:
            pass
        finally:
            for subscriber in list(self._subscribers):
                subscriber.end()
            self._subscribers.clear()

    async def close(self) -> None:
        """Stop reading the source (it stays open) and end every subscriber."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class FanoutTrack(MediaStreamTrack):
    """One subscriber of a :class:`Fanout`: a track whose ``recv`` gives the next frame."""

    def __init__(self, fanout: Fanout, kind: str, backlog: int) -> None:
        super().__init__()
        self.kind = kind
        self._fanout = fanout
        self._frames: deque[Any] = deque(maxlen=backlog)
        self._ready = asyncio.Event()
        self._ended = False

    def push(self, frame: Any) -> None:
        """Queue one frame (the fan-out's reader calls this); past the backlog the
        oldest queued frame is dropped."""
        self._frames.append(frame)
        self._ready.set()

    def end(self) -> None:
        """No more frames will come: ``recv`` raises once the queue is drained."""
        self._ended = True
        self._ready.set()

    async def recv(self) -> Any:
        """The next frame; ``MediaStreamError`` once the source ended or this stopped."""
        while not self._frames:
            if self._ended or self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._frames.popleft()

    def stop(self) -> None:
        """Stop reading: the fan-out forgets this subscriber."""
        super().stop()
        self._fanout.unsubscribe(self)
        self.end()
