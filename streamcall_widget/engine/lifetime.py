"""Every live ``StreamCall`` of the process, closed at interpreter exit.

A script that ends with calls running must still hang them up and let aiortc's encoders
finish: at exit every client still open is closed, those hosting the embedded coordinator
last, so the others do not see it go away.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import weakref
from typing import Protocol

__all__ = ["forget", "track"]


class _Closable(Protocol):
    @property
    def hosts_coordinator(self) -> bool:
        """Whether this client started the embedded coordinator."""

    def close(self, timeout: float = 10.0) -> None:
        """Hang up, disconnect, release devices."""


_live: weakref.WeakSet[_Closable] = weakref.WeakSet()


def track(client: _Closable) -> None:
    """Close ``client`` at interpreter exit unless it is closed before."""
    _live.add(client)


def forget(client: _Closable) -> None:
    """``client`` was closed: nothing to do for it at exit."""
    _live.discard(client)


def _close_all_at_exit() -> None:
    """Interpreter exit: close every client while worker pools still take work."""
    for client in sorted(_live, key=lambda c: c.hosts_coordinator):
        with contextlib.suppress(Exception):
            client.close(timeout=5)


# concurrent.futures refuses new work once its own exit hook (registered the same way) has
# run, and aiortc encodes in the default executor: close calls before that, in reverse
# registration order, as threading does. atexit also runs, for interpreters without it.
_register_early = getattr(threading, "_register_atexit", atexit.register)
_register_early(_close_all_at_exit)
atexit.register(_close_all_at_exit)
