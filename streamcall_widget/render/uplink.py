"""The page's camera, screen and microphone up to the kernel over the widget channel.

Where the page cannot open a WebRTC link to the kernel, js/lib/uplink_pipe.js sends its
capture as custom messages instead (docs/widgets.md, "Uplink over the widget channel"):
``up_video`` carries one VP8 frame (WebCodecs) or one JPEG, ``up_audio`` 100 ms of PCM.
:class:`PipeUplink` checks each message (the page is not trusted to keep the kernel
running), decodes it with PyAV and hands the frame to ``on_frame`` as the engine's tracks
want it: yuv420p video with a 90 kHz clock, s16 audio at the message's rate.

:meth:`PipeUplink.receive` runs on the kernel's comm thread, which also carries every click
and ack of the page, so it only parses and queues; one daemon thread, ``streamcall-uplink``,
decodes. Each video message is acknowledged (``up_ack``) once decoded or dropped, and the
page keeps at most 2 unacknowledged per role, so a slow kernel slows the page's capture
instead of queueing stale frames. A VP8 delta frame needs every frame before it: when one
cannot be decoded (a gap in ``seq``, a decoder error) the kernel drops deltas until the next
key frame and asks for one with ``up_keyframe``.
"""

from __future__ import annotations

import collections
import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from streamcall_widget.errors import InputError, PayloadTooBig

__all__ = [
    "AUDIO_RATES",
    "MAX_AUDIO_BYTES",
    "MAX_SIDE",
    "MAX_VIDEO_BYTES",
    "ROLES",
    "VIDEO_CODECS",
    "PipeUplink",
    "UpAudio",
    "UpVideo",
    "UplinkStats",
    "parse_uplink_message",
]

_log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any], list[bytes]], None]
"""The widget's ``send(content, buffers)``."""
OnFrame = Callable[[str, "av.VideoFrame | av.AudioFrame"], None]
"""Called on the decoder thread with ``(role, frame)`` for each decoded frame."""

ROLES = ("camera", "microphone", "screen")
VIDEO_CODECS = ("vp8", "jpeg")
AUDIO_RATES = (8000, 16000, 24000, 32000, 44100, 48000)
MAX_SIDE = 4096
"""Largest width or height of an uplink video frame, in pixels."""
MAX_VIDEO_BYTES = 4 * 1024 * 1024
"""Largest encoded video frame: a 4096x4096 JPEG at quality 0.8 stays well under it."""
MAX_AUDIO_BYTES = 48000 * 2 * 2
"""Largest audio buffer: one second of 48 kHz stereo s16 (the page sends 100 ms)."""
VIDEO_TIME_BASE = Fraction(1, 90000)
_MAX_TS = 2.0**53
_DECODERS = {"vp8": "vp8", "jpeg": "mjpeg"}
_PENDING_DELTAS = 8
"""VP8 messages of one role waiting for the decoder at most; beyond, all wait for a key."""
_AUDIO_BACKLOG = 10
"""Audio chunks waiting for the decoder thread at most (1 s of 100 ms chunks); oldest go."""
_KEYFRAME_REPEAT = 1.0
"""Seconds before a keyframe request that got no key frame is sent again."""


@dataclass(frozen=True)
class UpVideo:
    """Page message ``up_video``: one encoded frame of ``role``'s capture."""

    role: str
    seq: int
    ts: float
    """The page's capture time, ms since the epoch."""
    width: int
    height: int
    codec: Literal["vp8", "jpeg"]
    key: bool
    data: bytes


@dataclass(frozen=True)
class UpAudio:
    """Page message ``up_audio``: s16 little-endian interleaved PCM of ``role``."""

    role: str
    seq: int
    ts: float
    rate: int
    channels: int
    data: bytes


@dataclass
class UplinkStats:
    """What the uplink has received and decoded so far."""

    frames: dict[str, int] = field(default_factory=dict)
    """Messages received per role (video frames and audio chunks)."""
    bytes: dict[str, int] = field(default_factory=dict)
    """Binary payload received per role."""
    decoded: dict[str, int] = field(default_factory=dict)
    """Frames handed to ``on_frame`` per role."""
    dropped: int = 0
    """Video messages acknowledged without decoding (waiting for a key frame, replaced)."""
    decode_errors: int = 0
    keyframe_requests: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)
    """Per role, the last page-to-kernel latency: decode time minus the capture ``ts``
    (the two clocks are the page's and the kernel's, the same machine's in practice)."""


