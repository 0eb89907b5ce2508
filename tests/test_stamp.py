"""Stamps and tones survive real codecs, and tell users apart."""

from __future__ import annotations

import fractions
from collections.abc import Callable
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
from aiortc.codecs.base import Decoder, Encoder
from aiortc.codecs.h264 import H264Decoder, H264Encoder, h264_depayload
from aiortc.codecs.opus import OpusDecoder, OpusEncoder
from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame

from streamcall_widget.engine.stamp import (
    dominant_frequency,
    read_stamp,
    stamp_id,
    user_stamp,
    user_tone,
)
from streamcall_widget.errors import InputError

USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
Image = npt.NDArray[Any]


def noisy_image(seed: int, width: int = 640, height: int = 480) -> Image:
    """Smooth gradients plus noise: hard for an encoder at a low bitrate."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, width, dtype=np.float32)[np.newaxis, :, np.newaxis]
    base = np.broadcast_to(ramp, (height, width, 3)) * 0.5
    return np.clip(base + rng.normal(64, 40, (height, width, 3)), 0, 255).astype(np.uint8)


def sine(frequency: float, seconds: float, sample_rate: int = 48000) -> npt.NDArray[np.int16]:
    """``seconds`` of a 0.3-amplitude s16 sine."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return np.rint(0.3 * 32767 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def codec_round_trip(
    encoder: Encoder, depayload: Callable[[bytes], bytes], decoder: Decoder, images: list[Image]
) -> list[Image]:
    """Encode RGB images as a sender would (RTP payloads), reassemble, decode to RGB."""
    decoded: list[Image] = []
    for index, image in enumerate(images):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = index * 3000, fractions.Fraction(1, 90000)
        payloads, timestamp = encoder.encode(frame)
        data = b"".join(depayload(payload) for payload in payloads)
        for out in decoder.decode(JitterFrame(data, timestamp)):
            assert isinstance(out, av.VideoFrame)
            decoded.append(out.to_ndarray(format="rgb24"))
    return decoded


@pytest.mark.parametrize("ident", [0, 1, 0x8000, 0xBEEF, 0xFFFF])
def test_stamp_reads_back_exactly(ident: int) -> None:
    """A stamp drawn on a noisy image reads back as the same id."""
    image = noisy_image(ident)
    stamp_id(image, ident)
    assert read_stamp(image) == ident


@pytest.mark.parametrize("fill", [0, 128, 255])
def test_no_stamp_reads_none(fill: int) -> None:
    """Flat and noisy images without a stamp read as None, not as some id."""
    assert read_stamp(np.full((480, 640, 3), fill, dtype=np.uint8)) is None
    assert read_stamp(noisy_image(fill)) is None


@pytest.mark.parametrize(
    ("encoder", "depayload", "decoder"),
    [
        (Vp8Encoder, vp8_depayload, Vp8Decoder),
        (H264Encoder, h264_depayload, H264Decoder),
    ],
)
def test_stamp_survives_codec_at_low_bitrate(
    encoder: type[Vp8Encoder | H264Encoder],
    depayload: Callable[[bytes], bytes],
    decoder: type[Decoder],
) -> None:
    """The stamp reads back from every decoded frame after aiortc's VP8/H264 at 500 kbps."""
    sender = encoder()
    sender.target_bitrate = 500_000
    images = []
    for index in range(8):
        image = noisy_image(100 + index)
        stamp_id(image, user_stamp("alice") + index)
        images.append(image)
    decoded = codec_round_trip(sender, depayload, decoder(), images)
    assert len(decoded) >= 6  # H264 may hold the last frames back
    assert [read_stamp(image) for image in decoded] == [
        user_stamp("alice") + index for index in range(len(decoded))
    ]


@pytest.mark.parametrize("frequency", [300.0, 440.0, 1234.5, 2950.0])
def test_dominant_frequency_of_a_sine(frequency: float) -> None:
    """The peak of a sine's spectrum is its frequency, between FFT bins too."""
    assert dominant_frequency(sine(frequency, 0.1), 48000) == pytest.approx(frequency, abs=2)


def test_dominant_frequency_of_silence_and_stereo() -> None:
    """Silence has no peak (0 Hz); packed stereo is averaged to mono first."""
    assert dominant_frequency(np.zeros(960, dtype=np.int16), 48000) == 0.0
    mono = sine(700, 0.1)
    stereo = np.stack([mono, mono], axis=1).reshape(1, -1)
    assert dominant_frequency(stereo, 48000, channels=2) == pytest.approx(700, abs=2)


def test_tone_survives_opus() -> None:
    """A user's tone is still the loudest frequency after aiortc's Opus encoder and decoder."""
    tone = user_tone("carol")
    samples, encoder, decoder = sine(tone, 0.5), OpusEncoder(), OpusDecoder()
    decoded = []
    for start in range(0, samples.size, 960):
        frame = av.AudioFrame.from_ndarray(
            samples[start : start + 960].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts = 48000, start
        frame.time_base = fractions.Fraction(1, 48000)
        payloads, timestamp = encoder.encode(frame)
        for payload in payloads:
            for out in decoder.decode(JitterFrame(payload, timestamp)):
                assert isinstance(out, av.AudioFrame)
                decoded.append(out.to_ndarray())
    assert dominant_frequency(np.concatenate(decoded, axis=1), 48000, channels=2) == (
        pytest.approx(tone, abs=5)
    )


def test_users_get_distinct_stable_stamps_and_tones() -> None:
    """A few users get different stamps and tones, tones on the 50 Hz grid in 300..3000."""
    stamps = [user_stamp(user) for user in USERS]
    tones = [user_tone(user) for user in USERS]
    assert len(set(stamps)) == len(USERS)
    assert len(set(tones)) == len(USERS)
    assert all(300 <= tone <= 3000 and tone % 50 == 0 for tone in tones)
    assert stamps == [user_stamp(user) for user in USERS]


@pytest.mark.parametrize(
    "call",
    [
        lambda: stamp_id(np.zeros((480, 640, 3), np.uint8), 0x10000),
        lambda: stamp_id(np.zeros((480, 640, 3), np.uint8), -1),
        lambda: stamp_id(np.zeros((480, 640), np.uint8), 1),
        lambda: stamp_id(np.zeros((480, 640, 3), np.float32), 1),
        lambda: read_stamp(np.zeros((8, 640, 3), np.uint8)),
        lambda: dominant_frequency(np.zeros(960), 0),
        lambda: dominant_frequency(np.zeros(961), 48000, channels=2),
        lambda: dominant_frequency(np.zeros(2), 48000),
    ],
)
def test_bad_arguments_raise_input_error(call: Callable[[], object]) -> None:
    """Wrong ids, shapes, dtypes, rates and channel counts raise InputError."""
    with pytest.raises(InputError):
        call()
