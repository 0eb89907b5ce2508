"""``phone()``: the three widgets of one StreamCall, composed in one box."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets

from streamcall_widget.engine.client import StreamCall
from streamcall_widget.engine.push import PushNotificationsConfig

from .call_view import CallView
from .device_controls import DeviceControls
from .login_panel import LoginPanel

__all__ = ["Phone", "phone"]


class Phone(ipywidgets.VBox):  # type: ignore[misc]
    """LoginPanel, CallView and DeviceControls of one client, top to bottom."""

    def __init__(self, client: StreamCall, **options: Any) -> None:
        self.client = client
        self.login = LoginPanel(client, **_common(options), **options.pop("login", {}))
        self.view = CallView(client, **_common(options), **options.pop("view", {}))
        self.controls = DeviceControls(client, **_common(options))
        super().__init__([self.login, self.view, self.controls])

    def close(self) -> None:
        """Close the three widgets and the box (the client stays open)."""
        for widget in (self.login, self.view, self.controls):
            widget.close()
        super().close()


def _common(options: Mapping[str, Any]) -> dict[str, Any]:
    return {key: options[key] for key in ("language", "strings") if key in options}


def phone(
    client: StreamCall | None = None,
    *,
    user_id: str = "",
    name: str = "",
    language: str = "en",
    layout: str = "dynamic",
    strings: Mapping[str, Mapping[str, str]] | None = None,
    push_config: PushNotificationsConfig | None = None,
) -> Phone:
    """A whole phone for ``client`` (default: a new ``StreamCall()`` on the embedded
    coordinator): log in, see and answer calls, and control the devices.

    ``user_id``/``name`` prefill the login form; ``language`` is ``en``, ``fr`` or one
    given in ``strings``; ``layout`` is the CallView's first layout; ``push_config`` rings
    the user through push providers while offline (see LoginPanel).
    """
    return Phone(
        client if client is not None else StreamCall(),
        language=language,
        strings=strings,
        login={"user_id": user_id, "name": name, "push_config": push_config},
        view={"tile_layout": layout},
    )