def parse_uplink_message(content: object, buffers: list[bytes]) -> UpVideo | UpAudio | None:
    """The uplink message in ``content``; None if it is not one; InputError if malformed."""
    if not isinstance(content, dict):
        return None
    kind = content.get("kind")
    if kind not in ("up_video", "up_audio"):
        return None
    role = content.get("role")
    if role not in ROLES:
        raise InputError(f"{kind}: role must be one of {', '.join(ROLES)}, not {role!r}")
    seq = _integer(content.get("seq"), f"{kind}: seq", 0, 2**53)
    ts = content.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not 0 <= ts < _MAX_TS:
        raise InputError(f"{kind}: ts must be ms since the epoch (a number >= 0), not {ts!r}")
    limit = MAX_VIDEO_BYTES if kind == "up_video" else MAX_AUDIO_BYTES
    data = _buffer(buffers, kind, limit)
    if kind == "up_audio":
        rate = content.get("rate")
        if isinstance(rate, bool) or rate not in AUDIO_RATES:
            raise InputError(f"up_audio: rate must be one of {AUDIO_RATES}, not {rate!r}")
        channels = content.get("channels")
        if isinstance(channels, bool) or channels not in (1, 2):
            raise InputError(f"up_audio: channels must be 1 or 2, not {channels!r}")
        if len(data) % (2 * channels):
            raise InputError(
                f"up_audio: the buffer must hold whole s16 samples of {channels} channel(s), "
                f"not {len(data)} bytes"
            )
        return UpAudio(role, seq, float(ts), int(rate), int(channels), data)
    codec = content.get("codec")
    if codec not in VIDEO_CODECS:
        raise InputError(f"up_video: codec must be one of {', '.join(VIDEO_CODECS)}, not {codec!r}")
    width = _integer(content.get("width"), "up_video: width", 2, MAX_SIDE)
    height = _integer(content.get("height"), "up_video: height", 2, MAX_SIDE)
    key = content.get("key")
    if not isinstance(key, bool):
        raise InputError(f"up_video: key must be true or false, not {key!r}")
    return UpVideo(role, seq, float(ts), width, height, codec, key, data)


