"""The kernel end of the CallView media channel: remote video and audio to the page.

The engine hands every decoded frame over on its asyncio thread, where only the newest
frame per tile is kept (O(1), so the call never waits on the page). One daemon thread,
``streamcall-frames``, does the rest: when :class:`~.flow.FlowControl` allows, it encodes
every tile that changed at the size the page draws it and sends them all in one ``frames``
message, with one binary buffer per tile. The mixed audio is cut into 100 ms PCM chunks
that ride in the next ``frames`` message, so a call costs Jupyter one message per video
tick; a chunk that finds no frames message within :data:`AUDIO_HOLD` (no view on screen,
a stalled page, an audio-only call) goes alone as an ``audio`` message, since audio is
never held back by the video window. The messages are those of
docs/widgets.md, "Media (CallView only)"; page messages are parsed and checked here too,
since the page is not trusted to keep the kernel running.

A slow page therefore gets fewer frames, never older ones: a frame waiting to be sent is
replaced by a newer one of the same tile, and nothing is encoded while no view is on
screen.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av

from streamcall_widget.errors import InputError

from .encoder import encode_tile
from .flow import FlowControl
from .mixer import RATE, AudioMixer

__all__ = ["Ack", "MediaPipe", "PipeStats", "Viewport", "parse_page_message"]

_log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any], list[bytes]], None]
"""The widget's ``send(content, buffers)``."""

MIME = "image/jpeg"
CHUNK_SAMPLES = RATE * 100 // 1000
"""Samples per audio chunk: 100 ms, the unit the page's jitter buffer is tuned for."""
AUDIO_HOLD = 0.06
"""Seconds a ready chunk waits for a frames message to ride in before it goes alone.

Longer than a tick at 30 fps (33 ms), so while video flows every chunk rides along, and
well inside the page's 120 ms jitter prefill, so audio never waits long on stalled video.
"""
_MAX_SIDE = 16384
_AUDIO_BACKLOG = 256
"""Audio frames waiting for the sender thread at most (seconds of audio for a few sources)."""


@dataclass
class PipeStats:
    """What the pipe has sent so far."""

    messages: int = 0
    """Messages sent, frames and audio."""
    frames: int = 0
    """Tiles sent (one JPEG each)."""
    bytes: int = 0
    """Binary payload sent: JPEGs and PCM."""
    encode_cpu_seconds: float = 0.0
    """CPU time of the sender thread spent encoding (scaling included)."""
    audio_chunks: int = 0
    """Audio chunks sent, in frames messages or alone."""
    audio_messages: int = 0
    """Audio messages sent alone (no frames message to ride in)."""


@dataclass(frozen=True)
class Ack:
    """Page message ``{kind: "ack", seq}``: frames message ``seq`` and older are drawn."""

    seq: int


@dataclass(frozen=True)
class Viewport:
    """Page message ``{kind: "viewport", visible, tiles}``: what is on screen, and how big.

    ``tiles`` maps every tile the page shows to its size in device pixels; tiles not
    listed (or 0 wide or high) are not encoded.
    """

    visible: bool
    tiles: dict[str, tuple[int, int]]


def parse_page_message(content: object) -> Ack | Viewport | None:
    """The media message in ``content``; None if it is not one; InputError if malformed."""
    if not isinstance(content, dict):
        return None
    kind = content.get("kind")
    if kind == "ack":
        return Ack(_integer(content.get("seq"), "seq", 2**53))
    if kind == "viewport":
        visible, tiles = content.get("visible"), content.get("tiles")
        if not isinstance(visible, bool) or not isinstance(tiles, dict):
            raise InputError("a viewport needs visible (boolean) and tiles (object)")
        return Viewport(visible, {_key(key): _size(size) for key, size in tiles.items()})
    return None


