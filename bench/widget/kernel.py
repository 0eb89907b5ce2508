"""The kernel side of the CallView benchmark: the call, the frame ids and the counters.

The bench's notebook imports this module in its kernel. :meth:`Session.start` logs two
``StreamCall`` clients in on an embedded coordinator of their own, makes bob stamp a frame
counter (mod 65536, :func:`~streamcall_widget.engine.stamp.stamp_id`) into every frame he
sends, calls bob from alice without ringing and creates alice's ``CallView``. Alice's frame
tap reads each remote frame's stamp from its luma plane alone (a 320x16 corner, no RGB
conversion of the frame, so the tap stays cheap: it runs in every phase, baseline
included) and keeps when the kernel got each id, so the bench can prove the page drew the
frame whose ``ts`` it reports. :meth:`Session.snapshot` prints the counters as one JSON line
for ``kernel_execute``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import tempfile
import threading
import time
from collections import Counter
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from bench.media.tally import WIDTH, cpu_by_thread
from streamcall_widget import StreamCall
from streamcall_widget.engine.devices import SYNTHETIC_CAMERA, SYNTHETIC_MICROPHONE
from streamcall_widget.engine.page_devices import PAGE_PREFIX
from streamcall_widget.engine.stamp import STAMP_HEIGHT, STAMP_WIDTH, read_stamp, stamp_id
from streamcall_widget.engine.taps import LOCAL
from streamcall_widget.widgets import CallView

from .thin import ThinPipe

__all__ = ["Session", "pin_process"]

_TIMEOUT = 10.0
_IDS = 0x10000


def pin_process(cpu: int) -> None:
    """Pin every thread of this process (and so the threads they start) to ``cpu``.

    ``os.sched_setaffinity(0, ...)`` would move the calling thread only; the engine's
    threads already run, so each task of ``/proc/self/task`` is moved."""
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), {cpu})
        except (ProcessLookupError, PermissionError):  # the thread ended meanwhile
            continue


class Session:
    """Alice and bob in a call, alice's ``view``, and what alice's kernel received."""

    def __init__(self) -> None:
        self._runtime = tempfile.TemporaryDirectory(prefix="bench-widget-")
        # Synthetic devices, named: a page's microphone would otherwise be alice's, and its
        # uplink would share the page and the widget channel with the downlink measured.
        self.alice, self.bob = (
            StreamCall(
                runtime_dir=self._runtime.name,
                camera=SYNTHETIC_CAMERA.id,
                microphone=SYNTHETIC_MICROPHONE.id,
            )
            for _ in range(2)
        )
        self._next_id = itertools.count()
        self._lock = threading.Lock()
        self.received = 0
        """Remote video frames alice's kernel got."""
        self.unstamped = 0
        """Of those, frames whose corner held no readable stamp."""
        self.arrivals: dict[int, float] = {}
        """Stamp id: when alice's kernel got that frame (ms since the epoch)."""
        self.tile_sizes: Counter[str] = Counter()
        """JPEG tiles sent to the page, by ``WIDTHxHEIGHT`` from the frames messages."""
        self.sent: list[tuple[float, float]] = []
        """``(ts, when)`` of every tile handed to the comm, ms since the epoch."""
        self.uplink: list[tuple[float, float]] = []
        """``(when, latency)`` of every page-camera frame bob's hook read a clock from, ms."""
        self.uplink_unread = 0
        """Page-camera frames bob's hook got with no readable clock stamp."""
        self.view: CallView | None = None
        self.bob_view: CallView | None = None
        self.thin: ThinPipe | None = None

    def start(self, tile_layout: str = "grid") -> CallView:
        """Log in, stamp bob's frames, call bob (no ring), bob joins; alice's view."""
        self.alice.login("alice", name="Alice").result(_TIMEOUT)
        self.bob.login("bob", name="Bob").result(_TIMEOUT)
        self.bob.set_video_processor(self._stamp).result(_TIMEOUT)
        self.alice.watch_media(self._on_frame)
        call = self.alice.call(["bob"], ring=False).result(_TIMEOUT)
        self.bob.join_call(call.id).result(_TIMEOUT)
        self.view = CallView(self.alice, tile_layout=tile_layout, media_path="pipe")
        self._count_tiles(self.view)
        return self.view

    def quickstart(self) -> tuple[CallView, CallView]:
        """Alice's view and a new one of bob's, for the quickstart windows.

        Bob's frames are no longer stamped from here on: a video processor's frames are
        rgb24, and a view of bob's on the page link encodes his self-preview in a second
        VP8 encoder thread; both encoders then convert the same frame object with the
        scaler PyAV keeps on it, which crashes libswscale (the bench's report says so).
        Bob's view exists only from now on for the same reason: every CallView model in
        the page opens its link, shown or not."""
        assert self.view is not None
        self.bob.set_video_processor(None).result(_TIMEOUT)
        self.bob_view = CallView(self.bob, tile_layout="grid", media_path=self.view.media_path)
        return self.view, self.bob_view

    def set_path(self, path: str) -> None:
        """Force the views' media path (``webrtc`` or ``pipe``)."""
        for view in (self.view, self.bob_view):
            if view is not None:
                view.media_path = path

    def thin_pipe(self) -> ThinPipe:
        """A new thinnest pipe of alice's remote video (the previous one closed)."""
        if self.thin is not None:
            self.thin.close()
        self.thin = ThinPipe(self.alice)
        return self.thin

    def use_page_camera(self) -> None:
        """Alice's camera becomes the page's; bob's hook times the page's clock stamps."""
        cameras = self.alice.list_devices().result(_TIMEOUT).cameras
        page = next(d.id for d in cameras if d.id.startswith(PAGE_PREFIX))
        self.alice.switch_camera(page).result(_TIMEOUT)
        call = self.bob.current_call
        assert call is not None
        call.on_remote_video(self._on_page_camera)

    def _on_page_camera(self, _participant: Any, rgb: npt.NDArray[Any]) -> None:
        """Bob's hook: the page's wall clock stamped into the frame, now minus it."""
        at = time.time() * 1000
        top = _source_scale(rgb)
        high, low = read_stamp(top[:, :STAMP_WIDTH]), read_stamp(top[:, STAMP_WIDTH:])
        with self._lock:
            if high is None or low is None:
                self.uplink_unread += 1
                return
            stamped = high << 16 | low
            self.uplink.append((at, (int(at) - stamped) % 2**32 + at % 1))

    def _stamp(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """Bob's video processor: the next frame id into the top-left corner."""
        stamp_id(image, next(self._next_id) % _IDS)
        return image

    def _on_frame(self, key: str, kind: str, frame: Any) -> None:
        """Alice's tap (engine loop): count bob's frames, note when each id arrived."""
        if kind != "video" or key == LOCAL:
            return
        at = time.time() * 1000
        ident = read_stamp(_corner(frame))
        with self._lock:
            self.received += 1
            if ident is None:
                self.unstamped += 1
            else:
                self.arrivals[ident] = at

    def _count_tiles(self, view: CallView) -> None:
        """Count the size of every tile the view's frames messages carry, and note when
        each was sent.

        The pipe sends through the widget's comm, so wrapping that comm's ``send`` sees
        each message's content as the page gets it, without touching the pipe."""
        comm: Any = view.comm
        send = comm.send

        def counting_send(*args: Any, **kwargs: Any) -> Any:
            data = kwargs.get("data") or (args[0] if args else None)
            content = data.get("content") if isinstance(data, dict) else None
            if isinstance(content, dict) and content.get("kind") == "frames":
                at = time.time() * 1000
                sizes = [f"{t['width']}x{t['height']}" for t in content["tiles"]]
                with self._lock:
                    self.tile_sizes.update(sizes)
                    self.sent += [(t["ts"], at) for t in content["tiles"]]
            return send(*args, **kwargs)

        comm.send = counting_send

    def snapshot(self, since_ms: float | None = None) -> None:
        """Print the counters as one JSON line; with ``since_ms``, also the ids that
        arrived and the tiles sent since then."""
        assert self.view is not None
        with self._lock:
            arrivals = (
                {str(i): at for i, at in self.arrivals.items() if at >= since_ms}
                if since_ms is not None
                else {}
            )
            sent = (
                [pair for pair in self.sent if pair[1] >= since_ms] if since_ms is not None else []
            )
            state = {
                "wall_ms": time.time() * 1000,
                "cpu": time.process_time(),
                "threads": cpu_by_thread(),
                "pipe": dataclasses.asdict(self.view.pipe.stats),
                "received": self.received,
                "unstamped": self.unstamped,
                "tile_sizes": dict(self.tile_sizes),
                "arrivals": arrivals,
                "sent": sent,
                "thin": (
                    {"frames": self.thin.frames, "encode_cpu_seconds": self.thin.encode_cpu}
                    if self.thin is not None
                    else {"frames": 0, "encode_cpu_seconds": 0.0}
                ),
                "bob_received": self._bob_received(),
                "uplink": [p for p in self.uplink if since_ms is not None and p[0] >= since_ms],
                "uplink_unread": self.uplink_unread,
            }
        print(json.dumps(state))

    def _bob_received(self) -> int:
        """Video frames bob's kernel got from alice so far."""
        call = self.bob.current_call
        if call is None:
            return 0
        return sum(
            call.remote_frame_count(p.session_id) for p in call.remote_participants if p.session_id
        )

    def close(self) -> None:
        """Close the views, hang up and shut both clients down."""
        for widget in (self.view, self.bob_view, self.thin):
            if widget is not None:
                widget.close()
        self.alice.end_call().result(_TIMEOUT)
        self.bob.close()
        self.alice.close()
        self._runtime.cleanup()


def _source_scale(rgb: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The top STAMP_HEIGHT rows of the source's full width (two stamps side by side) of
    ``rgb``, brought back to the source's size by nearest neighbour: the page's encoder
    may send the picture smaller than it was drawn (it lowers the resolution under load)."""
    height, width = rgb.shape[:2]
    scale = width / WIDTH
    rows = np.minimum((np.arange(STAMP_HEIGHT) * scale).astype(int), height - 1)
    columns = np.minimum((np.arange(2 * STAMP_WIDTH) * scale).astype(int), width - 1)
    picked: npt.NDArray[Any] = rgb[rows][:, columns]
    return picked


def _corner(frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
    """The stamp's corner of ``frame`` as RGB, grey from the luma plane when the frame is
    planar YUV (black and white blocks need no chroma), else converted."""
    if frame.format.name in ("yuv420p", "yuvj420p"):
        plane = frame.planes[0]
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(-1, plane.line_size)
        luma = rows[:STAMP_HEIGHT, :STAMP_WIDTH]
        return np.repeat(luma[:, :, np.newaxis], 3, axis=2)
    rgb = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
    return rgb[:STAMP_HEIGHT, :STAMP_WIDTH]
