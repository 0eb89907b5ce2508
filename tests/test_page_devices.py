"""The page's devices as the engine sees them: reports, captures, permission states.

:class:`PageDevices` is driven here by a recording page (what the page link does in the
product: the browser end is covered by tests/browser/test_page_devices.py), with real
av frames. Also the kernel machine's device watch (``devicesUpdated``) with a probe that
changes between two looks, as a device plugged in would.
"""

from __future__ import annotations

import asyncio
from typing import Any

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from streamcall_widget.engine import local_media
from streamcall_widget.engine.devices import (
    SYNTHETIC_CAMERA,
    SYNTHETIC_MICROPHONE,
    DeviceKind,
    DeviceList,
)
from streamcall_widget.engine.local_media import LocalMedia
from streamcall_widget.engine.page_devices import (
    PAGE_SCREEN,
    PageDevices,
    Role,
    explain_capture_error,
    parse_device_report,
)
from streamcall_widget.errors import DeviceError, InputError, PermissionDenied

REPORT = {
    "devices": [
        {"kind": "videoinput", "device_id": "cam-1", "label": "Front camera"},
        {"kind": "audioinput", "device_id": "default", "label": ""},
        {"kind": "audiooutput", "device_id": "spk-1", "label": "Headphones"},
    ],
    "sink": True,
    "display": True,
    "secure": True,
}


