"""streamcall_widget: audio/video calls in Jupyter, with Python on every frame.

The coordinator (:mod:`streamcall_widget.coordinator`) does signaling and call control;
the wire protocol and call rules live in :mod:`streamcall_widget.protocol`; every error is
in :mod:`streamcall_widget.errors`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("streamcall_widget")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
