"""Device listing, lookup and sharing, with real PyAV files and aiortc's MediaPlayer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import av
import pytest
from aiortc.mediastreams import MediaStreamError

from streamcall_widget.engine.devices import (
    SYNTHETIC_CAMERA,
    SYNTHETIC_MICROPHONE,
    Device,
    DeviceKind,
    DeviceManager,
    list_devices,
    probe_devices,
)
from streamcall_widget.engine.stamp import dominant_frequency, read_stamp
from streamcall_widget.errors import DeviceError, InputError, InvalidState


def make_media(path: Path, *, video: bool = True, audio: bool = True) -> Path:
    """Half a second of lavfi ``testsrc`` (H264) and/or a 440 Hz ``sine`` (AAC) in an mp4."""
    with av.open(str(path), "w") as out:
        # Every stream is added before the first packet is muxed (that writes the header).
        picture = out.add_stream("libx264", rate=30) if video else None
        sound = out.add_stream("aac", rate=48000) if audio else None
        if picture is not None:
            picture.width, picture.height, picture.pix_fmt = 160, 120, "yuv420p"
            with av.open("testsrc=size=160x120:rate=30:duration=0.5", format="lavfi") as source:
                for frame in source.decode(video=0):
                    out.mux(picture.encode(frame))
            out.mux(picture.encode(None))
        if sound is not None:
            with av.open(
                "sine=frequency=440:sample_rate=48000:duration=0.5", format="lavfi"
            ) as source:
                for samples in source.decode(audio=0):
                    out.mux(sound.encode(samples))
            out.mux(sound.encode(None))
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An mp4 with video and audio, made once for the module."""
    return make_media(tmp_path_factory.mktemp("media") / "clip.mp4")


@pytest.fixture
async def manager() -> AsyncIterator[DeviceManager]:
    """A device manager, closed after the test."""
    devices = DeviceManager()
    yield devices
    await devices.close()


def worker_threads() -> set[threading.Thread]:
    """Live threads other than asyncio's default executor (it outlives a test by design)."""
    return {t for t in threading.enumerate() if not t.name.startswith("asyncio_")}


def test_synthetic_devices_are_always_listed() -> None:
    """Synthetic camera and microphones, and the browser and null speakers, are there."""
    devices = probe_devices()
    assert {"synthetic-camera"} <= {d.id for d in devices.cameras}
    assert {"synthetic-microphone", "silent-microphone"} <= {d.id for d in devices.microphones}
    assert [d.id for d in devices.speakers[:2]] == ["browser", "null"]


def test_files_are_listed_by_their_streams(media: Path, tmp_path: Path) -> None:
    """A file with both streams is a camera and a microphone, audio-only a microphone only."""
    audio_only = make_media(tmp_path / "audio.mp4", video=False)
    devices = probe_devices([media, audio_only])
    assert devices.cameras[0].id == f"file:{media.resolve()}"
    assert [d.id for d in devices.microphones[:2]] == [
        f"file:{media.resolve()}",
        f"file:{audio_only.resolve()}",
    ]
    assert f"file:{audio_only.resolve()}" not in {d.id for d in devices.cameras}


def test_unreadable_file_raises_device_error(tmp_path: Path) -> None:
    """A missing or non-media file raises DeviceError naming it."""
    (tmp_path / "notes.mp4").write_text("not media")
    for path in (tmp_path / "missing.mp4", tmp_path / "notes.mp4"):
        with pytest.raises(DeviceError, match=path.name):
            probe_devices([path])


def test_find_by_id_or_label_case_insensitively() -> None:
    """find() matches an id or a label whatever the case."""
    devices = probe_devices()
    assert devices.find(DeviceKind.CAMERA, "SYNTHETIC-CAMERA") == SYNTHETIC_CAMERA
    assert devices.find(DeviceKind.MICROPHONE, "synthetic microphone (TONE)") == (
        SYNTHETIC_MICROPHONE
    )
    assert devices.find(DeviceKind.SPEAKER, "This browser page").id == "browser"


def test_unknown_device_error_lists_available() -> None:
    """An unknown name raises DeviceError listing the ids there are; a bad kind InputError."""
    devices = probe_devices()
    with pytest.raises(DeviceError, match="synthetic-camera") as raised:
        devices.find(DeviceKind.CAMERA, "front webcam")
    assert "front webcam" in str(raised.value)
    with pytest.raises(InputError, match="camera"):
        devices.find("webcam", "x")  # type: ignore[arg-type]


async def test_list_devices_does_not_block_the_loop(media: Path) -> None:
    """The loop keeps turning while list_devices probes (files opened in a worker thread)."""
    turns = 0

    async def spin() -> None:
        """Count the loop's turns."""
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    spinner = asyncio.ensure_future(spin())
    devices = await list_devices([media] * 20)
    spinner.cancel()
    assert len(devices.cameras) == 22  # 20 files and the two synthetic cameras
    assert turns > 10


