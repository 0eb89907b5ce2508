"""What one call receives: every remote track, fanned out, and the user's frame hooks.

The transport reports each remote track as it starts and ends (by
:class:`~streamcall_widget.engine.tracks.TrackRef`). Each is fanned out
(:class:`~streamcall_widget.engine.tracks.Fanout`); one reader, a
:class:`~streamcall_widget.engine.media.RemoteSink`, measures audio level, counts frames and
feeds the hooks of the track's type and the client's taps; :meth:`RemoteMedia.subscribe`
hands out more readers. Hooks are kept by track type and outlive the tracks (a rejoin or a
share started again reaches the same hooks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamTrack

from streamcall_widget.errors import DoesNotExist, InputError
from streamcall_widget.protocol.models import TRACK_CAPABILITY, TrackType

from .listeners import ErrorSink, ListenerHandle
from .media import Hook, RemoteSink
from .participants import Participant, ParticipantTable
from .taps import FrameTaps
from .tracks import Fanout, TrackRef, kind_of

__all__ = ["FrameHook", "RemoteMedia"]

FrameHook = Callable[[Participant, npt.NDArray[np.generic]], Any]
"""``hook(participant, array)``: RGB pixels (video) or samples (audio)."""


class RemoteMedia:
    """The remote tracks of one call and the hooks reading them."""

    def __init__(
        self,
        participants: ParticipantTable,
        who: Callable[[str], Participant | None],
        taps: FrameTaps,
        report: ErrorSink,
    ) -> None:
        self._participants = participants
        self._who = who
        self._taps = taps
        self._report = report
        self._fanouts: dict[TrackRef, Fanout] = {}
        self._sinks: dict[TrackRef, RemoteSink] = {}
        self._ended_frames: dict[TrackRef, int] = {}
        """Frames of the tracks of each ref that ended (a revoke, a mute, a new link)."""
        self._hooks: dict[TrackType, dict[int, Hook[Any]]] = {t: {} for t in TrackType}
        self._hook_ids = 0
        self._closing: set[asyncio.Task[None]] = set()
        self._gated: frozenset[str] = frozenset()

    @property
    def streams(self) -> tuple[TrackRef, ...]:
        """The remote tracks arriving now."""
        return tuple(self._fanouts)

    def frame_count(self, ref: TrackRef) -> int:
        """Frames received so far on ``ref``, over every track it had: a count that stops
        growing when the track ends, rather than falling back to 0."""
        sink = self._sinks.get(ref)
        return self._ended_frames.get(ref, 0) + (sink.frames if sink is not None else 0)

    def subscribe(self, ref: TrackRef) -> MediaStreamTrack:
        """A new reader of ``ref`` getting every frame from now on (engine loop)."""
        fanout = self._fanouts.get(ref)
        if fanout is None:
            arriving = ", ".join(f"{r.session_id}/{r.track_type}" for r in self._fanouts)
            raise DoesNotExist(f"no remote track {ref}; arriving now: {arriving or 'none'}")
        return fanout.subscribe()

    def add_hook(self, kind: str, track_type: str, fn: FrameHook) -> ListenerHandle:
        """Run ``fn`` on every frame of remote tracks of ``track_type`` (any thread)."""
        if not callable(fn):
            raise InputError(f"a frame hook must be callable, not {type(fn).__name__}")
        allowed = [t.value for t in TrackType if kind_of(t) == kind]
        if track_type not in allowed:
            raise InputError(f"{kind} track_type {track_type!r} is not one of {allowed}")
        hooks = self._hooks[TrackType(track_type)]
        self._hook_ids += 1
        key = self._hook_ids
        name = getattr(fn, "__qualname__", repr(fn))
        hooks[key] = Hook(fn, f"on_remote_{kind} hook {name}", self._report)

        def remove() -> None:
            hook = hooks.pop(key, None)
            if hook is not None:
                hook.close()

        return ListenerHandle(f"remote_{kind}", remove)

    def gate(self, kinds: frozenset[str]) -> None:
        """Drop every frame of remote tracks of these kinds (``audio``, ``video``) before
        anything reads it (levels, hooks, taps, the page, subscribers), from now on and for
        tracks yet to come; the tracks themselves keep arriving (see ``Call.hold``)."""
        self._gated = kinds
        self.regate()

    def _blocked(self, ref: TrackRef) -> bool:
        """Whether frames of ``ref`` are dropped: a gated kind, or a track type its
        sender has no right to send (see :mod:`.permissions`)."""
        if kind_of(ref.track_type) in self._gated:
            return True
        sender = self._who(ref.session_id)
        allowed = sender.send_capabilities if sender is not None else None
        return allowed is not None and TRACK_CAPABILITY[ref.track_type] not in allowed

    def regate(self) -> None:
        """Apply the gates again (a sender's rights changed)."""
        for ref, fanout in self._fanouts.items():
            fanout.gated = self._blocked(ref)
            if fanout.gated and ref.track_type is TrackType.AUDIO:
                self._participants.set_audio(ref.session_id, 0.0, False)

    def started(self, ref: TrackRef, track: MediaStreamTrack) -> None:
        """A remote track arrives: fan it out, read it for level, hooks and taps."""
        fanout = self._fanouts[ref] = Fanout(track)
        fanout.gated = self._blocked(ref)

        def on_level(level: float, speaking: bool) -> None:
            self._participants.set_audio(ref.session_id, level, speaking)

        hooks = self._hooks[ref.track_type]
        self._sinks[ref] = RemoteSink(
            fanout.subscribe(),
            hooks=lambda: list(hooks.values()),
            subject=lambda: self._who(ref.session_id),
            on_level=on_level if ref.track_type is TrackType.AUDIO else None,
            on_frame=lambda frame: self._taps(ref.session_id, ref.track_type, frame),
        )

    def ended(self, ref: TrackRef) -> None:
        """A remote track stopped: forget it now (the same ref may start again at once, on
        a new link), stop reading it in the background."""
        sink, fanout = self._sinks.pop(ref, None), self._fanouts.pop(ref, None)
        if sink is not None:
            self._ended_frames[ref] = self._ended_frames.get(ref, 0) + sink.frames
        task = asyncio.get_running_loop().create_task(self._close_track(sink, fanout))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close_track(sink: RemoteSink | None, fanout: Fanout | None) -> None:
        if sink is not None:
            await sink.close()
        if fanout is not None:
            await fanout.close()

    async def close(self) -> None:
        """Stop reading every track and end every hook's worker thread."""
        for ref in list(self._fanouts):
            self.ended(ref)
        await asyncio.gather(*self._closing, return_exceptions=True)
        for hooks in self._hooks.values():
            for hook in list(hooks.values()):
                await hook.aclose()
            hooks.clear()
