"""The kernel end of the comm-pipe uplink (render/uplink.py) with real PyAV codecs.

Frames of lavfi's testsrc are encoded the way the page does (VP8 with libvpx, JPEG with
libjpeg-turbo), fed to :class:`PipeUplink` as ``up_video`` messages, and the decoded frames
compared with the originals; PCM chunks must come back as the same samples.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
import simplejpeg
from av.video.frame import PictureType

from streamcall_widget.errors import InputError, PayloadTooBig
from streamcall_widget.render.uplink import (
    AUDIO_RATES,
    MAX_VIDEO_BYTES,
    PipeUplink,
    parse_uplink_message,
)

WIDTH, HEIGHT = 320, 240
T0 = 1_800_000_000_000.0
"""A capture time (ms since the epoch) the messages count from."""


class Kernel:
    """A PipeUplink with its sent messages and decoded frames recorded."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.frames: list[tuple[str, av.VideoFrame | av.AudioFrame]] = []
        self.changed = threading.Condition()
        self.uplink = PipeUplink(self._send, self._on_frame)

    def _send(self, content: dict[str, Any], buffers: list[bytes]) -> None:
        assert buffers == []
        with self.changed:
            self.sent.append(content)
            self.changed.notify_all()

    def _on_frame(self, role: str, frame: av.VideoFrame | av.AudioFrame) -> None:
        with self.changed:
            self.frames.append((role, frame))
            self.changed.notify_all()

    def wait_acked(self, role: str, seq: int) -> None:
        """Wait (bounded) until the uplink acknowledged video message ``seq`` of ``role``."""
        with self.changed:
            assert self.changed.wait_for(lambda: self.acked(role) >= seq, timeout=20)

    def wait_frames(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.frames) >= count, timeout=20)

    def acked(self, role: str) -> int:
        seqs = [m["seq"] for m in self.sent if m["kind"] == "up_ack" and m["role"] == role]
        return max(seqs, default=0)


@pytest.fixture
def kernel() -> Iterator[Kernel]:
    kernel = Kernel()
    yield kernel
    kernel.uplink.close()


def source_frames(count: int) -> list[av.VideoFrame]:
    """``count`` frames of lavfi's testsrc (moving, colourful, sharp edges) as yuv420p."""
    frames: list[av.VideoFrame] = []
    with av.open(f"testsrc=size={WIDTH}x{HEIGHT}:rate=30", format="lavfi") as source:
        for decoded in source.decode(video=0):
            frame = decoded.reformat(format="yuv420p")
            frame.pict_type = PictureType.NONE  # lavfi marks each frame I: no forced keys
            frames.append(frame)
            if len(frames) == count:
                break
    return frames


def vp8(frames: list[av.VideoFrame]) -> list[tuple[bytes, bool]]:
    """The frames encoded with libvpx (one packet each): (data, key frame)."""
    encoder = av.CodecContext.create("libvpx", "w")
    assert isinstance(encoder, av.VideoCodecContext)
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    encoder.time_base = Fraction(1, 30)
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    encoder.bit_rate = 2_000_000
    packets: list[tuple[bytes, bool]] = []
    for index, frame in enumerate(frames):
        frame.pts = index
        packets += [(bytes(p), p.is_keyframe) for p in encoder.encode(frame)]
    assert len(packets) == len(frames)
    return packets


def rgb(frame: av.VideoFrame) -> npt.NDArray[np.int16]:
    return frame.to_ndarray(format="rgb24").astype(np.int16)


def video(seq: int, codec: str = "vp8", *, key: bool = False, **fields: Any) -> dict[str, Any]:
    content = {
        "kind": "up_video",
        "role": "camera",
        "seq": seq,
        "ts": T0 + seq * 33.3,
        "width": WIDTH,
        "height": HEIGHT,
        "codec": codec,
        "key": key,
    }
    return {**content, **fields}


