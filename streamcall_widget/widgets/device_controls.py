"""DeviceControls: microphone and camera switches, device pickers, a level meter."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, ClassVar

import traitlets

from streamcall_widget.engine.client import StreamCall
from streamcall_widget.engine.devices import DeviceList
from streamcall_widget.engine.loop import EngineFuture
from streamcall_widget.engine.quality import audio_level
from streamcall_widget.engine.results import SuccessResponse
from streamcall_widget.engine.taps import LOCAL
from streamcall_widget.errors import InputError

from .assets import load_module
from .base import EngineWidget, Handler, shows_errors
from .level_meter import LevelMeter
from .snapshot import devices_snapshot, rounded_level

__all__ = ["DeviceControls"]

DEVICE_KINDS = ("camera", "microphone", "speaker")


class DeviceControls(EngineWidget):
    """Turn the microphone and camera on and off, pick devices, watch the microphone level.

    The pickers list what ``list_devices()`` finds: the page's own devices (labelled
    "(browser)", once a CallView is shown), this machine's and the synthetic ones; they
    follow devices plugged in or out (``devicesUpdated``). The speaker ``browser`` plays
    the call's audio in the page through CallView, a ``browser:`` speaker there too, on
    that output device.
    """

    _esm = load_module("device_controls")

    devices = traitlets.Dict().tag(sync=True)
    """``{cameras, microphones, speakers}``, each a list of ``{id, label}``."""
    camera = traitlets.Unicode("").tag(sync=True)
    microphone = traitlets.Unicode("").tag(sync=True)
    speaker = traitlets.Unicode("").tag(sync=True)
    camera_enabled = traitlets.Bool(True).tag(sync=True)
    microphone_enabled = traitlets.Bool(True).tag(sync=True)
    level = traitlets.Float(0.0).tag(sync=True)
    """The local microphone's level, 0..1 (-60..0 dBFS; rises at once, falls slowly)."""

    requests: ClassVar[dict[str, Handler]] = {
        "set_microphone": lambda controls, message: controls.client.set_microphone_enabled(
            message.get("enabled")
        ),
        "set_camera": lambda controls, message: controls.client.set_camera_enabled(
            message.get("enabled")
        ),
        "select": lambda controls, message: controls.select(
            message.get("device_kind"), message.get("device")
        ),
        "switch_camera": lambda controls, _message: controls.switch_camera(),
        "refresh_devices": lambda controls, _message: controls.refresh_devices(),
    }

    def __init__(self, client: StreamCall | None = None, **kwargs: Any) -> None:
        self._meter = LevelMeter()
        super().__init__(client, **kwargs)
        self._tap = self.client.watch_media(self._on_frame)
        self._listeners.append(self.client.add_listener("devicesUpdated", self._devices_updated))
        self.refresh_devices()

    @shows_errors
    def select(self, device_kind: object, device: object) -> EngineFuture[SuccessResponse]:
        """Use ``device`` (an id) as the ``camera``, ``microphone`` or ``speaker``."""
        if device_kind not in DEVICE_KINDS:
            raise InputError(f"device_kind must be one of {DEVICE_KINDS}, not {device_kind!r}")
        if not isinstance(device, str) or not device:
            raise InputError(f"device must be a device id from list_devices(), not {device!r}")
        if device_kind == "camera":
            return self.client.switch_camera(device)
        if device_kind == "microphone":
            return self.client.set_microphone(device)
        return self.client.set_speaker(device)

    @shows_errors
    def switch_camera(self) -> EngineFuture[SuccessResponse]:
        """Switch between the front and the back camera."""
        camera = self.client.media.camera
        facing = "front" if camera is not None and camera.label.endswith("(back)") else "back"
        return self.client.switch_camera(facing)

    @shows_errors
    def refresh_devices(self) -> EngineFuture[DeviceList]:
        """List the devices again (a camera plugged in meanwhile appears)."""
        pending = self.client.list_devices()
        pending.add_done_callback(self._show_devices)
        return pending

    def _show_devices(self, done: Future[DeviceList]) -> None:
        if done.exception() is None:
            self.devices = devices_snapshot(done.result())

    def _devices_updated(self, devices: DeviceList) -> None:
        """A device appeared or went (in the page or on the kernel's machine)."""
        self.devices = devices_snapshot(devices)

    def _on_frame(self, key: str, kind: str, frame: Any) -> None:
        if key == LOCAL and kind == "audio":
            self._meter.frame(audio_level(frame.to_ndarray()))

    def refresh(self) -> None:
        """Show the devices in use, the switches and the level."""
        media = self.client.media
        self.camera = media.camera.id if media.camera is not None else ""
        self.microphone = media.microphone.id if media.microphone is not None else ""
        self.speaker = media.speaker.id if media.speaker is not None else ""
        self.camera_enabled = media.video.enabled
        self.microphone_enabled = media.audio.enabled
        if not media.audio.enabled:
            self._meter.reset()
        self.level = rounded_level(self._meter.read())

    def close(self) -> None:
        """Stop reading the microphone level, then close the widget."""
        self._tap.remove()
        super().close()
