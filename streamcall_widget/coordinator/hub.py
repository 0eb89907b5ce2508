"""How events reach connections: the event hub interface and its in-process form.

The coordinator publishes each event once per recipient user (already serialised); the hub
hands it to whichever process holds that user's connections. In one process that is a
direct call; a Redis hub (several coordinator processes) implements the same two methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["EventHub", "LocalHub", "Receiver"]

Receiver = Callable[[str, str, str | None, bytes], None]
"""receiver(app, user_id, connection_id or None for all the user's connections, event JSON)."""


class EventHub(Protocol):
    """Fan-out of serialised events to the processes holding the recipients."""

    def publish(self, app: str, user_id: str, connection_id: str | None, event: bytes) -> None:
        """Deliver ``event`` to the user's connections (or just ``connection_id``)."""
        ...

    def subscribe(self, receiver: Receiver) -> None:
        """Have ``receiver`` called for every event published to this process."""
        ...


class LocalHub:
    """Everything in one process: publish calls the receivers directly, in order."""

    def __init__(self) -> None:
        self._receivers: list[Receiver] = []

    def publish(self, app: str, user_id: str, connection_id: str | None, event: bytes) -> None:
        """Hand the event to every receiver now."""
        for receiver in self._receivers:
            receiver(app, user_id, connection_id, event)

    def subscribe(self, receiver: Receiver) -> None:
        """Add a receiver."""
        self._receivers.append(receiver)
