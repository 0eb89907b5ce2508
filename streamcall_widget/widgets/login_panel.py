"""LoginPanel: who the notebook is, in a form (user id, name, avatar, API key, token)."""

from __future__ import annotations

from typing import Any, ClassVar

import traitlets

from streamcall_widget.engine.loop import EngineFuture
from streamcall_widget.engine.push import PushNotificationsConfig
from streamcall_widget.engine.results import SuccessResponse

from .assets import load_module
from .base import EngineWidget, Handler, shows_errors
from .snapshot import user_snapshot

__all__ = ["LoginPanel"]


class LoginPanel(EngineWidget):
    """Log a StreamCall in and out, and show the current user and connection status.

    With the embedded coordinator (``StreamCall()``) no token is asked: a development
    token is minted. The token typed in the page is sent with the login request only and
    never stored in a trait, so saving the notebook cannot keep it.
    """

    _esm = load_module("login_panel")

    user_id = traitlets.Unicode("").tag(sync=True)
    name = traitlets.Unicode("").tag(sync=True)
    image_url = traitlets.Unicode("").tag(sync=True)
    api_key = traitlets.Unicode("").tag(sync=True)
    """The server's API key (its field shows only for a server, not the embedded one)."""
    embedded = traitlets.Bool(True).tag(sync=True)
    """Whether the client uses the embedded coordinator (no API key or token field)."""
    current_user = traitlets.Dict().tag(sync=True)
    """``{user_id, name, image}`` once logged in, ``{}`` before."""
    status = traitlets.Unicode("logged_out").tag(sync=True)
    """``logged_out``, ``logging_in``, ``logged_in`` or ``reconnecting``."""

    requests: ClassVar[dict[str, Handler]] = {
        "login": lambda panel, message: panel.login(token=message.get("token") or None),
        "logout": lambda panel, _message: panel.logout(),
    }

    def __init__(
        self,
        client: Any = None,
        *,
        push_config: PushNotificationsConfig | None = None,
        **kwargs: Any,
    ) -> None:
        self._logging_in = False
        self.push_config = push_config
        """Rings reach the user through these push providers while offline (see
        :mod:`streamcall_widget.engine.push`); unregistered by the Log out button. Checked
        by the login, whose error the panel shows."""
        super().__init__(client, **kwargs)
        self.embedded = self.client.embedded

    @shows_errors
    def login(self, token: str | None = None) -> EngineFuture[SuccessResponse]:
        """Log in as the form's user (what the Log in button does)."""
        if not self.embedded and self.api_key:
            self.client.set_dynamic_api_key(self.api_key).result()
        pending = self.client.login(
            self.user_id,
            name=self.name or None,
            image_url=self.image_url or None,
            token=token,
            push_config=self.push_config,
        )
        self._logging_in = True
        pending.add_done_callback(self._login_done)
        self.refresh()
        return pending

    def _login_done(self, _done: object) -> None:
        self._logging_in = False

    @shows_errors
    def logout(self) -> EngineFuture[SuccessResponse]:
        """Log out, hanging up any call (what the Log out button does)."""
        return self.client.logout()

    def refresh(self) -> None:
        """Show the engine's user and connection status."""
        status = self.client.status
        self.status = "logging_in" if self._logging_in and status == "logged_out" else status
        self.current_user = user_snapshot(self.client.user)