class RecordingPage:
    """A page that records what the engine asks of it."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, ...]] = []

    def request_capture(self, role: Role, device_id: str) -> None:
        self.asked.append(("capture", role, device_id))

    def release_capture(self, role: Role) -> None:
        self.asked.append(("release", role))

    def set_sink(self, device_id: str) -> None:
        self.asked.append(("sink", device_id))


def _video_frame() -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")


def test_a_report_lists_the_page_devices_marked_as_the_browsers() -> None:
    devices = parse_device_report(REPORT)
    assert [(d.kind, d.id) for d in devices] == [
        (DeviceKind.CAMERA, "browser:cam-1"),
        (DeviceKind.MICROPHONE, "browser:default"),
        (DeviceKind.SPEAKER, "browser:spk-1"),
        (DeviceKind.SCREEN, PAGE_SCREEN.id),
    ]
    assert all(d.in_browser for d in devices)
    assert devices[0].label == "Front camera (browser)"
    assert devices[1].label == "Browser microphone 1 (browser)", "no label before permission"
    assert not SYNTHETIC_CAMERA.in_browser


@pytest.mark.parametrize(
    ("report", "says"),
    [
        ({"devices": "cam"}, "devices must be a list"),
        ({"devices": [{"kind": "camera", "device_id": "x"}]}, "videoinput, audioinput"),
        ({"devices": [{"kind": "videoinput", "device_id": 3}]}, "device_id must be a string"),
        ({"devices": [{"kind": "videoinput", "device_id": "x" * 300}]}, "at most 256"),
        ({"devices": [{}] * 65}, "at most 64"),
    ],
)
def test_a_malformed_report_is_refused_with_what_is_allowed(
    report: dict[str, Any], says: str
) -> None:
    with pytest.raises(InputError, match=says):
        parse_device_report(report)


@pytest.mark.parametrize(
    ("name", "state", "says"),
    [
        ("NotAllowedError", "denied", "Allow it in the address bar"),
        ("SecurityError", "denied", "https or on localhost"),
        ("InsecureContext", "denied", "https or on localhost"),
        ("NotFoundError", "failed", "No camera was found"),
        ("NotReadableError", "failed", "in use by another program"),
        ("OverconstrainedError", "failed", "Pick another device"),
        ("SomethingNew", "failed", "could not start the camera: boom"),
        ("{odd}", "failed", "could not start the camera: a {brace}."),
    ],
)
def test_browser_errors_read_as_what_to_do(name: str, state: str, says: str) -> None:
    detail = "a {brace}" if name.startswith("{") else "boom"
    got_state, problem = explain_capture_error("camera", name, detail)
    assert got_state == state
    assert problem.reason == name
    assert says in problem.message
    assert problem.raw_str == problem.message


async def test_a_capture_is_asked_answered_fed_and_released() -> None:
    updates: list[tuple[Any, ...]] = []
    ended: list[str] = []
    devices = PageDevices(updates.append, ended.append)
    page = RecordingPage()
    devices.attach(page)
    devices.report(page, REPORT)
    assert updates == [parse_device_report(REPORT)]
    camera = parse_device_report(REPORT)[0]

    opening = asyncio.ensure_future(devices.open(camera))
    await asyncio.sleep(0)
    assert page.asked == [("capture", "camera", "cam-1")]
    before = devices.permission.state
    devices.captured("camera", True)
    source = await opening
    assert (before, devices.permission.state) == ("prompt", "success")
    frame = _video_frame()
    devices.feed("camera", frame)
    assert await source.recv() is frame
    with pytest.raises(InputError, match="camera frame must be video"):
        devices.feed("camera", av.AudioFrame(format="s16", layout="mono", samples=960))

    source.stop()  # the engine's reader is done with it
    assert page.asked[-1] == ("release", "camera")
    assert ended == [], "a release the engine asked for is not an end by the page"


async def test_a_refusal_raises_permission_denied_with_the_reason() -> None:
    devices = PageDevices(lambda _: None, lambda _: None)
    page = RecordingPage()
    devices.attach(page)
    devices.report(page, REPORT)
    opening = asyncio.ensure_future(devices.open(parse_device_report(REPORT)[1]))
    await asyncio.sleep(0)
    devices.captured("microphone", False, {"name": "NotAllowedError", "message": "denied"})
    with pytest.raises(PermissionDenied, match="not allowed to use the microphone"):
        await opening
    assert devices.permission.state == "denied"
    assert devices.permission.error is not None
    assert devices.permission.error.reason == "NotAllowedError"


async def test_the_page_ending_a_capture_ends_the_source_and_is_told() -> None:
    ended: list[str] = []
    devices = PageDevices(lambda _: None, ended.append)
    page = RecordingPage()
    devices.attach(page)
    devices.report(page, REPORT)
    opening = asyncio.ensure_future(devices.open(PAGE_SCREEN))
    await asyncio.sleep(0)
    devices.feed("screen", _video_frame())  # a first frame also answers the capture
    source = await opening
    devices.ended("screen")
    assert ended == ["screen"]
    assert source.readyState == "ended", "a reopen must capture again, not reuse it"
    with pytest.raises(MediaStreamError):
        await source.recv()


async def test_captures_move_to_the_latest_page_and_back_when_it_goes() -> None:
    """Two views of one client: the latest page captures; when it goes, the one shown
    before takes over with its own devices; a page that restarts ends what it had."""
    ended: list[str] = []
    updates: list[tuple[Any, ...]] = []
    devices = PageDevices(updates.append, ended.append)
    first, second = RecordingPage(), RecordingPage()
    devices.attach(first)
    devices.report(first, REPORT)
    opening = asyncio.ensure_future(devices.open(parse_device_report(REPORT)[0]))
    await asyncio.sleep(0)
    devices.captured("camera", True)
    await opening
    devices.attach(second)
    assert ended == ["camera"], "the first page's capture ends when another takes over"
    assert not devices.devices, "no list until the new page reports one"
    devices.report(second, {"devices": [{"kind": "videoinput", "device_id": "other"}]})
    assert [d.id for d in devices.devices] == ["browser:other"]
    devices.detach(second)
    assert devices.devices == parse_device_report(REPORT)
    assert updates[-1] == parse_device_report(REPORT)

    opening = asyncio.ensure_future(devices.open(parse_device_report(REPORT)[0]))
    await asyncio.sleep(0)
    devices.captured("camera", True)
    await opening
    devices.report(first, {**REPORT, "fresh": True})  # the page reloaded
    assert ended == ["camera", "camera"]


def test_anonymous_devices_before_permission_are_one_default_per_kind() -> None:
    anonymous = {"kind": "audioinput", "device_id": "", "label": ""}
    devices = parse_device_report({"devices": [anonymous, anonymous, anonymous]})
    assert [d.id for d in devices] == ["browser:default"]


async def test_without_a_page_there_is_nothing_to_open_and_the_state_says_why() -> None:
    devices = PageDevices(lambda _: None, lambda _: None)
    with pytest.raises(DeviceError, match="Display a CallView"):
        await devices.open(parse_device_report(REPORT)[0])
    assert devices.permission.state == "failed"
    page = RecordingPage()
    devices.attach(page)
    devices.report(page, {**REPORT, "sink": False})
    assert not devices.set_sink(parse_device_report(REPORT)[2]), "no setSinkId"
    devices.detach(page)
    assert devices.devices == ()


async def test_a_device_plugged_into_this_machine_raises_devices_updated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kernel's machine is looked at again and again while someone listens; a new
    device (here a probe that finds one more microphone) is told once."""
    looks = iter([(), (), (SYNTHETIC_MICROPHONE,)])

    async def probe(files: object = ()) -> DeviceList:
        return DeviceList.of([SYNTHETIC_CAMERA, *next(looks, (SYNTHETIC_MICROPHONE,))])

    monkeypatch.setattr(local_media, "list_devices", probe)
    monkeypatch.setattr(local_media, "MACHINE_POLL", 0.01)
    media = LocalMedia(lambda where, error: None)
    updates: list[DeviceList] = []
    media.on_devices_updated = updates.append
    await media.watch_machine()
    for _ in range(100):
        if updates:
            break
        await asyncio.sleep(0.01)
    await media.close()
    assert [u.microphones for u in updates] == [(SYNTHETIC_MICROPHONE,)]
