"""The per-track recording (``mode="tracks"``): one file per track, written off the engine loop.

Where the grid (:mod:`.recorder`) composes every camera into one picture, this keeps each
track apart, for editing afterwards: every camera or shared screen becomes its own H.264
``.mp4``, every microphone or shared-screen audio its own AAC ``.m4a``, named after the
recording's path: ``<stem>-<user id>-<track type>.mp4`` (``-2``, ``-3``... when a name is
taken, e.g. a user in the call twice). A file is opened at its track's first frame, so a
participant joining mid-recording gets files from then on; one leaving ends them.

One file per track rather than one container with several streams: an MP4's streams are
fixed when its header is written, and tracks come and go during a recording.

Video frames are timed by arrival since the recording started (millisecond time base, so
a track keeps its own frame rate, and a stall shows as a held frame); each file keeps the
size of its track's first frame (later frames are scaled to it). Audio is resampled to 48
kHz mono and written back to back: a muted microphone sends nothing, so its file is
shorter than the recording. As in the grid, the engine loop only queues frames (bounded,
dropped and counted when the thread is behind), never waits.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from .colour import reformatted
from .recorder import SAMPLE_RATE, RecorderCounts, yield_to_the_call

__all__ = ["TRACK_QUEUE", "TrackRecorder"]

logger = logging.getLogger(__name__)

TRACK_QUEUE = 512
"""Frames of all tracks (a few seconds) the thread may fall behind before new ones drop."""
_VIDEO_TIME_BASE = Fraction(1, 1000)


@dataclass
class _TrackFile:
    """One track's open file."""

    container: Any
    stream: Any
    kind: str
    resampler: Any = None
    next_pts: int = 0
    size: tuple[int, int] = (0, 0)


class TrackRecorder:
    """One per-track recording in progress: a thread writing a file per track."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._clock = clock
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()
        self._frames: queue.Queue[tuple[str, str, Any, float] | None] = queue.Queue(TRACK_QUEUE)
        """(session, track type, frame, seconds since the start); None: stop."""
        self._files: dict[tuple[str, str], _TrackFile] = {}
        self._written: list[Path] = []
        self._counts = RecorderCounts()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"recorder {path.stem} tracks")
        self._started = 0.0

    # -- engine loop side: never blocks -------------------------------------------------

    def start(self) -> None:
        """Start the clock and the thread."""
        self._started = self._clock()
        self._thread.start()

    def set_sources(self, users: dict[str, str]) -> None:
        """The sessions in the call and their users (for the file names)."""
        with self._lock:
            self._names.update(users)

    def offer(self, session_id: str, track_type: str, kind: str, frame: Any) -> None:
        """Queue one frame of a track; dropped (counted) when the thread is behind."""
        try:
            self._frames.put_nowait((session_id, track_type, frame, self._clock() - self._started))
        except queue.Full:
            if kind == "video":
                self._counts.dropped_frames += 1
            else:
                self._counts.dropped_audio += 1

    def abort(self) -> None:
        """Give up before starting (no file is open yet)."""

    def stop(self) -> RecorderCounts:
        """Write what is queued, close every file and return the counts (blocks: call it
        from a worker thread)."""
        self._counts.duration = self._clock() - self._started
        self._frames.put(None)
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        self._counts.files = tuple(self._written)
        return self._counts

    # -- the worker thread ---------------------------------------------------------------

    def _run(self) -> None:
        yield_to_the_call()
        try:
            while (item := self._frames.get()) is not None:
                session_id, track_type, frame, at = item
                self._write(session_id, track_type, frame, at)
        except BaseException as exc:  # handed to stop(), which raises it to the user
            self._failure = exc
            logger.debug("recording %s failed", self.path, exc_info=exc)
        finally:
            for track in self._files.values():
                with contextlib.suppress(Exception):
                    self._close(track)

    def _write(self, session_id: str, track_type: str, frame: Any, at: float) -> None:
        kind = "audio" if isinstance(frame, av.AudioFrame) else "video"
        track = self._files.get((session_id, track_type))
        if track is None:
            track = self._files[(session_id, track_type)] = self._open(
                session_id, track_type, kind, frame
            )
        if kind == "video":
            width, height = track.size
            if (frame.width, frame.height) != track.size or frame.format.name != "yuv420p":
                frame = reformatted(frame, width=width, height=height, format="yuv420p")
            else:
                frame = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
            pts = max(track.next_pts, round(at / _VIDEO_TIME_BASE))
            frame.pts, frame.time_base = pts, _VIDEO_TIME_BASE
            track.next_pts = pts + 1
            self._counts.video_frames += 1
            frames = [frame]
        else:
            frames = list(track.resampler.resample(frame))
            for out in frames:
                out.pts, out.time_base = track.next_pts, Fraction(1, SAMPLE_RATE)
                track.next_pts += out.samples
            self._counts.audio_frames += 1
        for out in frames:
            for packet in track.stream.encode(out):
                track.container.mux(packet)

    def _open(self, session_id: str, track_type: str, kind: str, frame: Any) -> _TrackFile:
        with self._lock:
            user = self._names.get(session_id, session_id)
        suffix = ".mp4" if kind == "video" else ".m4a"
        target = self.path.with_name(f"{self.path.stem}-{user}-{track_type}{suffix}")
        number = 1
        while target.exists() or target in self._written:
            number += 1
            target = self.path.with_name(f"{self.path.stem}-{user}-{track_type}-{number}{suffix}")
        container = av.open(str(target), mode="w", format="mp4")
        self._written.append(target)
        if kind == "video":
            stream = container.add_stream("libx264")
            stream.width, stream.height = frame.width // 2 * 2, frame.height // 2 * 2
            stream.pix_fmt = "yuv420p"
            stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
            stream.codec_context.time_base = _VIDEO_TIME_BASE
            return _TrackFile(container, stream, kind, size=(stream.width, stream.height))
        sound = container.add_stream("aac", rate=SAMPLE_RATE)
        sound.codec_context.layout = "mono"
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=SAMPLE_RATE)
        return _TrackFile(container, sound, kind, resampler=resampler)

    @staticmethod
    def _close(track: _TrackFile) -> None:
        for packet in track.stream.encode(None):
            track.container.mux(packet)
        track.container.close()
