"""The outage benchmark's driver: a call, three windows, the longest frame gap of each.

See the package docstring. Everything runs in this process but the coordinator, which is
``streamcall serve`` in a subprocess so that it can be killed with SIGKILL like a crashed
server. Arrivals are timed by a frame tap (called on the engine loop for every decoded
remote frame), so a gap is the media path's, not a hook thread's.
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.figures import BenchRun, Figure, Stopwatch, Target, bench_main
from streamcall_widget import Call, CallState, StreamCall
from streamcall_widget.coordinator import mint_token
from streamcall_widget.engine.taps import LOCAL

__all__ = ["Settings", "main"]

API_KEY = "outage-bench"
GAP_TARGET_MS = 100.0
"""Issue 12: no gap over 100 ms while the coordinator is away."""


@dataclass(frozen=True)
class Settings:
    """Sizes of one run; :data:`QUICK` is the smoke run."""

    window: float = 5.0
    """Seconds of the baseline window, and of the outage before the server restarts."""
    settle: float = 2.0
    """Seconds of call before the first window (the encoders' ramp-up is not measured)."""
    quick: bool = False


QUICK = Settings(window=2.0, settle=1.0, quick=True)


class Arrivals:
    """When each remote video frame arrived, per receiving client (engine loop writes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.times: dict[str, list[float]] = {}

    def tap(self, who: str) -> Callable[[str, str, Any], None]:
        """A frame tap recording ``who``'s remote video arrivals."""
        times = self.times.setdefault(who, [])

        def record(key: str, kind: str, _frame: Any) -> None:
            if key != LOCAL and kind == "video":
                with self._lock:
                    times.append(time.monotonic())

        return record

    def window(self, start: float, end: float) -> tuple[float, int]:
        """The longest gap (ms) between two arrivals at one client in ``[start, end]``,
        counting the window's edges as arrivals, and the frames that arrived."""
        longest, frames = 0.0, 0
        with self._lock:
            for times in self.times.values():
                inside = [t for t in times if start <= t <= end]
                frames += len(inside)
                edges = [start, *inside, end]
                longest = max(longest, *(b - a for a, b in itertools.pairwise(edges)))
        return longest * 1000, frames


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(port: int, db: Path, secret: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [
            str(Path(sys.executable).parent / "streamcall"),
            "serve",
            f"--port={port}",
            f"--db={db}",
            f"--api-key={API_KEY}",
        ],
        env={**os.environ, "STREAMCALL_API_SECRET": secret},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise RuntimeError("streamcall serve exited at start")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return proc
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _wait_joined(*calls: Call) -> None:
    for call in calls:
        call.wait_until(CallState.JOINED).result(30)


def _reconnecting(*calls: Call) -> None:
    deadline = time.monotonic() + 20
    while not all(call.state is CallState.RECONNECTING for call in calls):
        if time.monotonic() > deadline:
            raise RuntimeError("the calls never noticed the outage")
        time.sleep(0.01)


@dataclass
class Measured:
    """The three windows' (longest gap ms, frames) and whether sessions were kept."""

    baseline: tuple[float, int]
    outage: tuple[float, int]
    outage_seconds: float
    """From the kill to both calls joined again."""
    drop: tuple[float, int]
    resumed_after_outage: bool
    resumed_after_drop: bool


async def _drop_socket(client: StreamCall) -> None:
    """End ``client``'s WebSocket as a broken link would (engine loop): the client sees it
    close under it and reconnects; the server takes the close (not 1000) for a drop."""
    conn = client._conn
    assert conn is not None
    assert conn._ws is not None
    await conn._ws.close(code=4001, message=b"bench: link lost")


def _measure(settings: Settings, work: Path) -> Measured:
    secret = secrets.token_hex(32)
    port, db = _free_port(), work / "calls.sqlite3"
    server = _serve(port, db, secret)
    clients: list[StreamCall] = []
    arrivals = Arrivals()
    try:
        for user in ("alice", "bob"):
            client = StreamCall(url=f"ws://127.0.0.1:{port}/ws", api_key=API_KEY)
            clients.append(client)
            client.watch_media(arrivals.tap(user))
            client.login(user, token_provider=partial(mint_token, secret, user)).result(20)
        alice, bob = clients
        outgoing = alice.call(["bob"], ring=False).result(20)
        answered = bob.join_call(outgoing.id).result(20)
        sessions = (outgoing.session_id, answered.session_id)
        time.sleep(settings.settle)

        start = time.monotonic()
        time.sleep(settings.window)
        baseline = arrivals.window(start, time.monotonic())

        start = killed = time.monotonic()
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        _reconnecting(outgoing, answered)
        time.sleep(max(0.0, settings.window - (time.monotonic() - start)))
        server = _serve(port, db, secret)
        _wait_joined(outgoing, answered)
        back = time.monotonic()
        outage = arrivals.window(start, back)
        after_outage = (outgoing.session_id, answered.session_id) == sessions

        start = time.monotonic()
        alice.engine.submit(_drop_socket(alice)).result(10)
        _reconnecting(outgoing)
        _wait_joined(outgoing)
        time.sleep(max(0.0, settings.window - (time.monotonic() - start)))
        drop = arrivals.window(start, time.monotonic())
        return Measured(
            baseline=baseline,
            outage=outage,
            outage_seconds=back - killed,
            drop=drop,
            resumed_after_outage=after_outage,
            resumed_after_drop=(outgoing.session_id, answered.session_id) == sessions,
        )
    finally:
        for client in reversed(clients):
            client.close()
        server.kill()
        server.wait(10)


def _figures(measured: Measured, settings: Settings) -> list[Figure]:
    gap = Target("value", "<=", GAP_TARGET_MS)
    base_gap, base_frames = measured.baseline
    label = f"coordinator up, {settings.window:g} s"
    return [
        Figure(
            f"longest remote-video gap, {settings.window:g} s coordinator outage (kill -9, "
            "restart on its database)",
            measured.outage[0],
            "ms",
            base_gap,
            label,
            gap,
            0,
        ),
        Figure(
            "longest remote-video gap, one client's socket dropped and resumed",
            measured.drop[0],
            "ms",
            base_gap,
            label,
            gap,
            0,
        ),
        Figure(
            "remote video frames per second during the outage",
            measured.outage[1] / measured.outage_seconds,
            "fps",
            base_frames / settings.window,
            label,
            Target("ratio", ">=", 0.95),
        ),
        Figure(
            "both calls back in the sessions they had (resumed, not rejoined)",
            float(measured.resumed_after_outage and measured.resumed_after_drop),
            "yes=1",
            target=Target("value", ">=", 1.0),
            digits=0,
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (targets missed or not), 1 on an error."""
    return bench_main("outage", __doc__, "fast smoke run (2 s windows)", argv, _run)


def _run(quick: bool, watch: Stopwatch) -> BenchRun:
    settings = QUICK if quick else Settings()
    with tempfile.TemporaryDirectory() as work:
        measured = _measure(settings, Path(work))
    return BenchRun(
        bench="outage",
        title="a call through a coordinator outage",
        quick=settings.quick,
        seconds=watch.seconds(),
        figures=_figures(measured, settings),
        conditions=[
            "two StreamCall clients in one process (synthetic camera and microphone, VP8), "
            "a 1:1 call through `streamcall serve` in a subprocess with a SQLite database",
            "gaps are between two video frames from one sender, timed by a frame tap on the "
            "engine loop; the window's edges count as frames",
            f"outage: SIGKILL, the server restarted after {settings.window:g} s, measured "
            f"until both calls were joined again ({measured.outage_seconds:.1f} s)",
            "socket drop: one client's WebSocket closed under it (code 4001) while the "
            "server stayed up; measured for the window's length from the drop",
        ],
        details=[
            f"baseline: longest gap {measured.baseline[0]:.0f} ms, {measured.baseline[1]} frames",
            f"outage: longest gap {measured.outage[0]:.0f} ms, {measured.outage[1]} frames "
            f"in {measured.outage_seconds:.2f} s",
            f"socket drop: longest gap {measured.drop[0]:.0f} ms, {measured.drop[1]} frames",
        ],
        settings={"window": settings.window, "settle": settings.settle},
    )
