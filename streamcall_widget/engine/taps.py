"""Frames for viewers: every remote frame and, while someone watches, the local ones.

The widgets show what the engine receives and sends without touching a peer connection:
they register a *tap*, a function called on the engine loop with ``(key, kind, frame)``
for each frame. ``key`` is a remote participant's session id, or :data:`LOCAL` for the
local camera and microphone as sent (after the processors); ``kind`` is the track's
:class:`~streamcall_widget.protocol.models.TrackType` (a ``str``: ``video``, ``audio``,
``screen_share``, ``screen_share_audio``). The local tracks are read for taps only
while at least one tap is registered, so nobody pays for a preview nobody shows.

A tap runs inside the media path: it must return at once (keep the frame, wake a thread).
A tap that raises is reported once per burst of failures (an ``error`` event, no
traceback per frame) and the frame goes on to the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from typing import Any

from aiortc.mediastreams import MediaStreamError

from .listeners import ErrorSink, ListenerHandle
from .local_media import LocalMedia

__all__ = ["LOCAL", "FrameTap", "FrameTaps"]

LOCAL = "local"
"""The key of the local user's own frames."""

FrameTap = Callable[[str, str, Any], None]
"""``tap(key, kind, frame)``: called on the engine loop with an ``av`` frame."""


class FrameTaps:
    """The registered taps of one client, and the local readers that feed them."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, media: LocalMedia, report: ErrorSink
    ) -> None:
        self._loop = loop
        self._media = media
        self._report = report
        self._taps: dict[int, FrameTap] = {}
        self._failing: set[int] = set()
        """Taps whose last call raised: reported already, until one succeeds again."""
        self._ids = itertools.count()
        self._local: list[asyncio.Task[None]] = []

    def add(self, tap: FrameTap) -> ListenerHandle:
        """Call ``tap`` for every frame from now on (any thread)."""
        if not callable(tap):
            raise TypeError(f"a frame tap must be callable, not {type(tap).__name__}")
        tap_id = next(self._ids)
        self._taps[tap_id] = tap
        self._loop.call_soon_threadsafe(self._sync_local_readers)

        def remove() -> None:
            if self._taps.pop(tap_id, None) is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._sync_local_readers)

        return ListenerHandle("frames", remove)

    def __call__(self, key: str, kind: str, frame: Any) -> None:
        """Hand one frame to every tap (engine loop)."""
        for tap_id, tap in list(self._taps.items()):
            try:
                tap(key, kind, frame)
            except Exception as exc:
                if tap_id not in self._failing:
                    self._failing.add(tap_id)
                    self._report(f"frame tap {getattr(tap, '__qualname__', repr(tap))}", exc)
            else:
                self._failing.discard(tap_id)

    def _sync_local_readers(self) -> None:
        if self._taps and not self._local:
            self._local = [
                self._loop.create_task(self._read_local(kind)) for kind in ("video", "audio")
            ]
        elif not self._taps and self._local:
            for task in self._local:
                task.cancel()
            self._local = []

    async def _read_local(self, kind: str) -> None:
        track = self._media.subscribe(kind)
        try:
            with contextlib.suppress(MediaStreamError):
                while True:
                    self(LOCAL, kind, await track.recv())
        finally:
            track.stop()

    async def close(self) -> None:
        """Forget every tap and stop the local readers (engine loop)."""
        self._taps.clear()
        tasks, self._local = self._local, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
