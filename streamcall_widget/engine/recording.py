"""Recording a call to a file: a base class of :class:`~streamcall_widget.engine.call.Call`.

Seed 003's ``startRecording``/``stopRecording``. The participant who records needs the
``start-record-call`` (``stop-record-call``) capability; the coordinator marks the call
recording (``call.start_recording``) and every member gets ``call.recording_started`` /
``call.recording_stopped``, which reach Python as ``recording`` listener events
(:class:`RecordingEvent`) and the watchable ``call.is_recording``.

The file is written here, by a :class:`~streamcall_widget.engine.recorder.Recorder` thread:
the grid of every participant's camera (the local one included) and all audio mixed (the
microphones and shared-screen audio); or, with ``mode="tracks"``, a file per track by a
:class:`~streamcall_widget.engine.track_recorder.TrackRecorder`. Frames come from extra
readers: a remote track's :class:`~streamcall_widget.engine.tracks.Fanout` subscriber
(``Call.subscribe``) and, for the local tracks, a proxy of the relay the peers and the
preview read through (``LocalMedia.relay``), so the view, the hooks and the peers lose
nothing. The readers only hand frames over (see the recorder's doc); every :data:`SYNC`
seconds the recording looks at the tracks arriving and the participants, so one joining
mid-recording gets a cell and one leaving loses it. Screen shares are not drawn in the grid
(a grid of cameras, as the CallView's). Leaving the call while recording finishes the file
(before ``leave()`` resolves) and tells the others; the recording stopped by someone else
(``stop-record-call``) or ended with the call is finished too. In every case
``stop_recording()`` then resolves to that file's :class:`RecordingResult` (once, even after
the call is left), and ``last_recording`` keeps the latest one (CallView shows where it was
saved).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from streamcall_widget.errors import (
    InvalidArguments,
    InvalidState,
    NotAllowed,
    StreamCallError,
)
from streamcall_widget.protocol.call_types import Capability
from streamcall_widget.protocol.events import AnyEvent, RecordingStarted, RecordingStopped
from streamcall_widget.protocol.lifecycle import CallState
from streamcall_widget.protocol.models import TrackType
from streamcall_widget.protocol.requests import StartRecording, StopRecording

from .call_parts import CallParts
from .recorder import FPS, Cell, Recorder
from .threadsafe import threadsafe
from .track_recorder import TrackRecorder
from .tracks import TrackRef, kind_of

if TYPE_CHECKING:
    from .participants import Participant
    from .remote_media import RemoteMedia

__all__ = ["RECORDING_EVENTS", "CallRecording", "RecordingEvent", "RecordingResult"]

logger = logging.getLogger(__name__)

RECORDING_EVENTS = ("recording",)
"""The listener event of this module: a :class:`RecordingEvent`."""

SYNC = 0.2
"""Seconds between two looks at the tracks and participants while recording."""

MODES = ("grid", "tracks")
"""What ``start_recording`` can write: ``grid``, the composed view with the audio mixed
(:mod:`.recorder`); ``tracks``, a file per track (:mod:`.track_recorder`)."""

_RECORDED = {
    "grid": frozenset({TrackType.VIDEO, TrackType.AUDIO, TrackType.SCREEN_SHARE_AUDIO}),
    "tracks": frozenset(TrackType),
}
"""The tracks each mode reads: the grid draws cameras and mixes all audio; ``tracks``
writes every track, shared screens included."""


@dataclass(frozen=True)
class RecordingEvent:
    """The call started or stopped recording (for every member; ``recording`` event)."""

    cid: str
    recording: bool
    """True: started; False: stopped."""
    created_at: str
    """When the coordinator took it (RFC 3339)."""


@dataclass(frozen=True)
class RecordingResult:
    """What ``stop_recording()`` resolves to: the file written and what went into it."""

    path: Path
    """The MP4 file (H.264 video, AAC audio); with ``mode="tracks"``, the name the track
    files are named after (see :attr:`files`), itself not written."""
    duration: float
    """Seconds recorded (the wall time between start and stop, to a frame)."""
    video_frames: int
    """Frames of the grid written (``FPS`` per second unless some were dropped)."""
    audio_frames: int
    """Audio frames of every participant mixed in."""
    dropped_frames: int
    """Grid frames not written because the encoder or the disk was behind (the call
    itself loses nothing)."""
    dropped_audio: int
    """Audio frames not mixed in because the encoder or the disk was behind."""
    fps: int
    """The output frame rate."""
    cells: tuple[Cell, ...]
    """The grid at the end: each cell's session id and place in the picture (none with
    ``mode="tracks"``)."""
    files: tuple[Path, ...]
    """Every file written: ``(path,)`` for the grid, one per track with ``tracks``."""


class CallRecording(CallParts):
    """``start_recording``, ``stop_recording``, ``is_recording``; the call provides the rest."""

    _remote: RemoteMedia
    _recording = False
    _recorder: Recorder | TrackRecorder | None = None
    _recording_mode = "grid"
    _recording_readers: dict[tuple[str, TrackType], tuple[MediaStreamTrack, asyncio.Task[None]]]
    _recording_sync: asyncio.Task[None] | None = None
    _recording_done: asyncio.Task[RecordingResult] | None = None
    """The file being finished (or finished) after the recording stopped without
    ``stop_recording()``: someone else stopped it, the call ended or was left."""
    _last_recording: RecordingResult | None = None

    if TYPE_CHECKING:

        @property
        def participants(self) -> tuple[Participant, ...]: ...

        def _changed(self) -> None: ...

    @property
    def is_recording(self) -> bool:
        """Whether the call is being recorded (by anyone; a REC indicator shows it)."""
        return self._recording

    @property
    def last_recording(self) -> RecordingResult | None:
        """The latest file this client finished recording in this call, however the
        recording ended (None before the first)."""
        return self._last_recording

    @property
    def can_record(self) -> bool:
        """Whether this user may start a recording of the call."""
        return Capability.START_RECORD_CALL.value in self.own_capabilities

    @threadsafe
    async def start_recording(
        self, path: str | os.PathLike[str] | None = None, *, mode: str = "grid"
    ) -> Path:
        """Record the call into ``path`` (an ``.mp4`` file that does not exist yet; None:
        ``recording-<call id>-<UTC time>.mp4`` in the current directory): the grid of
        cameras and all audio mixed, or with ``mode="tracks"`` a file per track named after
        ``path``. Resolves to the path once recording; everyone gets a
        ``recording`` event. NotAllowed without ``start-record-call``, InvalidState when the
        call already records or is not joined, InvalidArguments for a bad path or mode."""
        target = self._recording_path(path)
        if mode not in MODES:
            raise InvalidArguments(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if self._links.transport is None or self.state is not CallState.JOINED:
            raise InvalidState(f"join {self.cid} before recording it")
        if self._recorder is not None:
            raise InvalidState(f"{self.cid} is already being recorded here; stop it first")
        if not self.can_record:
            raise NotAllowed(
                f"recording {self.cid} needs the start-record-call capability; "
                f"you have: {', '.join(self.own_capabilities) or 'none'}"
            )
        await self._forget_stopped_recording()
        recorder = Recorder(target) if mode == "grid" else TrackRecorder(target)
        self._recorder, self._recording_mode = recorder, mode
        try:
            await self._host.request(StartRecording(id="", cid=self.cid), type(None))
        except BaseException:
            self._recorder = None
            recorder.abort()
            raise
        self._recording_readers = {}
        recorder.start()
        self._sync_recording()
        self._recording_sync = asyncio.get_running_loop().create_task(self._keep_in_sync())
        return target

    @threadsafe
    async def stop_recording(self) -> RecordingResult:
        """Stop recording and finish the file (NotAllowed without ``stop-record-call``,
        InvalidState when this client is not recording); everyone gets a ``recording``
        event. When the recording already ended otherwise (someone else stopped it, the
        call ended, this client left it), this resolves to that file, once."""
        if self._recording_done is None:
            if self._recorder is None:
                raise InvalidState(
                    f"{self.cid} is not being recorded here; start_recording() first"
                )
            if Capability.STOP_RECORD_CALL.value not in self.own_capabilities:
                raise NotAllowed(f"stopping the recording of {self.cid} needs stop-record-call")
            await self._host.request(StopRecording(id="", cid=self.cid), type(None))
        done, self._recording_done = self._recording_done, None
        return await (done if done is not None else self._finish_recording())

    async def _forget_stopped_recording(self) -> None:
        """A recording someone else stopped, never collected with ``stop_recording()``: let
        its file be finished, so the next ``stop_recording()`` is about the next one."""
        done, self._recording_done = self._recording_done, None
        if done is not None:
            try:
                await done
            except Exception as exc:
                self._host.report(f"finishing the recording of {self.cid}", exc)

    def _recording_path(self, path: str | os.PathLike[str] | None) -> Path:
        """The file to write: checked before anything starts."""
        if path is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            target = Path.cwd() / f"recording-{self.cid.partition(':')[2]}-{stamp}.mp4"
        elif isinstance(path, str | os.PathLike):
            target = Path(path).expanduser().absolute()
        else:
            raise InvalidArguments(f"path must be a str or a path, not {type(path).__name__}")
        if target.suffix.lower() != ".mp4":
            raise InvalidArguments(f"a recording is an MP4 file: {target.name} must end in .mp4")
        if target.exists():
            raise InvalidArguments(f"{target} exists already; pick a new file name")
        if not target.parent.is_dir() or not os.access(target.parent, os.W_OK):
            raise InvalidArguments(f"{target.parent} is not a writable directory; pick one that is")
        return target

    async def _finish_recording(self) -> RecordingResult:
        recorder, self._recorder = self._recorder, None
        assert recorder is not None
        if self._recording_sync is not None:
            self._recording_sync.cancel()
            self._recording_sync = None
        readers, self._recording_readers = self._recording_readers, {}
        for track, task in readers.values():
            track.stop()
            task.cancel()
        counts = await asyncio.to_thread(recorder.stop)
        self._last_recording = RecordingResult(
            path=recorder.path,
            duration=counts.duration,
            video_frames=counts.video_frames,
            audio_frames=counts.audio_frames,
            dropped_frames=counts.dropped_frames,
            dropped_audio=counts.dropped_audio,
            fps=FPS,
            cells=counts.cells,
            files=counts.files,
        )
        self._changed()
        return self._last_recording

    async def _keep_in_sync(self) -> None:
        while True:
            await asyncio.sleep(SYNC)
            self._sync_recording()

    def _sync_recording(self) -> None:
        """Read every recorded track (new ones too); stop reading those gone; set the cells."""
        recorder = self._recorder
        own = self.session_id
        if recorder is None or own is None:
            return
        recorded = _RECORDED[self._recording_mode]
        wanted: dict[tuple[str, TrackType], MediaStreamTrack | None] = {
            (ref.session_id, ref.track_type): None
            for ref in self._remote.streams
            if ref.track_type in recorded
        }
        sent = self._streams.sent()
        wanted |= {(own, t): track for t, track in sent.items() if t in recorded}
        for key in set(self._recording_readers) - set(wanted):
            reader, task = self._recording_readers.pop(key)
            reader.stop()
            task.cancel()
        for key, local in wanted.items():
            if key in self._recording_readers:
                continue
            reader = (
                self._remote.subscribe(TrackRef(*key))
                if local is None
                else self._host.media.relay.subscribe(local, buffered=False)
            )
            task = asyncio.get_running_loop().create_task(self._read(recorder, key, reader))
            self._recording_readers[key] = (reader, task)
        recorder.set_sources({p.session_id: p.user_id for p in self.participants})

    @staticmethod
    async def _read(
        recorder: Recorder | TrackRecorder,
        key: tuple[str, TrackType],
        track: MediaStreamTrack,
    ) -> None:
        """Hand every frame of one track to the recorder (which never blocks)."""
        session_id, track_type = key
        kind = kind_of(track_type)
        with contextlib.suppress(MediaStreamError):
            while True:
                recorder.offer(session_id, track_type.value, kind, await track.recv())

    def _recording_event(self, event: AnyEvent) -> bool:
        """Note a recording started or stopped and tell the listeners; False for others."""
        if not isinstance(event, RecordingStarted | RecordingStopped):
            return False
        self._recording_seen(isinstance(event, RecordingStarted), event.created_at)
        return True

    def _recording_seen(self, recording: bool, created_at: str | None = None) -> None:
        """The call is (not) recording: from an event, or the call as joined."""
        if recording == self._recording:
            return
        self._recording = recording
        if not recording:
            self._finishing()
        if created_at is not None:
            self._host.notify("recording", RecordingEvent(self.cid, recording, created_at))
        self._changed()

    def _finishing(self) -> asyncio.Task[RecordingResult] | None:
        """The task finishing the file of a recording that ended without
        ``stop_recording()``: started once, by whichever of the coordinator's
        ``recording_stopped`` and the leave comes first (the task takes the recorder only
        when it runs, so a second start would find none)."""
        if self._recording_done is None and self._recorder is not None:
            self._recording_done = asyncio.get_running_loop().create_task(self._finish_recording())
        return self._recording_done

    async def _recording_closed(self) -> None:
        """The call is being left or is over: finish a recording in progress (the file
        stays whole) and tell the coordinator, if it still listens. The result is kept for
        ``stop_recording()`` and ``last_recording``."""
        if self._recorder is not None:
            with contextlib.suppress(StreamCallError):
                await self._host.request(StopRecording(id="", cid=self.cid), type(None))
        done = self._finishing()  # unless the coordinator's recording_stopped started it
        if done is None:
            return
        try:
            await asyncio.shield(done)
        except Exception as exc:
            self._host.report(f"finishing the recording of {self.cid}", exc)