def test_vp8_frames_decode_to_the_pictures_sent_with_pts_and_acks(kernel: Kernel) -> None:
    """VP8 from libvpx: every frame decodes close to its source, yuv420p, pts increase on a
    90 kHz clock from the capture times, and each message is acked with its seq."""
    sources = source_frames(12)
    for seq, (data, key) in enumerate(vp8(sources), start=1):
        assert kernel.uplink.receive(video(seq, key=key), [data])
        kernel.wait_acked("camera", seq)  # as the page: a window of 2 is never exceeded
    kernel.wait_frames(12)
    acks = [m for m in kernel.sent if m["kind"] == "up_ack"]
    assert [m["seq"] for m in acks] == list(range(1, 13))
    assert all(m["role"] == "camera" for m in acks)
    pts = []
    for (role, frame), source in zip(kernel.frames, sources, strict=True):
        assert role == "camera"
        assert isinstance(frame, av.VideoFrame)
        assert (frame.width, frame.height, frame.format.name) == (WIDTH, HEIGHT, "yuv420p")
        assert frame.time_base == Fraction(1, 90000)
        assert np.abs(rgb(frame) - rgb(source)).mean() < 8
        assert frame.pts is not None
        pts.append(frame.pts)
    assert pts == sorted(set(pts))
    assert pts[1] - pts[0] == round(33.3 * 90)
    stats = kernel.uplink.stats
    assert stats.frames == {"camera": 12}
    assert stats.decoded == {"camera": 12}
    assert stats.decode_errors == stats.keyframe_requests == 0
    assert "camera" in stats.latency_ms


def test_jpeg_frames_decode_to_yuv420p(kernel: Kernel) -> None:
    """JPEGs (full-range, as a canvas encodes them) come back as yuv420p of the same
    picture; a JPEG needs no key frame before it."""
    sources = source_frames(3)
    for seq, source in enumerate(sources, start=1):
        data = simplejpeg.encode_jpeg(source.to_ndarray(format="rgb24"), quality=80)
        kernel.uplink.receive(video(seq, "jpeg", role="screen"), [data])
    kernel.wait_acked("screen", 3)
    kernel.wait_frames(1)  # JPEGs replace each other while waiting: latest wins
    role, frame = kernel.frames[-1]
    assert role == "screen"
    assert isinstance(frame, av.VideoFrame)
    assert frame.format.name == "yuv420p"
    assert np.abs(rgb(frame) - rgb(sources[-1])).mean() < 8
    assert kernel.uplink.stats.keyframe_requests == 0


def test_a_missing_delta_asks_for_a_key_frame_and_decoding_resumes_on_it(
    kernel: Kernel,
) -> None:
    """Delta 3 never arrives: delta 4 is dropped (acked, not decoded) with an up_keyframe
    request; the next key frame decodes again."""
    sources = source_frames(6)
    packets = vp8(sources[:4])
    for seq in (1, 2, 4):
        data, key = packets[seq - 1]
        kernel.uplink.receive(video(seq, key=key), [data])
        kernel.wait_acked("camera", seq)
    assert {"kind": "up_keyframe", "role": "camera"} in kernel.sent
    assert len(kernel.frames) == 2
    key_frames = vp8(sources[4:])  # a fresh encoder starts with a key frame
    assert key_frames[0][1]
    kernel.uplink.receive(video(5, key=True), [key_frames[0][0]])
    kernel.uplink.receive(video(6), [key_frames[1][0]])
    kernel.wait_acked("camera", 6)
    kernel.wait_frames(4)
    frame = kernel.frames[-1][1]
    assert isinstance(frame, av.VideoFrame)
    assert np.abs(rgb(frame) - rgb(sources[5])).mean() < 8
    stats = kernel.uplink.stats
    assert stats.keyframe_requests == 1
    assert stats.dropped == 1


def test_a_corrupt_frame_counts_an_error_and_asks_for_a_key_frame(kernel: Kernel) -> None:
    """A VP8 key frame that libvpx cannot parse: a decode error and an up_keyframe."""
    kernel.uplink.receive(video(1, key=True), [b"\x00" * 64])
    kernel.wait_acked("camera", 1)
    stats = kernel.uplink.stats
    assert stats.decode_errors == 1
    assert {"kind": "up_keyframe", "role": "camera"} in kernel.sent


