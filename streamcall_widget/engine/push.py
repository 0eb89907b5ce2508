"""Push notifications: rings that reach a user whose kernel is not connected.

Seed 000's ``LoginOptions.pushNotificationsConfig``: ``login(..., push_config=
PushNotificationsConfig(push_provider_name=..., voip_provider_name=...))`` registers the
user with providers the coordinator's operator configured (``streamcall serve
--push-provider NAME=URL``: webhooks bridging to FCM, APNs, ntfy...). While the user has no
live connection (the socket dropped, the kernel stopped), a ring reaches their device
through the provider, the call keeps ringing, and logging in again during the ring rings
the new connection, which can accept. ``logout()`` unregisters: a person logging out wants
no more rings; closing the client or the kernel keeps the registration, which is the point.

A mixin of :class:`~streamcall_widget.engine.client.StreamCall`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from streamcall_widget.errors import InvalidArguments, StreamCallError
from streamcall_widget.protocol.push import MAX_PROVIDER_NAME, PROVIDER_NAME
from streamcall_widget.protocol.replies import PushRegistration
from streamcall_widget.protocol.requests import RegisterPush, Request, UnregisterPush

if TYPE_CHECKING:
    from .connection import CoordinatorConnection

__all__ = ["PushNotifications", "PushNotificationsConfig", "checked_push_config"]

logger = logging.getLogger(__name__)

R = TypeVar("R")


@dataclass(frozen=True)
class PushNotificationsConfig:
    """The push providers to ring this user through while offline (seed 000's
    ``PushNotificationsConfig``): at least one of the two names, each a provider the
    coordinator has."""

    push_provider_name: str | None = None
    """Seed ``pushProviderName``: ordinary notices (a missed call; a ring when no VoIP
    provider is given)."""
    voip_provider_name: str | None = None
    """Seed ``voipProviderName``: ring notices, for a device that shows a call screen."""

    def __post_init__(self) -> None:
        names = (self.push_provider_name, self.voip_provider_name)
        if all(name is None for name in names):
            raise InvalidArguments(
                "PushNotificationsConfig needs push_provider_name, voip_provider_name or both"
            )
        for field, name in zip(("push_provider_name", "voip_provider_name"), names, strict=True):
            if name is not None and (
                not isinstance(name, str)
                or len(name) > MAX_PROVIDER_NAME
                or not re.fullmatch(PROVIDER_NAME, name)
            ):
                raise InvalidArguments(
                    f"{field} must be None or a provider name of 1 to {MAX_PROVIDER_NAME} letters, "
                    f"digits, '_', '.' or '-', not {name!r}"
                )


def checked_push_config(config: object) -> PushNotificationsConfig | None:
    """``login``'s ``push_config`` if it is one (or None), else ``InvalidArguments``."""
    if config is not None and not isinstance(config, PushNotificationsConfig):
        raise InvalidArguments(
            f"push_config must be a PushNotificationsConfig or None, not {type(config).__name__}"
        )
    return config


class PushNotifications:
    """Push registration; the client provides what is declared here."""

    _conn: CoordinatorConnection | None
    _push_config: PushNotificationsConfig | None = None

    if TYPE_CHECKING:

        async def request(self, request: Request, result_type: type[R]) -> R: ...

        async def _logout(self) -> object: ...

        def report(self, where: str, error: BaseException) -> None: ...

    @property
    def push_config(self) -> PushNotificationsConfig | None:
        """The push registration this client made at login (None: none)."""
        return self._push_config

    async def _register_push(self, config: PushNotificationsConfig | None) -> None:
        """Right after login: register ``config``; if the coordinator refuses it (an
        unknown provider), log out again and raise, so login fails as a whole."""
        self._push_config = None
        if config is None:
            return
        try:
            await self.request(_register(config), PushRegistration)
        except StreamCallError:
            await self._logout()
            raise
        self._push_config = config

    async def _renew_push(self) -> None:
        """After a reconnect: register again (the same registration, so nothing changes
        twice), in case the coordinator restarted and forgot it."""
        if self._push_config is None:
            return
        try:
            await self.request(_register(self._push_config), PushRegistration)
        except StreamCallError as exc:
            self.report("registering for push notifications", exc)

    async def _unregister_push(self) -> None:
        """``logout()``: no more rings through push for this user. A failure (the
        coordinator is unreachable) is reported and the logout goes on."""
        self._push_config = None
        if self._conn is None:
            return
        try:
            await self.request(UnregisterPush(id=""), PushRegistration)
        except StreamCallError as exc:
            self.report("unregistering push notifications", exc)


def _register(config: PushNotificationsConfig) -> RegisterPush:
    return RegisterPush(
        id="",
        push_provider_name=config.push_provider_name,
        voip_provider_name=config.voip_provider_name,
    )
