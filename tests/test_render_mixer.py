"""AudioMixer: resampling each source to 48 kHz mono, mixing, clipping, the FIFO cap."""

from __future__ import annotations

import av
import numpy as np
import numpy.typing as npt
import pytest

from streamcall_widget.engine.stamp import dominant_frequency
from streamcall_widget.errors import InputError
from streamcall_widget.render.mixer import RATE, AudioMixer


def tone_frames(
    frequency: float,
    *,
    rate: int = RATE,
    channels: int = 1,
    amplitude: float = 8000,
    seconds: float = 0.2,
    frame_ms: int = 20,
) -> list[av.AudioFrame]:
    """A sine as consecutive s16 frames of ``frame_ms``, interleaved when stereo."""
    per_frame = rate * frame_ms // 1000
    total = int(rate * seconds) // per_frame * per_frame
    wave = amplitude * np.sin(2 * np.pi * frequency * np.arange(total) / rate)
    samples = np.repeat(np.round(wave).astype(np.int16), channels)
    frames = []
    for start in range(0, total, per_frame):
        chunk = samples[start * channels : (start + per_frame) * channels]
        frame = av.AudioFrame.from_ndarray(
            chunk.reshape(1, -1), format="s16", layout="stereo" if channels == 2 else "mono"
        )
        frame.sample_rate = rate
        frame.pts = start
        frames.append(frame)
    return frames


def drain(mixer: AudioMixer, chunk: int = 1920) -> npt.NDArray[np.int16]:
    chunks = []
    while (data := mixer.pop(chunk)) is not None:
        chunks.append(np.frombuffer(data, dtype="<i2"))
    return np.concatenate(chunks) if chunks else np.empty(0, np.int16)


def test_nothing_until_a_full_chunk() -> None:
    """pop returns None until some source holds a full chunk."""
    mixer = AudioMixer()
    assert mixer.pop() is None
    mixer.push("a", tone_frames(440, seconds=0.02)[0])
    assert mixer.pop() is None
    mixer.push("a", tone_frames(440, seconds=0.02)[0])
    chunk = mixer.pop()
    assert chunk is not None
    assert len(chunk) == 1920 * 2


def test_two_tones_mixed() -> None:
    """Two sources come out as one stream holding both tones."""
    mixer = AudioMixer()
    parts = []
    for first, second in zip(
        tone_frames(500, seconds=1), tone_frames(1200, seconds=1), strict=True
    ):
        mixer.push("alice", first)
        mixer.push("bob", second)
        parts.append(drain(mixer))
    mixed = np.concatenate(parts)
    assert mixed.size == RATE
    spectrum = np.abs(np.fft.rfft(mixed.astype(np.float64) * np.hanning(mixed.size)))
    freqs = np.fft.rfftfreq(mixed.size, 1 / RATE)
    loudest = {round(float(freqs[i]) / 50) * 50 for i in np.argsort(spectrum)[-6:]}
    assert loudest == {500, 1200}


@pytest.mark.parametrize(("rate", "channels"), [(48_000, 2), (16_000, 1)])
def test_resampled_to_48k_mono(rate: int, channels: int) -> None:
    """48 kHz stereo and 16 kHz mono both come out at 48 kHz mono, same pitch, same length."""
    mixer = AudioMixer(max_samples=RATE)
    for frame in tone_frames(750, rate=rate, channels=channels, seconds=0.5):
        mixer.push("a", frame)
    mixed = drain(mixer, 960)
    assert abs(mixed.size - RATE // 2) <= 960
    assert dominant_frequency(mixed, RATE) == pytest.approx(750, abs=10)


def test_source_changing_format_keeps_going() -> None:
    """A source switching from 48 kHz stereo to 16 kHz mono is resampled afresh."""
    mixer = AudioMixer()
    for frame in tone_frames(600, channels=2, seconds=0.04):
        mixer.push("a", frame)
    for frame in tone_frames(600, rate=16_000, seconds=0.1):
        mixer.push("a", frame)
    assert drain(mixer).size >= 1920 * 2


def test_sum_is_clipped() -> None:
    """Loud sources sum to full scale, not to wrapped-around values."""
    mixer = AudioMixer()
    for key in ("a", "b"):
        loud = np.full((1, 1920), 30000, dtype=np.int16)
        frame = av.AudioFrame.from_ndarray(loud, format="s16", layout="mono")
        frame.sample_rate = RATE
        mixer.push(key, frame)
    chunk = mixer.pop()
    assert chunk is not None
    assert np.all(np.frombuffer(chunk, dtype="<i2") == 32767)


def test_fifo_cap_drops_oldest() -> None:
    """Past the cap a source keeps its newest samples only."""
    mixer = AudioMixer(max_samples=1920)
    for value in (1000, 2000):
        samples = np.full((1, 1920), value, dtype=np.int16)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = RATE
        mixer.push("a", frame)
    chunk = mixer.pop()
    assert chunk is not None
    assert set(np.frombuffer(chunk, dtype="<i2").tolist()) == {2000}
    assert mixer.pop() is None


def test_source_without_full_chunk_waits() -> None:
    """A source short of a chunk is not mixed in yet and keeps its samples."""
    mixer = AudioMixer()
    for frame in tone_frames(440, seconds=0.04):
        mixer.push("full", frame)
    mixer.push("short", tone_frames(880, seconds=0.02)[0])
    first = mixer.pop()
    assert first is not None
    mixer.push("short", tone_frames(880, seconds=0.02)[0])
    second = mixer.pop()
    assert second is not None
    assert dominant_frequency(np.frombuffer(second, dtype="<i2"), RATE) == pytest.approx(
        880, abs=30
    )


def test_forget_drops_a_source() -> None:
    """After forget, a source's buffered samples are not mixed."""
    mixer = AudioMixer()
    for frame in tone_frames(440, seconds=0.04):
        mixer.push("a", frame)
    mixer.forget("a")
    assert mixer.pop() is None


def test_push_rejects_non_audio() -> None:
    """Pushing anything but an av.AudioFrame is an InputError."""
    with pytest.raises(InputError):
        AudioMixer().push("a", b"\x00\x00")  # type: ignore[arg-type]
