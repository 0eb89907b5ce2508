"""Local audio leaves in one format whatever the microphone: s16 mono 48 kHz, 960 samples.

The synthetic microphone gives that format; aiortc's ``MediaPlayer`` (files, real
microphones) gives stereo. aiortc's Opus encoder sets itself up from the first frame and
used to raise ``Frame does not match AudioResampler setup`` on the first frame of another
format, which ended the audio sender: switching microphones mid-call silenced the caller.
"""

from __future__ import annotations

import itertools
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from streamcall_widget.engine.local_media import LocalMedia
from streamcall_widget.engine.media import AUDIO_RATE, AUDIO_SAMPLES
from streamcall_widget.engine.stamp import dominant_frequency, user_tone

from .engine_helpers import RESULT, Clients, MediaProbe, Recorder, ring_and_accept

FILE_TONE = 1000.0


@pytest.fixture(scope="module")
def tone_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of a 1 kHz tone as a 44.1 kHz stereo WAV (another rate and layout than
    the synthetic microphone's)."""
    path = tmp_path_factory.mktemp("audio") / "tone-1000hz.wav"
    rate = 44_100
    t = np.arange(2 * rate) / rate
    samples = np.rint(0.3 * 32767 * np.sin(2 * np.pi * FILE_TONE * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.stack([samples, samples], axis=1).tobytes())
    return path


@pytest.fixture
async def media(tone_file: Path) -> AsyncIterator[LocalMedia]:
    """Local media that lists ``tone_file`` as a microphone; closed after the test."""
    local = LocalMedia(lambda where, exc: pytest.fail(f"{where}: {exc!r}"), files=(str(tone_file),))
    yield local
    await local.close()


async def _frames(media: LocalMedia, count: int) -> list[av.AudioFrame]:
    frames = []
    for _ in range(count):
        frame = await media.audio.recv()
        assert isinstance(frame, av.AudioFrame)
        frames.append(frame)
    return frames


async def test_every_microphone_gives_the_same_format_and_rising_pts(
    media: LocalMedia, tone_file: Path
) -> None:
    """File, synthetic, file again: every frame is s16 mono 48 kHz of 960 samples, the
    file's tone survives the conversion, and pts only go forward."""
    devices = await media.list()
    frames = []
    for name, hz in (
        (tone_file.name, FILE_TONE),
        ("synthetic-microphone", user_tone("")),
        (tone_file.name, FILE_TONE),
    ):
        await media.select_microphone(devices, name)
        got = await _frames(media, 10)
        assert dominant_frequency(
            np.concatenate([f.to_ndarray() for f in got[-5:]], axis=1), AUDIO_RATE
        ) == pytest.approx(hz, abs=30)
        frames += got
    shapes = {
        (f.format.name, f.layout.name, f.sample_rate, f.samples, f.to_ndarray().shape)
        for f in frames
    }
    assert shapes == {("s16", "mono", AUDIO_RATE, AUDIO_SAMPLES, (1, AUDIO_SAMPLES))}
    times = [f.time for f in frames]
    assert all(a is not None and b is not None and b > a for a, b in itertools.pairwise(times))


def test_switching_to_a_file_microphone_and_back_mid_call(
    clients: Clients, tone_file: Path
) -> None:
    """Synthetic microphone, then the stereo file, then synthetic again, in one call: bob
    hears each in turn, and alice's audio processor gets (1, 960) int16 every time."""
    alice = clients("alice", media_files=(str(tone_file),))
    bob = clients("bob")
    _, answered = ring_and_accept(alice, bob)
    at_bob = MediaProbe().attach(answered)
    shapes = Recorder[tuple[tuple[int, ...], str]]()

    def record(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        shapes((samples.shape, str(samples.dtype)))
        return samples

    alice.sc.set_audio_processor(record).result(RESULT)
    at_bob.wait_tone("alice", user_tone("alice"))
    alice.sc.set_microphone(tone_file.name).result(RESULT)
    at_bob.wait_tone("alice", FILE_TONE)
    alice.sc.set_microphone("synthetic-microphone").result(RESULT)
    at_bob.wait_tone("alice", user_tone("alice"))
    alice.flush()
    assert alice.errors.items == []
    assert set(shapes.items) == {((1, AUDIO_SAMPLES), "int16")}
