"""streamcall_widget: audio/video calls in Jupyter, with Python on every frame.

``StreamCall`` (:mod:`streamcall_widget.engine`) is the client a notebook uses;
``phone()``, ``LoginPanel``, ``CallView`` and ``DeviceControls``
(:mod:`streamcall_widget.widgets`) show it in the notebook.
The coordinator (:mod:`streamcall_widget.coordinator`) does signaling and call control;
the wire protocol and call rules live in :mod:`streamcall_widget.protocol`; every error is
in :mod:`streamcall_widget.errors`.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("streamcall_widget")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from .engine import Call, IceServer, Participant, StreamCall
from .protocol.lifecycle import CallEvent, CallMember, CallState, IncomingCall

__all__ = [
    "Call",
    "CallEvent",
    "CallMember",
    "CallState",
    "CallView",
    "DeviceControls",
    "IceServer",
    "IncomingCall",
    "LoginPanel",
    "Participant",
    "StreamCall",
    "__version__",
    "phone",
]

_WIDGETS = frozenset({"CallView", "DeviceControls", "LoginPanel", "phone"})


def __getattr__(name: str) -> Any:
    """The widgets, imported on first use: ``streamcall serve`` never loads ipywidgets."""
    if name in _WIDGETS:
        return getattr(import_module(".widgets", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
