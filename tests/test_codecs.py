"""FastH264Encoder encodes real, decodable H264 with x264's ultrafast preset; the process-wide
hook swaps aiortc's encoder factory and back; prefer_codec makes two real peer connections
negotiate H264."""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import Callable, Iterator

import av
import numpy as np
import pytest
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecParameters,
    VideoStreamTrack,
    rtcrtpsender,
)
from aiortc.codecs import get_encoder
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Decoder, H264Encoder, h264_depayload
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import SessionDescription

from streamcall_widget.engine.codecs import (
    FastH264Encoder,
    install_fast_h264,
    prefer_codec,
    uninstall_fast_h264,
)
from streamcall_widget.errors import InputError

H264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)


def senders_get_encoder() -> Callable[[RTCRtpCodecParameters], Encoder]:
    """What aiortc's senders call for an encoder (a name aiortc does not export)."""
    factory: Callable[[RTCRtpCodecParameters], Encoder] = vars(rtcrtpsender)["get_encoder"]
    return factory


@pytest.fixture
def hook_removed() -> Iterator[None]:
    """The test starts without the process-wide hook, which is then put back as it was
    (any StreamCall created earlier in this process installed it)."""
    was_installed = senders_get_encoder() is not get_encoder
    uninstall_fast_h264()
    try:
        yield
    finally:
        (install_fast_h264 if was_installed else uninstall_fast_h264)()


def frame(index: int, width: int = 320, height: int = 240) -> av.VideoFrame:
    """A moving gradient, so the encoder has motion to code."""
    ramp = (np.arange(width)[None, :] + np.arange(height)[:, None] + 8 * index) % 256
    image = np.repeat(ramp.astype(np.uint8)[:, :, None], 3, axis=2)
    out = av.VideoFrame.from_ndarray(image, format="rgb24")
    out.pts = index * 3000
    out.time_base = fractions.Fraction(1, 90000)
    return out


def encode(encoder: H264Encoder, frames: range, **size: int) -> list[bytes]:
    """The RTP payloads of each frame, as aiortc's sender would send them."""
    return [b"".join(encoder.encode(frame(i, **size))[0]) for i in frames]


def sei_options(payload: bytes) -> bytes:
    """The option string x264 writes into the first keyframe: what it really encoded with."""
    start = payload.index(b"options: ")
    return payload[start : payload.index(b"\x00", start)]


def test_fast_encoder_output_decodes_to_the_same_size() -> None:
    encoder = FastH264Encoder()
    decoder = H264Decoder()
    decoded: list[av.VideoFrame] = []
    for i in range(10):
        payloads, timestamp = encoder.encode(frame(i))
        data = b"".join(h264_depayload(p) for p in payloads)
        decoded += decoder.decode(JitterFrame(data=data, timestamp=timestamp))  # type: ignore[arg-type]
    assert len(decoded) >= 8
    assert {(f.width, f.height) for f in decoded} == {(320, 240)}


def test_fast_encoder_runs_x264_ultrafast_unlike_aiortc_default() -> None:
    fast = sei_options(encode(FastH264Encoder(), range(1))[0])
    default = sei_options(encode(H264Encoder(), range(1))[0])
    # ultrafast: diamond motion search, no subpixel refinement, one reference frame.
    assert b" me=dia subme=0 " in fast
    assert b" ref=1 " in fast
    assert b" subme=7 " in default  # the default preset (medium)


def test_fast_encoder_reopens_ultrafast_on_new_size_and_bitrate() -> None:
    encoder = FastH264Encoder()
    encode(encoder, range(2))
    first = encoder.codec
    resized = encode(encoder, range(2, 3), width=160, height=120)
    assert encoder.codec is not first
    assert encoder.codec is not None
    assert (encoder.codec.width, encoder.codec.height) == (160, 120)
    assert b" subme=0 " in sei_options(resized[0])

    resized_codec = encoder.codec
    encoder.target_bitrate = 2_000_000
    rerated = encode(encoder, range(3, 4), width=160, height=120)
    assert encoder.codec is not resized_codec
    assert encoder.codec.bit_rate == 2_000_000
    assert b" subme=0 " in sei_options(rerated[0])

    kept = encoder.codec
    encoder.target_bitrate = 2_100_000  # within aiortc's 10% tolerance: codec kept
    encode(encoder, range(4, 5), width=160, height=120)
    assert encoder.codec is kept


def test_install_swaps_the_senders_encoder_factory_and_uninstall_restores_it(
    hook_removed: None,
) -> None:
    assert senders_get_encoder() is get_encoder
    install_fast_h264()
    install_fast_h264()  # idempotent
    assert isinstance(senders_get_encoder()(H264), FastH264Encoder)
    assert isinstance(senders_get_encoder()(VP8), Vp8Encoder)
    uninstall_fast_h264()
    uninstall_fast_h264()
    assert senders_get_encoder() is get_encoder
    assert type(senders_get_encoder()(H264)) is H264Encoder


@pytest.mark.parametrize("mime_type", ["video/AV1", "audio/opus", "H264"])
async def test_prefer_codec_rejects_other_mime_types(mime_type: str) -> None:
    pc = RTCPeerConnection()  # aiortc needs a running loop for it
    try:
        with pytest.raises(InputError, match=r"video/VP8.*video/H264"):
            prefer_codec(pc.addTransceiver("video"), mime_type)
    finally:
        await pc.close()


async def test_prefer_codec_needs_a_video_transceiver() -> None:
    pc = RTCPeerConnection()
    try:
        with pytest.raises(InputError, match="audio"):
            prefer_codec(pc.addTransceiver("audio"), "video/VP8")
    finally:
        await pc.close()


def first_video_codec(sdp: str) -> str:
    media = next(m for m in SessionDescription.parse(sdp).media if m.kind == "video")
    return str(media.rtp.codecs[0].mimeType)


async def test_two_peer_connections_negotiate_h264_and_deliver_frames(
    hook_removed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fast_h264()
    opened: list[tuple[int, int]] = []
    open_codec = FastH264Encoder._open_codec

    def spy(self: FastH264Encoder, width: int, height: int) -> av.VideoCodecContext:
        opened.append((width, height))
        return open_codec(self, width, height)

    monkeypatch.setattr(FastH264Encoder, "_open_codec", spy)
    config = RTCConfiguration(iceServers=[])
    caller, callee = RTCPeerConnection(config), RTCPeerConnection(config)
    received: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
    callee.on("track", received.set_result)
    try:
        transceiver = caller.addTransceiver(VideoStreamTrack(), direction="sendonly")
        prefer_codec(transceiver, "video/H264")
        await caller.setLocalDescription(await caller.createOffer())
        assert first_video_codec(caller.localDescription.sdp) == "video/H264"
        await callee.setRemoteDescription(caller.localDescription)
        await callee.setLocalDescription(await callee.createAnswer())
        answer = callee.localDescription
        await caller.setRemoteDescription(answer)
        assert first_video_codec(answer.sdp) == "video/H264"

        track = await asyncio.wait_for(received, 5)
        frames = [await asyncio.wait_for(track.recv(), 5) for _ in range(3)]
        assert all(isinstance(f, av.VideoFrame) for f in frames)
        assert {(f.width, f.height) for f in frames} == {(640, 480)}  # type: ignore[union-attr]
        assert opened == [(640, 480)]  # the sender encoded with FastH264Encoder
    finally:
        await caller.close()
        await callee.close()
