"""A loopback port for a server a test must restart on the same port.

Servers that can bind port 0 do. One that is killed and started again must come back on a
port it knows beforehand, and a port taken from port 0 and released is in the kernel's
ephemeral range: while the suite runs on two workers, the other worker's next port-0 server
may be handed that very port before ours binds it (then ``/health`` answers from the wrong
server). Ports below the ephemeral range are never handed out for port 0.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["free_port"]

_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A loopback port free right now, below the ephemeral range (so no port-0 bind of
    another test can take it before the caller binds it)."""
    low = int(_EPHEMERAL.read_text().split()[0]) if _EPHEMERAL.exists() else 32768
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port below {low}")
