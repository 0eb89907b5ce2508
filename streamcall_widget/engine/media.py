"""Local tracks as the call sends them, remote tracks as Python sees them, and user hooks.

:class:`LocalTrack` is what every peer (through one ``MediaRelay``) and the preview read
for one kind of local media. It forwards frames from the current device while enabled and
waits while disabled (mute: no media leaves, and unmute resumes the same RTP stream without
renegotiating); switching the device swaps its source in place; a processor hook (frame in,
frame out) is applied to each frame before anyone sees it. Local audio leaves in one format
whatever the device (:data:`AUDIO_RATE` Hz s16 mono, :data:`AUDIO_SAMPLES` samples a frame).

:class:`RemoteSink` drains one remote track (aiortc queues received frames until someone
reads them), measures audio level, keeps the latest video frame for the renderer and feeds
``on_remote_video``/``on_remote_audio`` hooks.

User hooks run in worker threads through :class:`Hook`: the engine loop never waits on user
code longer than one frame, an analysis hook that is still busy skips frames instead of
queueing them, and an error is reported once per burst while the frame passes unchanged.
A hook removed while a frame waits for it gives the frame up quietly: the frame passes
unchanged (or to the processor that replaced it), and nothing is reported or cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar, cast

import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .colour import to_rgb_array, yuv420p
from .listeners import ErrorSink
from .quality import SpeakingDetector, audio_level

__all__ = ["AUDIO_RATE", "AUDIO_SAMPLES", "Hook", "LocalTrack", "RemoteSink", "Timeline"]

logger = logging.getLogger(__name__)

Frame = av.VideoFrame | av.AudioFrame
Array = npt.NDArray[Any]
P = TypeVar("P")

AUDIO_RATE = 48000
"""Sample rate of the local audio as sent and as audio processors get it (s16 mono)."""
AUDIO_SAMPLES = 960
"""Samples in each local audio frame: 20 ms at :data:`AUDIO_RATE`."""
_SENT = ("s16", "mono", AUDIO_RATE)
"""Sample format, layout and rate of the local audio as sent."""
_CLOSED = object()
"""What a hook's worker returns for a call it skipped because the hook was closed."""


class Hook(Generic[P]):
    """A user function run in a worker thread, its errors reported once per burst.

    Closing a hook never cancels a call waiting for its thread: that would raise
    ``CancelledError`` in whoever awaits :meth:`run`, and a local track's reader dies of it
    (the media stops for good while the track stays live). The waiting call returns None
    instead, without calling the function.
    """

    def __init__(self, fn: Callable[..., Any], where: str, on_error: ErrorSink) -> None:
        self.fn = fn
        self._where = where
        self._on_error = on_error
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="streamcall-hook")
        self._failing = False
        self.busy = False
        self.closed = False
        self.errors = 0

    async def run(self, *args: Any, check: Callable[[Any], Any] | None = None) -> Any:
        """``check(fn(*args))`` (``check`` validates or converts the result, on the loop);
        None if either raised, reported once per burst of failures, or if the hook is (or
        gets) closed, reported never: a removed hook's failures no longer matter."""
        if self.closed:
            return None
        self.busy = True
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._call, *args
            )
            if result is _CLOSED:
                return None
            if check is not None:
                result = check(result)
        except Exception as exc:
            if self.closed:  # e.g. closed from another thread just before the submit
                return None
            self.errors += 1
            if not self._failing:
                self._failing = True
                self._on_error(self._where, exc)
            return None
        finally:
            self.busy = False
        self._failing = False
        return result

    def _call(self, *args: Any) -> Any:
        """The function's result, or :data:`_CLOSED` if the hook closed while this waited."""
        return _CLOSED if self.closed else self.fn(*args)

    def close(self) -> None:
        """Let the worker thread end once its current call returns (without waiting); a
        call still queued returns None without calling the function."""
        self.closed = True
        self._executor.shutdown(wait=False)

    async def aclose(self) -> None:
        """Stop the worker thread and wait until it has ended."""
        self.close()
        await asyncio.to_thread(self._executor.shutdown, wait=True)


