"""Shared plumbing of the server launchers: CPU pinning, file limits and the ready line.

Each server runs in its own process (``python -m bench.coordinator.<server>``) so it has a
core to itself; it prints ``PORT <n>`` on stdout once it listens (port 0 means the kernel
chose) and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import resource
import signal
from collections.abc import Awaitable, Callable

__all__ = ["READY_PREFIX", "Starter", "Stopper", "parser", "raise_nofile", "serve_main"]

Stopper = Callable[[], Awaitable[None]]
"""Stops a started server and releases its sockets."""
Starter = Callable[[int], Awaitable[tuple[int, Stopper]]]
"""Starts a server on a port (0: any) and returns the bound port and its stopper."""

READY_PREFIX = "PORT "
"""What a launcher prints, followed by the port, once it accepts connections."""


def raise_nofile(wanted: int = 16_384) -> int:
    """Raise RLIMIT_NOFILE's soft limit towards ``wanted`` (1 000 sockets need it); the new
    soft limit is returned."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def parser(description: str) -> argparse.ArgumentParser:
    """The options every launcher takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--port", type=int, default=0, help="0: let the kernel choose")
    p.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    p.add_argument("--cprofile", default=None, help="write cProfile stats here on exit")
    return p


async def _serve_until_signal(start: Starter, port: int) -> None:
    bound, stop_server = await start(port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"{READY_PREFIX}{bound}", flush=True)
    try:
        await stop.wait()
    finally:
        await stop_server()


def serve_main(
    args: argparse.Namespace,
    start: Starter,
) -> int:
    """Pin, raise limits, run ``start(port) -> (bound port, stop)`` until a signal.

    With ``--cprofile`` the whole event loop runs under cProfile (figures are then slower;
    this is for finding where time goes, not for measuring)."""
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {args.cpu})
    raise_nofile()
    profiler = cProfile.Profile() if args.cprofile else None
    if profiler is not None:
        profiler.enable()
    try:
        asyncio.run(_serve_until_signal(start, args.port))
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.cprofile)
    return 0