def test_audio_chunks_become_s16_frames_with_the_same_samples(kernel: Kernel) -> None:
    """20 ms stereo chunks at 48 kHz come back as s16 AudioFrames of the same samples,
    time_base 1/rate, pts counting samples from the first chunk's capture time."""
    tone = (np.sin(np.arange(1920) * 2 * np.pi * 440 / 48000) * 12000).astype("<i2")
    stereo = np.stack([tone, -tone], axis=1)  # 960 frames x 2 channels, interleaved
    for seq, ts in ((1, T0), (2, T0 + 20)):
        half = stereo[(seq - 1) * 960 : seq * 960]
        content = {"kind": "up_audio", "role": "microphone", "seq": seq, "ts": ts}
        kernel.uplink.receive({**content, "rate": 48000, "channels": 2}, [half.tobytes()])
    kernel.wait_frames(2)
    pts = []
    for (role, frame), seq in zip(kernel.frames, (1, 2), strict=True):
        assert role == "microphone"
        assert isinstance(frame, av.AudioFrame)
        assert (frame.format.name, frame.layout.name, frame.sample_rate) == ("s16", "stereo", 48000)
        assert frame.time_base == Fraction(1, 48000)
        assert frame.samples == 960
        samples = frame.to_ndarray().reshape(-1, 2)
        assert np.array_equal(samples, stereo[(seq - 1) * 960 : seq * 960])
        pts.append(frame.pts)
    assert pts == [0, 960]
    assert not any(m["kind"] == "up_ack" for m in kernel.sent)  # audio is not acked


def test_other_kinds_are_not_consumed(kernel: Kernel) -> None:
    assert not kernel.uplink.receive({"kind": "ack", "seq": 1}, [])
    assert parse_uplink_message("not a dict", []) is None


@pytest.mark.parametrize(
    ("fields", "allowed"),
    [
        ({"role": "speaker"}, "camera, microphone, screen"),
        ({"codec": "h264"}, "vp8, jpeg"),
        ({"width": 4098}, "2..4096"),
        ({"height": 0}, "2..4096"),
        ({"seq": 1.5}, "integer"),
        ({"seq": "3"}, "integer"),
        ({"key": 1}, "true or false"),
        ({"ts": "now"}, "ms since the epoch"),
    ],
)
def test_bad_video_fields_name_what_is_allowed(
    kernel: Kernel, fields: dict[str, Any], allowed: str
) -> None:
    with pytest.raises(InputError, match=allowed):
        kernel.uplink.receive({**video(1), **fields}, [b"x"])


@pytest.mark.parametrize(
    ("fields", "allowed"),
    [
        ({"rate": 22050}, str(AUDIO_RATES).replace("(", r"\(").replace(")", r"\)")),
        ({"channels": 3}, "1 or 2"),
        ({"channels": True}, "1 or 2"),
    ],
)
def test_bad_audio_fields_name_what_is_allowed(
    kernel: Kernel, fields: dict[str, Any], allowed: str
) -> None:
    content = {"kind": "up_audio", "role": "microphone", "seq": 1, "ts": T0}
    with pytest.raises(InputError, match=allowed):
        kernel.uplink.receive({**content, "rate": 48000, "channels": 1, **fields}, [b"\0\0"])


def test_buffers_must_be_one_and_within_the_limit(kernel: Kernel) -> None:
    with pytest.raises(InputError, match="exactly one binary buffer"):
        kernel.uplink.receive(video(1), [])
    with pytest.raises(InputError, match="empty"):
        kernel.uplink.receive(video(1), [b""])
    with pytest.raises(PayloadTooBig, match=f"at most {MAX_VIDEO_BYTES}"):
        kernel.uplink.receive(video(1), [bytes(MAX_VIDEO_BYTES + 1)])
    odd = {"kind": "up_audio", "role": "microphone", "seq": 1, "ts": T0, "rate": 48000}
    with pytest.raises(InputError, match="whole s16 samples"):
        kernel.uplink.receive({**odd, "channels": 2}, [b"\0\0"])
    assert kernel.uplink.stats.frames == {}
