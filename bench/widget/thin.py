"""The thinnest anywidget JPEG pipe: the floor any comm pipe can reach, for comparison.

:class:`ThinPipe` takes one remote video track's frames from a client's frame tap, encodes
the newest as a 640x480 JPEG (PyAV's ``mjpeg``) on a thread of its own while fewer than 2
messages await the page's ack, and sends it with the kernel's arrival time ``ts``. Its page
module decodes with ``createImageBitmap``, paints the newest picture on the next animation
frame, acks, and reports the paint to the bench's draw hook as CallView's canvas path does
(key ``thin``). No tiling, no sizes, no audio, no pacing while a cell runs.
"""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from typing import Any

import anywidget
import av
from av.video.reformatter import VideoReformatter

from streamcall_widget import StreamCall
from streamcall_widget.engine.taps import LOCAL

__all__ = ["ThinPipe"]

_ESM = """
export default { render({ model, el }) {
  const canvas = document.createElement("canvas");
  canvas.width = 640; canvas.height = 480; canvas.className = "bench-thin";
  el.appendChild(canvas);
  const context = canvas.getContext("2d");
  let newest = null, raf = 0;
  const paint = () => {
    raf = 0;
    const { bitmap, ts } = newest; newest = null;
    context.drawImage(bitmap, 0, 0);
    bitmap.close();
    const hook = window.__streamcall_on_draw;
    const drawnAt = performance.timeOrigin + performance.now();
    if (hook) hook({ key: "thin", ts, canvas, drawnAt });
  };
  model.on("msg:custom", async (content, buffers) => {
    const bitmap = await createImageBitmap(new Blob([buffers[0]], { type: "image/jpeg" }));
    if (newest) newest.bitmap.close();
    newest = { bitmap, ts: content.ts };
    model.send({ ack: content.seq });
    if (!raf) raf = requestAnimationFrame(paint);
  });
} };
"""

_IN_FLIGHT = 2
_WIDTH, _HEIGHT = 640, 480


class ThinPipe(anywidget.AnyWidget):
    """Send ``client``'s remote video to the page as JPEGs, at most 2 unacknowledged."""

    _esm = _ESM

    def __init__(self, client: StreamCall) -> None:
        super().__init__()
        self._ready = threading.Condition()
        self._frame: tuple[float, av.VideoFrame] | None = None
        self._in_flight = 0
        self._seq = 0
        self._closed = False
        self.frames = 0
        self.encode_cpu = 0.0
        self._codec = av.CodecContext.create("mjpeg", "w")
        self._codec.width, self._codec.height = _WIDTH, _HEIGHT
        self._codec.pix_fmt = "yuvj420p"
        self._codec.time_base = Fraction(1, 30)
        self._codec.options = {"qscale": "4"}
        self._reformatter = VideoReformatter()
        """Its own: ``frame.reformat()`` keeps a scaler on the frame, which other threads
        handed the same frame may use at the same time."""
        self.on_msg(self._on_ack)
        self._tap = client.watch_media(self._on_frame)
        threading.Thread(target=self._send_loop, name="thin-pipe", daemon=True).start()

    def _on_frame(self, key: str, kind: str, frame: Any) -> None:
        if kind == "video" and key != LOCAL:
            with self._ready:
                self._frame = (time.time() * 1000, frame)
                self._ready.notify()

    def _on_ack(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        with self._ready:
            self._in_flight = max(0, self._in_flight - 1)
            self._ready.notify()

    def _send_loop(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(
                    lambda: self._closed or (self._frame and self._in_flight < _IN_FLIGHT)
                )
                if self._closed or self._frame is None:
                    return
                (ts, frame), self._frame = self._frame, None
                self._in_flight += 1
                self._seq += 1
                seq = self._seq
            start = time.thread_time()
            image = self._reformatter.reformat(frame, _WIDTH, _HEIGHT, format="yuvj420p")
            data = b"".join(bytes(p) for p in self._codec.encode(image))
            self.encode_cpu += time.thread_time() - start
            self.frames += 1
            self.send({"seq": seq, "ts": ts}, buffers=[data])

    def close(self) -> None:
        """Stop taking frames and sending."""
        self._tap.remove()
        with self._ready:
            self._closed = True
            self._ready.notify()
        super().close()