def _integer(value: object, name: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise InputError(f"{name} must be an integer in 0..{limit}, not {value!r}")
    return value


def _key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise InputError(f"a tile key must be a non-empty string, not {key!r}")
    return key


def _size(size: object) -> tuple[int, int]:
    if not isinstance(size, list | tuple) or len(size) != 2:
        raise InputError(f"a tile size must be [width, height], not {size!r}")
    return _integer(size[0], "width", _MAX_SIDE), _integer(size[1], "height", _MAX_SIDE)


@dataclass(frozen=True)
class _Latest:
    frame: av.VideoFrame
    ts: float
    """When the kernel got the frame, ms since the epoch."""


class _Failures:
    """Logs the first failure of a burst with its traceback, counts the rest until a success."""

    def __init__(self) -> None:
        self.count = 0

    def failed(self, what: str) -> None:
        """Call from an ``except`` block."""
        self.count += 1
        if self.count == 1:
            _log.exception("media pipe: %s failed (more failures are not logged)", what)

    def succeeded(self) -> None:
        if self.count > 1:
            _log.warning("media pipe: working again after %d failures", self.count)
        self.count = 0


class MediaPipe:
    """Sends a call's remote video tiles and mixed audio to the page through ``send``.

    ``clock`` (monotonic seconds) paces the frames and times ``audio_hold``; ``window`` and
    ``min_interval`` go to :class:`~.flow.FlowControl`; ``quality`` is the JPEG quality
    (1..100). The sender thread starts at once; :meth:`close` stops it.

    The window stays 2: with 3 in flight a page that decodes 200 KB tiles drew fewer frames
    (16-17 fps against 20-22) at a higher p95 latency, and a page that keeps up gained
    nothing (both 27-30 fps), since a third message only waits behind the other two.
    """

    def __init__(
        self,
        send: Send,
        *,
        clock: Callable[[], float] = time.monotonic,
        window: int = 2,
        min_interval: float = 1 / 60,
        quality: int = 80,
        audio_hold: float = AUDIO_HOLD,
    ) -> None:
        if not 1 <= quality <= 100:
            raise InputError(f"quality must be in 1..100, not {quality}")
        if audio_hold < 0:
            raise InputError(f"audio_hold must be at least 0 seconds, not {audio_hold}")
        self._send = send
        self._clock = clock
        self._quality = quality
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._flow = FlowControl(window=window, min_interval=min_interval)
        self._latest: dict[str, _Latest] = {}
        self._sizes: dict[str, tuple[int, int]] = {}
        self._page_visible = False
        self._stats = PipeStats()
        self._audio_enabled = False
        self._audio_in: collections.deque[tuple[str, av.AudioFrame]] = collections.deque(
            maxlen=_AUDIO_BACKLOG
        )
        self._mixer = AudioMixer(max_samples=3 * CHUNK_SAMPLES)
        self._volumes: dict[str, float] = {}
        self._audio_hold = audio_hold
        self._audio_ready: list[bytes] = []
        self._audio_ready_since = 0.0
        self._frames_seq = 0
        self._audio_seq = 0
        self._failures = _Failures()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="streamcall-frames", daemon=True)
        self._thread.start()

    # ---- called from the engine, the widget and the kernel

    def video_frame(self, key: str, frame: av.VideoFrame) -> None:
        """Tile ``key`` has a new frame; it replaces any of that tile not sent yet."""
        if self._closed:
            return
        latest = _Latest(frame, time.time() * 1000)
        with self._lock:
            self._latest[key] = latest
        self._wake.set()

    def audio_frame(self, key: str, frame: av.AudioFrame) -> None:
        """Source ``key`` has new audio; kept only while audio is enabled."""
        if self._audio_enabled:
            self._audio_in.append((key, frame))
            self._wake.set()

    def set_volumes(self, volumes: dict[str, float]) -> None:
        """Each source's volume in the mix (0.0..1.0 by tile key; absent: 1.0)."""
        if volumes != self._volumes:
            self._volumes = dict(volumes)
            self._mixer.set_volumes(self._volumes)

    @property
    def audio_enabled(self) -> bool:
        """Whether audio is sent (the widget's ``audio_output``); starts false."""
        return self._audio_enabled

    @audio_enabled.setter
    def audio_enabled(self, enabled: bool) -> None:
        # The widget sets this on every refresh (10 Hz): only a change may drop queued audio.
        if enabled == self._audio_enabled:
            return
        if enabled:
            self._mixer = AudioMixer(max_samples=3 * CHUNK_SAMPLES)
            self._mixer.set_volumes(self._volumes)
        self._audio_enabled = enabled
        self._audio_in.clear()
        self._audio_ready = []
        self._wake.set()

    def receive(self, content: dict[str, Any]) -> bool:
        """Handle a page message: True if it was a media one (malformed ones are ignored)."""
        try:
            message = parse_page_message(content)
        except InputError as error:
            _log.debug("media pipe: ignored a page message: %s", error)
            return True
        if message is None:
            return False
        with self._lock:
            if isinstance(message, Ack):
                self._flow.acked(message.seq, self._clock())
            else:
                self._flow.set_visible(message.visible)
                self._page_visible = message.visible
                self._sizes = message.tiles
        self._wake.set()
        return True

    def shown_size(self, key: str) -> tuple[int, int] | None:
        """The size a view shows tile ``key`` at now (device pixels), None if no view shows
        it, by the page's last viewport report (the page link sends only those too)."""
        with self._lock:
            return self._sizes[key] if self._page_visible and self._shown(key) else None

    def forget(self, key: str) -> None:
        """Tile and audio source ``key`` are gone (the participant left)."""
        with self._lock:
            self._latest.pop(key, None)
        self._mixer.forget(key)

    def kernel_busy(self, busy: bool) -> None:
        """A notebook cell started (True) or ended (False): acks wait until it ends."""
        with self._lock:
            self._flow.kernel_busy(busy, self._clock())
        self._wake.set()

    @property
    def stats(self) -> PipeStats:
        """A copy of the counters."""
        with self._lock:
            return dataclasses.replace(self._stats)

    def close(self) -> None:
        """Stop the sender thread and wait for it; further frames are ignored."""
        self._closed = True
        self._wake.set()
        with self._lock:
            self._latest.clear()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    # ---- the sender thread

    def _run(self) -> None:
        wait: float | None = None
        while True:
            self._wake.wait(wait)
            self._wake.clear()
            if self._closed:
                return
            self._mix_audio()
            video_wait = self._pump_video()  # first: ready audio may ride in its message
            wait = _sooner(video_wait, self._pump_audio())

    def _mix_audio(self) -> None:
        """Mix what arrived; full chunks wait in ``_audio_ready`` for a message."""
        mixer = self._mixer
        while self._audio_in:
            key, frame = self._audio_in.popleft()
            try:
                mixer.push(key, frame)
            except Exception:
                self._failures.failed(f"resampling audio of {key!r}")
        while self._audio_enabled and (chunk := mixer.pop(CHUNK_SAMPLES)) is not None:
            if not self._audio_ready:
                self._audio_ready_since = self._clock()
            self._audio_ready.append(chunk)

    def _pump_audio(self) -> float | None:
        """Send the ready audio alone once it has waited ``audio_hold``; seconds to wait."""
        if not self._audio_ready:
            return None
        waited = self._clock() - self._audio_ready_since
        if waited < self._audio_hold:
            return self._audio_hold - waited
        audio, pcm = self._take_audio()
        if self._deliver({"kind": "audio", **audio}, [pcm]):
            self._count(audio_messages=1, **self._audio_sent(pcm))
        return None

    def _take_audio(self) -> tuple[dict[str, Any], bytes]:
        """The ready chunks as one PCM buffer, and its description for the page."""
        chunks, self._audio_ready = self._audio_ready, []
        self._audio_seq += 1
        return {"seq": self._audio_seq, "rate": RATE, "channels": 1}, b"".join(chunks)

    @staticmethod
    def _audio_sent(pcm: bytes) -> dict[str, int]:
        """The counters a delivered PCM buffer adds to."""
        return {"audio_chunks": len(pcm) // (2 * CHUNK_SAMPLES), "bytes": len(pcm)}

    def _pump_video(self) -> float | None:
        """Send one frames message if allowed; seconds to wait before trying again."""
        with self._lock:
            if not any(self._shown(key) for key in self._latest):
                return None
            ready = self._flow.ready_in(self._clock())
            if ready != 0.0:
                return ready
            batch = {key: self._latest.pop(key) for key in list(self._latest) if self._shown(key)}
            sizes = {key: self._sizes[key] for key in batch}
        tiles, buffers = self._encode(batch, sizes)
        if tiles:
            self._frames_seq += 1
            content: dict[str, Any] = {"kind": "frames", "seq": self._frames_seq, "tiles": tiles}
            pcm = b""
            if self._audio_ready:
                content["audio"], pcm = self._take_audio()
            if self._deliver(content, [*buffers, pcm] if pcm else buffers):
                with self._lock:
                    self._flow.sent(self._frames_seq, self._clock())
                self._count(frames=len(tiles), bytes=sum(map(len, buffers)))
                if pcm:
                    self._count(**self._audio_sent(pcm))
        return 0.0

    def _shown(self, key: str) -> bool:
        size = self._sizes.get(key)
        return size is not None and min(size) > 0

    def _encode(
        self, batch: dict[str, _Latest], sizes: dict[str, tuple[int, int]]
    ) -> tuple[list[dict[str, Any]], list[bytes]]:
        """The tiles' descriptions and JPEGs, in the same order; failed tiles are left out."""
        tiles: list[dict[str, Any]] = []
        buffers: list[bytes] = []
        start = time.thread_time()
        for key, latest in batch.items():
            try:
                tile = encode_tile(latest.frame, sizes[key], self._quality)
            except Exception:
                self._failures.failed(f"encoding tile {key!r}")
                continue
            tiles.append(
                {
                    "key": key,
                    "width": tile.width,
                    "height": tile.height,
                    "mime": MIME,
                    "ts": latest.ts,
                }
            )
            buffers.append(tile.data)
        self._count(encode_cpu_seconds=time.thread_time() - start)
        return tiles, buffers

    def _deliver(self, content: dict[str, Any], buffers: list[bytes]) -> bool:
        """Send one message; False (logged once per burst of failures) if ``send`` raised."""
        try:
            self._send(content, buffers)
        except Exception:
            self._failures.failed(f"sending a {content['kind']} message")
            return False
        self._failures.succeeded()
        self._count(messages=1)
        return True

    def _count(self, **amounts: float) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self._stats, name, getattr(self._stats, name) + amount)


def _sooner(first: float | None, second: float | None) -> float | None:
    """The shorter of two waits, where None means no deadline."""
    if first is None:
        return second
    return first if second is None else min(first, second)
