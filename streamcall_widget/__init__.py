"""streamcall_widget: audio/video calls in Jupyter, with Python on every frame.

``StreamCall`` (:mod:`streamcall_widget.engine`) is the client a notebook uses.
The coordinator (:mod:`streamcall_widget.coordinator`) does signaling and call control;
the wire protocol and call rules live in :mod:`streamcall_widget.protocol`; every error is
in :mod:`streamcall_widget.errors`.
"""

from importlib.metadata import PackageNotFoundError, version

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
    "IceServer",
    "IncomingCall",
    "Participant",
    "StreamCall",
    "__version__",
]
