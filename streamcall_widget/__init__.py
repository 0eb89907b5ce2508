"""streamcall_widget: audio/video calls in Jupyter, with Python on every frame.

``StreamCall`` (:mod:`streamcall_widget.engine`) is the client a notebook uses;
``phone()``, ``LoginPanel``, ``CallView`` and ``DeviceControls``
(:mod:`streamcall_widget.widgets`) show it in the notebook.
The coordinator (:mod:`streamcall_widget.coordinator`) does signaling and call control;
the wire protocol and call rules live in :mod:`streamcall_widget.protocol`; every error is
in :mod:`streamcall_widget.errors`.

The engine and the widgets are imported on first use of their names, so a process that only
serves (``streamcall serve``, ``import streamcall_widget.coordinator``) never loads aiortc,
PyAV, numpy or ipywidgets.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("streamcall_widget")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from .protocol.lifecycle import CallEvent, CallMember, CallState, IncomingCall

if TYPE_CHECKING:
    from .engine import (
        Call,
        DtmfEvent,
        IceServer,
        Participant,
        PermissionRequestEvent,
        PermissionsUpdatedEvent,
        PushNotificationsConfig,
        RecordingEvent,
        RecordingResult,
        StreamCall,
    )
    from .widgets import CallView, DeviceControls, LoginPanel
    from .widgets.phone import phone

__all__ = [
    "Call",
    "CallEvent",
    "CallMember",
    "CallState",
    "CallView",
    "DeviceControls",
    "DtmfEvent",
    "IceServer",
    "IncomingCall",
    "LoginPanel",
    "Participant",
    "PermissionRequestEvent",
    "PermissionsUpdatedEvent",
    "PushNotificationsConfig",
    "RecordingEvent",
    "RecordingResult",
    "StreamCall",
    "__version__",
    "phone",
]

_LAZY = {
    **dict.fromkeys(
        (
            "Call",
            "DtmfEvent",
            "IceServer",
            "Participant",
            "PermissionRequestEvent",
            "PermissionsUpdatedEvent",
            "PushNotificationsConfig",
            "RecordingEvent",
            "RecordingResult",
            "StreamCall",
        ),
        ".engine",
    ),
    **dict.fromkeys(("CallView", "DeviceControls", "LoginPanel", "phone"), ".widgets"),
}
"""Public names whose modules load on first use, and where they live."""


def __getattr__(name: str) -> Any:
    """The engine's and the widgets' names, imported on first use."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
