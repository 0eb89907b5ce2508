"""The notebook widgets: LoginPanel, CallView (the "magicDiv"), DeviceControls, phone().

Each wraps a :class:`~streamcall_widget.StreamCall` and shows its state; see
docs/widgets.md for the traits and messages they exchange with the page.
"""

from __future__ import annotations

from .call_view import LAYOUTS, CallView
from .device_controls import DeviceControls
from .login_panel import LoginPanel
from .phone import Phone, phone
from .strings import LANGUAGES, STRINGS

__all__ = [
    "LANGUAGES",
    "LAYOUTS",
    "STRINGS",
    "CallView",
    "DeviceControls",
    "LoginPanel",
    "Phone",
    "phone",
]