class LocalTrack(MediaStreamTrack):
    """One kind of local media as sent: current device, on/off switch, processor hook.

    An audio track hands out :data:`AUDIO_RATE` Hz s16 mono frames of
    :data:`AUDIO_SAMPLES` samples whatever its source gives (see :class:`_AudioShaper`).
    """

    def __init__(self, kind: str, source: MediaStreamTrack | None, enabled: bool) -> None:
        super().__init__()
        self.kind = kind
        self._source = source
        self._enabled = enabled
        self._wake = asyncio.Event()
        self.processor: Hook[Any] | None = None
        self.overlay: Callable[[av.AudioFrame], av.AudioFrame] | None = None
        """Rewrites audio frames before the processor for a while (DTMF tones)."""
        self.frames = 0
        self._timeline = Timeline()
        self._shaper = _AudioShaper() if kind == "audio" else None

    @property
    def enabled(self) -> bool:
        """Whether frames flow (camera on / microphone unmuted)."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = value
        self._wake.set()

    @property
    def source(self) -> MediaStreamTrack | None:
        """The device track frames come from (None: no device, nothing is sent)."""
        return self._source

    def set_source(self, source: MediaStreamTrack | None) -> MediaStreamTrack | None:
        """Read from ``source`` from the next frame on; returns the previous source."""
        previous, self._source = self._source, source
        if self._shaper is not None:
            self._shaper.reset()
        self._wake.set()
        return previous

    async def recv(self) -> Frame:
        """The next frame from the current source, processed; waits while disabled."""
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            source = self._source
            if source is None or not self._enabled:
                self._wake.clear()
                await self._wake.wait()
                continue
            frame = await self._next(source)
            if frame is None or source is not self._source or not self._enabled:
                continue
            frame = self._timeline.place(frame)
            if self.overlay is not None and isinstance(frame, av.AudioFrame):
                frame = self.overlay(frame)
            self.frames += 1
            processed = await self._process(frame)
            # Converted once, here: encoders in several threads then never convert it.
            return yuv420p(processed) if isinstance(processed, av.VideoFrame) else processed

    async def _next(self, source: MediaStreamTrack) -> Frame | None:
        """The next frame of ``source`` in this track's format; None if the source or
        switch changed meanwhile, or if the audio shaper needs more input first."""
        if self._shaper is None:
            return await self._next_from(source)
        frame = self._shaper.pop()
        if frame is None:
            raw = await self._next_from(source)
            if raw is not None and source is self._source:
                assert isinstance(raw, av.AudioFrame)
                self._shaper.push(raw)
                frame = self._shaper.pop()
        return frame

    async def _next_from(self, source: MediaStreamTrack) -> Frame | None:
        """A frame from ``source``, or None when the source or switch changed meanwhile."""
        self._wake.clear()
        receive = asyncio.ensure_future(source.recv())
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((receive, wake), return_when=asyncio.FIRST_COMPLETED)
        finally:
            wake.cancel()
        if not receive.done():
            receive.cancel()
            return None
        if receive.exception() is not None:
            if source is self._source:  # the device itself ended: send nothing more from it
                self._source = None
            return None
        return cast(Frame, receive.result())

    async def _process(self, frame: Frame) -> Frame:
        """``frame`` as the processor returns it; unchanged without one or if it fails.

        A processor replaced or removed while the frame waited for it hands the frame to
        the one now set (if any), so swapping processors never drops or stops the media.
        """
        hook = self.processor
        while hook is not None:
            processed = await hook.run(
                _as_array(frame),
                check=lambda result: _rebuild(frame, np.asarray(result), self.kind),
            )
            if processed is not None:
                return cast(Frame, processed)
            if not hook.closed or hook is self.processor:
                break
            hook = self.processor
        return frame

    def stop(self) -> None:
        """Stop sending; the device itself belongs to the DeviceManager."""
        super().stop()
        self._wake.set()


class _AudioShaper:
    """Turns one source's audio into :data:`AUDIO_RATE` Hz s16 mono frames of
    :data:`AUDIO_SAMPLES` samples, timestamps in samples.

    Sources differ: the synthetic microphone gives that format already, aiortc's
    ``MediaPlayer`` (files, real microphones) gives stereo. aiortc's Opus encoder sets its
    resampler up from the first frame it gets and fails on any other format (``Frame does
    not match AudioResampler setup``), which ends the sender: switching from one kind of
    microphone to the other mid-call would silence it. Audio processors get this one shape
    too, the one documented. Frames in the format pass as they are; others go through an
    ``av.AudioResampler`` (made for the source's format, replaced if that changes), which also
    cuts them into frames of the right length, so one frame in can give zero, one or more;
    once a source needed it, all its frames take that way, to keep them in order.
    """

    def __init__(self) -> None:
        self._resampler: av.AudioResampler | None = None
        self._input: tuple[str, str, int] | None = None
        self._ready: deque[av.AudioFrame] = deque()

    def reset(self) -> None:
        """Forget the previous source: its resampler and the frames not yet handed out."""
        self._resampler = self._input = None
        self._ready.clear()

    def push(self, frame: av.AudioFrame) -> None:
        """Convert ``frame``; the results wait for :meth:`pop`."""
        shape = (frame.format.name, frame.layout.name, frame.sample_rate)
        if self._resampler is None and shape == _SENT and frame.samples == AUDIO_SAMPLES:
            self._ready.append(frame)
            return
        if self._resampler is None or shape != self._input:
            self._resampler, self._input = self._new_resampler(), shape
        self._ready.extend(self._resampler.resample(frame))

    def pop(self) -> av.AudioFrame | None:
        """The next converted frame, None if there is none yet."""
        return self._ready.popleft() if self._ready else None

    @staticmethod
    def _new_resampler() -> av.AudioResampler:
        """A resampler to the sent format, cutting its output into frames of that length."""
        return av.AudioResampler(
            format="s16", layout="mono", rate=AUDIO_RATE, frame_size=AUDIO_SAMPLES
        )


class Timeline:
    """Keeps a track's timestamps rising across device switches.

    Each device counts time from its own start, so a switch (or a looped file) would send
    timestamps that go back; encoders refuse those (libvpx stops with "invalid data").
    Frames are shifted so each comes at least one frame period after the last one sent.

    A frame is never changed in place: one device frame is read by every client of the
    process that uses the device, and one local frame by each peer's sender, each with a
    timeline of its own. Shifting a shared frame's ``pts`` in place made those timelines
    feed on each other's shifts until ``pts`` overflowed and the track died (after a
    second or so of a two-client call). A frame that must move is copied first (0.2 ms
    for 640x480); in the steady state nothing moves and nothing is copied.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._last: float | None = None

    def place(self, frame: Frame, *, owned: bool = False) -> Frame:
        """``frame``, or a copy of it shifted to continue the timeline; a frame the caller
        ``owned`` (made for it alone, nobody else reads it) is shifted in place."""
        if frame.pts is None or frame.time_base is None:
            return frame
        base = frame.time_base
        at = float(frame.pts * base)
        period = frame.samples / frame.sample_rate if isinstance(frame, av.AudioFrame) else 1 / 30
        if self._last is not None and at + self._offset <= self._last:
            self._offset = self._last + period - at
        self._last = at + self._offset
        pts = round(self._last / float(base))
        if pts == frame.pts:
            return frame
        moved = frame if owned else _copy_frame(frame)
        moved.pts = pts
        return moved


