"""The coordinator: signaling and call control (what the Stream service is to the plugin).

:class:`Coordinator` serves the wire protocol over aiohttp; :class:`~.control.CallControl`
dispatches each request to the rule family that owns it (calls, ring, sessions, media,
moderation, broadcast, reads, resume), all without I/O; calls persist through a
:class:`~.store.CallStore` written off the loop (:mod:`.writer`) and events fan out through
an :class:`~.hub.EventHub`. :func:`start_embedded` runs one inside a kernel.
"""

from .auth import App, mint_token, new_app
from .embedded import Discovery, EmbeddedCoordinator, find_running, start_embedded
from .limits import Limits
from .server import Coordinator, CoordinatorConfig

__all__ = [
    "App",
    "Coordinator",
    "CoordinatorConfig",
    "Discovery",
    "EmbeddedCoordinator",
    "Limits",
    "find_running",
    "mint_token",
    "new_app",
    "start_embedded",
]
