"""aioice adjusted for the engine: a bound on candidate gathering, and mDNS per loop.

A bound on ICE candidate gathering, so a slow STUN/TURN server never holds a call.

aiortc gathers every candidate before ``setLocalDescription`` returns (its SDP carries
them), and aioice waits up to 5 s for server-reflexive and relayed candidates. A STUN
server that does not answer would hold every offer and answer that long. aioice takes
the bound as an argument of ``Connection.get_component_candidates`` that aiortc never
passes, so the engine wraps that method, process-wide, to pass its own bound; host
candidates are gathered first and are never cut short.

Browsers hide their addresses behind mDNS ``.local`` names, which aioice resolves with one
process-wide responder guarded by an ``asyncio.Lock``: both belong to the event loop that
first resolved a name. A new engine loop (every client closed, then a new one made) would
find them bound to the dead loop and fail on the first ``.local`` candidate ("bound to a
different event loop"), so :func:`forget_mdns` drops them when a loop starts.
"""

from __future__ import annotations

import functools
from typing import Any

from aioice import ice

from streamcall_widget.errors import InputError

__all__ = ["DEFAULT_GATHER_TIMEOUT", "bound_gathering", "forget_mdns"]

DEFAULT_GATHER_TIMEOUT = 1.0
"""Seconds given to STUN/TURN servers to answer (aioice's own default: 5)."""

_ORIGINAL = ice.Connection.get_component_candidates


def bound_gathering(seconds: float = DEFAULT_GATHER_TIMEOUT) -> None:
    """Give STUN/TURN answers at most ``seconds`` in every peer connection of the process."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= 30:
        raise InputError(f"gather timeout must be a number of seconds in (0, 30], not {seconds!r}")

    @functools.wraps(_ORIGINAL)
    async def gather(
        self: ice.Connection, component: int, addresses: list[str], timeout: int = 5
    ) -> Any:
        return await _ORIGINAL(self, component, addresses, timeout=min(timeout, seconds))  # type: ignore[arg-type]

    ice.Connection.get_component_candidates = gather  # type: ignore[method-assign]


def forget_mdns() -> None:
    """Drop aioice's mDNS responder and lock, so the next ``.local`` candidate makes new
    ones on the loop that runs then (call it when an event loop starts)."""
    for name in ("lock", "protocol", "subscribers"):
        if hasattr(ice._mdns, name):
            delattr(ice._mdns, name)