def _copy_frame(frame: Frame) -> Frame:
    """A new frame with ``frame``'s samples or pixels and timing."""
    copy: Frame
    if isinstance(frame, av.VideoFrame):
        copy = av.VideoFrame.from_ndarray(frame.to_ndarray(), format=frame.format.name)
    else:
        copy = av.AudioFrame.from_ndarray(
            frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name
        )
        copy.sample_rate = frame.sample_rate
    copy.time_base = frame.time_base
    return copy


def _as_array(frame: Frame) -> Array:
    """A video frame as HxWx3 RGB (read in the colour space the frame says it is in,
    canonical where it says nothing), an audio frame as its samples (planes x samples)."""
    if isinstance(frame, av.VideoFrame):
        return to_rgb_array(frame)
    return frame.to_ndarray()


def _rebuild(frame: Frame, array: Array, kind: str) -> Frame:
    """A frame with ``array``'s pixels/samples and ``frame``'s timing."""
    new: Frame
    if kind == "video":
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
            raise ValueError(
                f"video processor must return an HxWx3 uint8 RGB array, got {array.dtype} "
                f"{array.shape}"
            )
        new = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
    else:
        assert isinstance(frame, av.AudioFrame)
        expected = frame.to_ndarray()
        if array.shape != expected.shape or array.dtype != expected.dtype:
            raise ValueError(
                f"audio processor must return an array shaped {expected.shape} of "
                f"{expected.dtype}, got {array.shape} of {array.dtype}"
            )
        new = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(array), format=frame.format.name, layout=frame.layout.name
        )
        new.sample_rate = frame.sample_rate
    new.pts = frame.pts
    new.time_base = frame.time_base or fractions.Fraction(1, 90000)
    return new


class RemoteSink:
    """Reads one remote track to its end: level, latest frame, frame count, hooks, taps.

    Hooks are called as ``fn(subject(), array)``; ``subject`` gives the participant.
    """

    def __init__(
        self,
        track: MediaStreamTrack,
        hooks: Callable[[], list[Hook[Any]]],
        subject: Callable[[], object],
        on_level: Callable[[float, bool], None] | None = None,
        on_frame: Callable[[Frame], None] | None = None,
    ) -> None:
        self.track = track
        self._subject = subject
        self.kind = track.kind
        self._hooks = hooks
        self._on_level = on_level
        self._on_frame = on_frame
        self._speaking = SpeakingDetector()
        self.frames = 0
        self.latest: Frame | None = None
        self.first_frame: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._hook_tasks: set[asyncio.Future[Any]] = set()
        self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = cast(Frame, await self.track.recv())
                self.frames += 1
                self.latest = frame
                if self._on_frame is not None:
                    self._on_frame(frame)
                if not self.first_frame.done():
                    self.first_frame.set_result(frame)
                array: Array | None = None  # converted at most once per frame
                if self._on_level is not None and isinstance(frame, av.AudioFrame):
                    array = frame.to_ndarray()
                    level = audio_level(array)
                    self._on_level(level, self._speaking.update(level))
                hooks = [hook for hook in self._hooks() if not hook.busy]
                if hooks:
                    self._feed(array if array is not None else _as_array(frame), hooks)

    def _feed(self, array: Array, hooks: list[Hook[Any]]) -> None:
        subject = self._subject()
        for hook in hooks:
            # Busy hooks were skipped above: analysis never queues frames behind a slow hook.
            task = asyncio.ensure_future(hook.run(subject, array))
            self._hook_tasks.add(task)
            task.add_done_callback(self._hook_tasks.discard)

    async def close(self) -> None:
        """Stop reading (the track itself ends with its peer connection)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