def _integer(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{name} must be an integer in {low}..{high}, not {value!r}")
    return value


def _buffer(buffers: list[bytes], kind: str, limit: int) -> bytes:
    if len(buffers) != 1:
        raise InputError(f"{kind} must carry exactly one binary buffer, not {len(buffers)}")
    data = bytes(buffers[0])
    if not data:
        raise InputError(f"{kind}: the buffer is empty")
    if len(data) > limit:
        raise PayloadTooBig(f"{kind}: the buffer holds {len(data)} bytes, at most {limit} allowed")
    return data


class _Clock:
    """Turns the page's capture times into increasing pts in one time base."""

    def __init__(self, per_ms: float) -> None:
        self.per_ms = per_ms
        self.origin: float | None = None
        self.next_pts = 0

    def pts(self, ts: float, duration: int) -> int:
        """The pts of a frame captured at ``ts`` lasting ``duration`` ticks (>= 1 for video)."""
        if self.origin is None:
            self.origin = ts
        pts = max(round((ts - self.origin) * self.per_ms), self.next_pts)
        self.next_pts = pts + max(1, duration)
        return pts


class _VideoDecoder:
    """One role's decoder state: the codec context, and whether it waits for a key frame."""

    def __init__(self) -> None:
        self.codec: str | None = None
        self.context: av.VideoCodecContext | None = None
        self.last_seq: int | None = None
        self.need_key = True
        self.key_requested_at: float | None = None
        self.reformatter = VideoReformatter()
        self.clock = _Clock(90.0)

    def reset(self, codec: str) -> None:
        self.codec = codec
        context = av.CodecContext.create(_DECODERS[codec], "r")
        assert isinstance(context, av.VideoCodecContext)
        self.context = context
        self.need_key = False
        self.key_requested_at = None


class PipeUplink:
    """Receives the page's capture over the widget channel and decodes it on its own thread.

    ``send`` is the widget's ``send(content, buffers)`` (acks and keyframe requests);
    ``on_frame(role, frame)`` gets every decoded frame on the decoder thread, in order per
    role. Call :meth:`receive` with each custom message; :meth:`close` stops the thread.
    """

    def __init__(self, send: Send, on_frame: OnFrame) -> None:
        self._send = send
        self._on_frame = on_frame
        self._lock = threading.Condition()
        self._video: dict[str, collections.deque[UpVideo]] = {}
        self._audio: collections.deque[UpAudio] = collections.deque(maxlen=_AUDIO_BACKLOG)
        self._decoders: dict[str, _VideoDecoder] = {}
        self._audio_clocks: dict[tuple[str, int], _Clock] = {}
        self._stats = UplinkStats()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="streamcall-uplink", daemon=True)
        self._thread.start()

    def receive(self, content: dict[str, Any], buffers: list[bytes]) -> bool:
        """Queue an ``up_video`` or ``up_audio`` message: True if it was one, False for other
        kinds; InputError (nothing queued) if it is malformed."""
        message = parse_uplink_message(content, buffers)
        if message is None:
            return False
        with self._lock:
            if self._closed:
                return True
            role = message.role
            self._stats.frames[role] = self._stats.frames.get(role, 0) + 1
            self._stats.bytes[role] = self._stats.bytes.get(role, 0) + len(message.data)
            if isinstance(message, UpAudio):
                self._audio.append(message)
            else:
                self._queue_video(message)
            self._lock.notify()
        return True

    def _queue_video(self, message: UpVideo) -> None:
        """Latest wins where nothing depends on the waiting frames: a JPEG or a key frame
        replaces them; VP8 deltas queue (each is the next one's reference), up to a bound."""
        queue = self._video.setdefault(message.role, collections.deque())
        if message.codec == "jpeg" or message.key or len(queue) >= _PENDING_DELTAS:
            self._stats.dropped += len(queue)
            queue.clear()
        queue.append(message)

    @property
    def stats(self) -> UplinkStats:
        """A copy of the counters."""
        with self._lock:
            return copy.deepcopy(self._stats)

    def close(self) -> None:
        """Stop the decoder thread (waiting for it) and drop the decoders and the queues."""
        with self._lock:
            self._closed = True
            self._video.clear()
            self._audio.clear()
            self._lock.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join()
        self._decoders.clear()
        self._audio_clocks.clear()

    # ---- the decoder thread

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._closed and not self._audio and not any(self._video.values()):
                    self._lock.wait()
                if self._closed:
                    return
                audio = list(self._audio)
                self._audio.clear()
                video = [queue.popleft() for queue in self._video.values() if queue]
            for chunk in audio:
                self._guard(self._decode_audio, chunk)
            for message in video:
                self._guard(self._decode_video, message)

    def _guard(self, decode: Callable[[Any], None], message: UpVideo | UpAudio) -> None:
        """Run one decode step; an unexpected failure is logged, never kills the thread."""
        try:
            decode(message)
        except Exception:
            _log.exception("uplink: handling %s of %s failed", type(message).__name__, message.role)

    def _decode_audio(self, chunk: UpAudio) -> None:
        samples = np.frombuffer(chunk.data, dtype="<i2").astype(np.int16, copy=False)
        frame = av.AudioFrame.from_ndarray(
            samples.reshape(1, -1), format="s16", layout="mono" if chunk.channels == 1 else "stereo"
        )
        frame.sample_rate = chunk.rate
        frame.time_base = Fraction(1, chunk.rate)
        clock = self._audio_clocks.setdefault((chunk.role, chunk.rate), _Clock(chunk.rate / 1000))
        frame.pts = clock.pts(chunk.ts, frame.samples)
        self._deliver(chunk.role, chunk.ts, frame)

    def _decode_video(self, message: UpVideo) -> None:
        decoder = self._decoders.setdefault(message.role, _VideoDecoder())
        follows = decoder.last_seq is not None and message.seq == decoder.last_seq + 1
        decoder.last_seq = message.seq
        frames: list[av.VideoFrame] = []
        if message.key or message.codec == "jpeg":
            if decoder.need_key or message.codec != decoder.codec:
                decoder.reset(message.codec)  # a fresh context after an error or a switch
        elif message.codec != decoder.codec or not follows:
            decoder.need_key = True  # the frame this delta refers to never came
        if decoder.need_key:
            self._count_drop()
            self._request_key(message.role, decoder)
        else:
            frames = self._decode_packet(message, decoder)
        self._ack(message)
        for decoded in frames:
            frame = decoded
            if frame.format.name != "yuv420p":
                frame = decoder.reformatter.reformat(decoded, format="yuv420p")
            frame.time_base = VIDEO_TIME_BASE
            frame.pts = decoder.clock.pts(message.ts, 1)
            self._deliver(message.role, message.ts, frame)

    def _decode_packet(self, message: UpVideo, decoder: _VideoDecoder) -> list[av.VideoFrame]:
        """The frames ``message`` decodes to; on a decoder error, none and a key request."""
        assert decoder.context is not None
        try:
            decoded = decoder.context.decode(av.Packet(message.data))
        except av.FFmpegError as error:
            _log.debug(
                "uplink: %s frame %d of %s: %s", message.codec, message.seq, message.role, error
            )
            with self._lock:
                self._stats.decode_errors += 1
            decoder.need_key = True
            if message.codec == "vp8":
                self._request_key(message.role, decoder)
            return []
        return [frame for frame in decoded if isinstance(frame, av.VideoFrame)]

    def _request_key(self, role: str, decoder: _VideoDecoder) -> None:
        """Ask the page for a key frame, again only if the last request got none in time."""
        now = time.monotonic()
        if (
            decoder.key_requested_at is not None
            and now - decoder.key_requested_at < _KEYFRAME_REPEAT
        ):
            return
        decoder.key_requested_at = now
        with self._lock:
            self._stats.keyframe_requests += 1
        self._post({"kind": "up_keyframe", "role": role})

    def _count_drop(self) -> None:
        with self._lock:
            self._stats.dropped += 1

    def _ack(self, message: UpVideo) -> None:
        """Acknowledge ``message`` and, so, every earlier video message of its role."""
        self._post({"kind": "up_ack", "role": message.role, "seq": message.seq})

    def _post(self, content: dict[str, Any]) -> None:
        try:
            self._send(content, [])
        except Exception:
            _log.exception("uplink: sending %s failed", content["kind"])

    def _deliver(self, role: str, ts: float, frame: av.VideoFrame | av.AudioFrame) -> None:
        latency = time.time() * 1000 - ts
        with self._lock:
            self._stats.decoded[role] = self._stats.decoded.get(role, 0) + 1
            self._stats.latency_ms[role] = latency
        self._on_frame(role, frame)