async def test_missing_v4l2_camera_raises_device_error(manager: DeviceManager) -> None:
    """Opening /dev/video99 fails with DeviceError naming it and the cameras available."""
    camera = Device(DeviceKind.CAMERA, "v4l2:/dev/video99", "Ghost", "/dev/video99", "v4l2")
    with pytest.raises(DeviceError, match="/dev/video99") as raised:
        await manager.open_video(camera, label="x", stamp=None)
    assert "synthetic-camera" in str(raised.value)


async def test_consumers_share_one_source(manager: DeviceManager) -> None:
    """Two readers of one camera get the very same frames: the device is opened once."""
    first = await manager.open_video(SYNTHETIC_CAMERA, label="Alice", stamp=7)
    second = await manager.open_video(SYNTHETIC_CAMERA, label="ignored", stamp=8)
    for _ in range(3):
        a, b = await asyncio.gather(first.recv(), second.recv())
        assert a is b
    assert isinstance(a, av.VideoFrame)
    assert read_stamp(a.to_ndarray(format="rgb24")) == 7
    await manager.close()
    with pytest.raises(MediaStreamError):
        await first.recv()


async def test_silent_and_tone_microphones(manager: DeviceManager) -> None:
    """The tone microphone plays the frequency asked; the silent one plays zeros."""
    devices = probe_devices()
    tone = await manager.open_audio(
        devices.find(DeviceKind.MICROPHONE, "synthetic-microphone"), frequency=900.0
    )
    silent = await manager.open_audio(
        devices.find(DeviceKind.MICROPHONE, "silent-microphone"), frequency=900.0
    )
    frame, quiet = await asyncio.gather(tone.recv(), silent.recv())
    assert isinstance(frame, av.AudioFrame)
    assert isinstance(quiet, av.AudioFrame)
    assert dominant_frequency(frame.to_ndarray(), 48000) == pytest.approx(900, abs=5)
    assert not quiet.to_ndarray().any()


async def test_file_plays_again_with_rising_pts(manager: DeviceManager, media: Path) -> None:
    """A 0.5 s H264 file keeps playing past its end, pts rising, and its audio plays too."""
    devices = probe_devices([media])
    video = await manager.open_video(devices.cameras[0], label="x", stamp=None)
    audio = await manager.open_audio(devices.microphones[0], frequency=None)
    times = []
    for _ in range(20):
        frame = await video.recv()
        assert isinstance(frame, av.VideoFrame)
        times.append(frame.time)
    sound = await audio.recv()
    await manager.close()
    assert times == sorted(times)
    assert len(set(times)) == len(times)
    assert times[-1] is not None
    assert times[-1] > 0.55
    assert isinstance(sound, av.AudioFrame)


async def test_close_leaves_no_thread(manager: DeviceManager, media: Path) -> None:
    """After close() every reader has ended and no decoding thread is left."""
    before = worker_threads()
    devices = probe_devices([media])
    readers = [
        await manager.open_video(devices.cameras[0], label="x", stamp=None),
        await manager.open_audio(devices.microphones[0], frequency=None),
        await manager.open_video(SYNTHETIC_CAMERA, label="x", stamp=None),
    ]
    for reader in readers:
        await reader.recv()
    await manager.close()
    assert worker_threads() == before
    for reader in readers:
        with pytest.raises(MediaStreamError):
            await reader.recv()
    with pytest.raises(InvalidState):
        await manager.open_video(SYNTHETIC_CAMERA, label="x", stamp=None)


async def test_close_source_ends_only_that_device(manager: DeviceManager) -> None:
    """close_source ends that device's readers; another device keeps going."""
    camera = await manager.open_video(SYNTHETIC_CAMERA, label="x", stamp=None)
    microphone = await manager.open_audio(SYNTHETIC_MICROPHONE, frequency=440.0)
    await asyncio.gather(camera.recv(), microphone.recv())
    await manager.close_source(SYNTHETIC_CAMERA)
    with pytest.raises(MediaStreamError):
        await camera.recv()
    assert isinstance(await microphone.recv(), av.AudioFrame)


async def test_wrong_kind_raises_input_error(manager: DeviceManager) -> None:
    """A microphone given to open_video, or a camera to open_audio: InputError."""
    with pytest.raises(InputError):
        await manager.open_video(SYNTHETIC_MICROPHONE, label="x", stamp=None)
    with pytest.raises(InputError):
        await manager.open_audio(SYNTHETIC_CAMERA, frequency=None)


async def test_file_without_the_stream_raises_device_error(
    manager: DeviceManager, tmp_path: Path
) -> None:
    """An audio-only file opened as a camera: DeviceError, and no player is left open."""
    before = worker_threads()
    path = make_media(tmp_path / "audio.mp4", video=False)
    camera = Device(DeviceKind.CAMERA, f"file:{path}", path.name, str(path))
    with pytest.raises(DeviceError, match="has no video stream"):
        await manager.open_video(camera, label="x", stamp=None)
    assert worker_threads() == before
