"""The synthetic camera and microphone: frames, timestamps, content and real-time pacing."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from streamcall_widget.engine.stamp import dominant_frequency, read_stamp
from streamcall_widget.engine.synthetic import SyntheticCamera, SyntheticMicrophone
from streamcall_widget.errors import InputError


async def test_camera_frames_have_size_format_and_90khz_pts() -> None:
    """Frames are yuv420p at the asked size, pts step 90000/fps on a 1/90000 time base."""
    camera = SyntheticCamera("Alice", width=320, height=240, fps=30)
    frames = [await camera.recv() for _ in range(3)]
    assert [(f.width, f.height, f.format.name) for f in frames] == [(320, 240, "yuv420p")] * 3
    assert [f.pts for f in frames] == [0, 3000, 6000]
    assert all(f.time_base == fractions.Fraction(1, 90000) for f in frames)
    assert camera.frames_sent == 3


async def test_camera_counter_advances_and_stamp_reads_back() -> None:
    """The counter (bottom left) changes every frame; the stamp reads back in every frame."""
    camera = SyntheticCamera("Bob", width=640, height=480, stamp=0xBEEF)
    images = [(await camera.recv()).to_ndarray(format="rgb24") for _ in range(3)]
    counters = [image[-60:, :200] for image in images]
    assert not np.array_equal(counters[0], counters[1])
    assert not np.array_equal(counters[1], counters[2])
    assert [read_stamp(image) for image in images] == [0xBEEF] * 3


async def test_camera_without_stamp_has_none() -> None:
    """Without ``stamp`` nothing readable is drawn in the corner."""
    image = (await SyntheticCamera("Carol").recv()).to_ndarray(format="rgb24")
    assert read_stamp(image) is None


async def test_camera_is_paced_in_real_time() -> None:
    """Ten frames at 30 fps take about 0.3 s, not as long as the consumer can read."""
    camera = SyntheticCamera("Dave", width=160, height=120, fps=30)
    start = time.monotonic()
    for _ in range(10):
        await camera.recv()
    assert 0.2 <= time.monotonic() - start < 2.0


async def test_camera_behind_skips_to_now() -> None:
    """A consumer that falls behind gets the frame for now, not a backlog of stale ones."""
    camera = SyntheticCamera("Erin", width=160, height=120, fps=30)
    await camera.recv()
    await asyncio.sleep(0.3)
    frame = await camera.recv()
    assert frame.time is not None
    assert frame.time >= 0.25
    assert camera.frames_sent == 2


async def test_stopped_camera_raises() -> None:
    """After stop(), recv raises MediaStreamError as aiortc tracks do."""
    camera = SyntheticCamera("Frank", width=160, height=120)
    camera.stop()
    with pytest.raises(MediaStreamError):
        await camera.recv()


async def test_microphone_frames_are_s16_mono_with_sample_pts() -> None:
    """20 ms s16 mono frames at 48 kHz; pts counts samples on a 1/48000 time base."""
    microphone = SyntheticMicrophone()
    frames = [await microphone.recv() for _ in range(3)]
    assert [(f.format.name, f.layout.name, f.samples) for f in frames] == [("s16", "mono", 960)] * 3
    assert [f.pts for f in frames] == [0, 960, 1920]
    assert all(f.sample_rate == 48000 for f in frames)
    assert all(f.time_base == fractions.Fraction(1, 48000) for f in frames)


async def test_microphone_tone_is_continuous_at_its_frequency() -> None:
    """The tone's peak is its frequency and the sine runs on unbroken across frames."""
    microphone = SyntheticMicrophone(frequency=1234.0, amplitude=0.5)
    samples = np.concatenate([(await microphone.recv()).to_ndarray()[0] for _ in range(10)])
    assert dominant_frequency(samples, 48000) == pytest.approx(1234.0, abs=2)
    largest_step = 0.5 * 32767 * 2 * np.pi * 1234.0 / 48000
    assert np.abs(np.diff(samples.astype(np.int32))).max() <= largest_step + 2


async def test_silent_microphone_is_zeros() -> None:
    """``frequency=None`` gives frames of zeros."""
    microphone = SyntheticMicrophone(frequency=None, sample_rate=16000, ptime_ms=10)
    frame = await microphone.recv()
    assert frame.samples == 160
    assert not frame.to_ndarray().any()


async def test_microphone_is_paced_in_real_time() -> None:
    """Ten 20 ms frames take about 0.18 s."""
    microphone = SyntheticMicrophone()
    start = time.monotonic()
    for _ in range(10):
        await microphone.recv()
    assert 0.12 <= time.monotonic() - start < 2.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: SyntheticCamera("x", width=0),
        lambda: SyntheticCamera("x", width=641),
        lambda: SyntheticCamera("x", height=-480),
        lambda: SyntheticCamera("x", height=8192),
        lambda: SyntheticCamera("x", fps=0),
        lambda: SyntheticCamera("x", fps=61),
        lambda: SyntheticCamera("x", width=160, height=120, stamp=1),
        lambda: SyntheticCamera("x", stamp=65536),
        lambda: SyntheticMicrophone(frequency=0),
        lambda: SyntheticMicrophone(frequency=24000),
        lambda: SyntheticMicrophone(sample_rate=1000),
        lambda: SyntheticMicrophone(ptime_ms=5),
        lambda: SyntheticMicrophone(sample_rate=44100, ptime_ms=15),
        lambda: SyntheticMicrophone(amplitude=1.5),
    ],
)
def test_bad_arguments_raise_input_error(make: Callable[[], object]) -> None:
    """Odd or out-of-range sizes, rates, stamps, frequencies and amplitudes: InputError."""
    with pytest.raises(InputError):
        make()
