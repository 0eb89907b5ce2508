"""The benchmark driver: start both servers, measure, compare, report.

Both servers run in their own subprocess pinned to CPU 1 and this load client pins itself to
CPU 0 (on a machine with at least two CPUs), so neither steals the other's core. Phases run
one server at a time; the relay repetitions alternate between echo and coordinator so slow
drift of the machine hits both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import pstats
import random
import secrets
import statistics
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import aiohttp

from bench.figures import (
    BenchRun,
    Figure,
    Stopwatch,
    Target,
    add_output_options,
    command_line,
    machine,
    percentile,
    publish,
)

from . import fanout, relay
from .launch import raise_nofile
from .wire import REPO_ROOT, Conn, close_all, run_server

T = TypeVar("T")

__all__ = ["Settings", "build_run", "main"]

RELAY_TARGET = 0.5
"""Coordinator relay throughput must be at least this fraction of the echo server's."""
RING_P99_TARGET_MS = 5.0
"""Ring fan-out p99 must stay under this."""
PROFILE_FILE = REPO_ROOT / "bench" / "out" / "coordinator.prof"


@dataclass(frozen=True)
class Settings:
    """How much to measure: the full run, or ``--quick`` for a smoke test."""

    relay_messages: int = 30_000
    relay_reps: int = 3
    window: int = 64
    users: int = 1_000
    ring_samples: int = 300
    warmup: int = 20
    quick: bool = False

    @classmethod
    def quick_run(cls) -> Settings:
        """Small figures that finish in a few seconds (not meaningful as measurements)."""
        return cls(relay_messages=2_000, users=100, ring_samples=30, warmup=5, quick=True)


@dataclass(frozen=True)
class Figures:
    """Raw results of one run."""

    coord_rates: list[float]
    echo_rates: list[float]
    rings: dict[str, list[fanout.RingSample]]
    """By :func:`_variant` key."""
    echoes: dict[str, list[float]]
    connect_seconds: float
    echo_connect_seconds: float
    server_connections: int
    relay_frame_bytes: int
    ring1_frame_bytes: int
    ring10_frame_bytes: int


def _variant(callees: int, awake: bool) -> str:
    return f"{callees}-{'awake' if awake else 'idle'}"


@contextlib.contextmanager
def _pinned(cpu: int | None) -> Iterator[None]:
    """Pin this process to ``cpu`` for the block, then restore its affinity."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@contextlib.contextmanager
def _client_gc_paused() -> Iterator[None]:
    """Collect, then keep the load client's cyclic GC off for a timed block: a client GC
    pause would show up as server latency, for the coordinator and the baseline alike."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _health_connections(session: aiohttp.ClientSession, port: int) -> int:
    async with session.get(f"http://127.0.0.1:{port}/health") as response:
        body = await response.json()
    return int(body["connections"])


async def _each_variant(
    measure: Callable[..., Awaitable[list[T]]],
    conns: Sequence[Conn],
    settings: Settings,
    rng: random.Random,
) -> dict[str, list[T]]:
    """Run ``measure`` for 1 and 10 callees, cores kept awake and idle; same for both
    servers, so the coordinator and its echo baseline are paced identically."""
    out: dict[str, list[T]] = {}
    for awake in (True, False):
        for callees in (1, 10):
            with _client_gc_paused():
                out[_variant(callees, awake)] = await measure(
                    conns,
                    callees=callees,
                    samples=settings.ring_samples,
                    warmup=settings.warmup,
                    tag=f"r{callees}{'a' if awake else 'i'}",
                    rng=rng,
                    awake=awake,
                )
    return out


async def _measure(
    settings: Settings, server_cpu: int | None, profile: Path | None, rng: random.Random
) -> Figures:
    api_key, secret = "bench-key", secrets.token_urlsafe(32)
    # "=" form: a random secret may start with "-", which argparse would take for an option.
    coord_args = [f"--api-key={api_key}", f"--api-secret={secret}"]
    if profile is not None:
        coord_args += ["--cprofile", str(profile)]
    connector = aiohttp.TCPConnector(limit=0)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        run_server(
            "coordinator", "bench.coordinator.coordinator_server", coord_args, cpu=server_cpu
        ) as coord,
        run_server("echo", "bench.coordinator.echo_server", [], cpu=server_cpu) as echo,
    ):
        # 1. relay throughput, repetitions alternating between the two servers.
        coord_pair = await relay.coordinator_pair(session, coord.url, api_key, secret)
        session_id = coord_pair.frame[1].split('"session_id":"')[1].split('"')[0]
        echo_pair = await relay.echo_pair(session, echo.url, session_id)
        conns = [*coord_pair.conns, *echo_pair.conns]
        try:
            warm = min(2_000, settings.relay_messages)
            await relay.pump(echo_pair, warm, settings.window)
            await relay.pump(coord_pair, warm, settings.window)
            coord_rates: list[float] = []
            echo_rates: list[float] = []
            for _ in range(settings.relay_reps):
                with _client_gc_paused():
                    echo_rates.append(
                        await relay.pump(echo_pair, settings.relay_messages, settings.window)
                    )
                with _client_gc_paused():
                    coord_rates.append(
                        await relay.pump(coord_pair, settings.relay_messages, settings.window)
                    )
        finally:
            await close_all(conns)
        head, tail = coord_pair.frame
        relay_bytes = len(f"{head}m{settings.relay_messages // 2}{tail}".encode())

        # 2. ring fan-out with `users` connected users, then the echo baseline.
        started = time.perf_counter()
        users = await fanout.login_users(session, coord.url, api_key, secret, settings.users)
        connect_seconds = time.perf_counter() - started
        try:
            server_connections = await _health_connections(session, coord.port)
            rings = await _each_variant(fanout.ring_latencies, users, settings, rng)
        finally:
            await close_all(users)

        started = time.perf_counter()
        idle = await fanout.open_idle(session, echo.url, settings.users)
        echo_connect_seconds = time.perf_counter() - started
        try:
            echoes = await _each_variant(fanout.echo_round_trips, idle, settings, rng)
        finally:
            await close_all(idle)

    sizes = [
        len(fanout.ring_frame("g100", f"{tag}-100", [fanout.user_id(i) for i in range(n)]))
        for tag, n in (("r1", 1), ("r10", 10))
    ]
    return Figures(
        coord_rates=coord_rates,
        echo_rates=echo_rates,
        rings=rings,
        echoes=echoes,
        connect_seconds=connect_seconds,
        echo_connect_seconds=echo_connect_seconds,
        server_connections=server_connections,
        relay_frame_bytes=relay_bytes,
        ring1_frame_bytes=sizes[0],
        ring10_frame_bytes=sizes[1],
    )


def _ms(values: Sequence[float]) -> tuple[float, float, float]:
    return tuple(percentile(values, p) * 1000 for p in (50, 95, 99))  # type: ignore[return-value]


def _fmt_ms(p: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in p)


def _p99_figure(
    name: str, ms: tuple[float, float, float], base: tuple[float, float, float], target: bool
) -> Figure:
    """A latency figure: its p99 beside the echo RTT's p99, both with their p50 and p95."""
    return Figure(
        name,
        ms[2],
        "ms",
        base[2],
        f"aiohttp echo RTT p99 (p50 {base[0]:.2f} / p95 {base[1]:.2f})",
        Target("value", "<", RING_P99_TARGET_MS) if target else None,
        detail=f"p50 {ms[0]:.2f} / p95 {ms[1]:.2f}",
    )


def _figures(settings: Settings, f: Figures) -> list[Figure]:
    """The relay throughput, the ring latencies (p99 judged) and the informational rows."""
    figures = [
        Figure(
            f"relay throughput, call.signal msg/s (median of {settings.relay_reps})",
            statistics.median(f.coord_rates),
            "msg/s",
            statistics.median(f.echo_rates),
            "aiohttp WebSocket echo server",
            Target("ratio", ">=", RELAY_TARGET),
            digits=0,
        )
    ]
    for awake in (True, False):
        pacing = "cores kept awake" if awake else "idle 3 ms between rings"
        for callees in (1, 10):
            key = _variant(callees, awake)
            who = "1 callee" if callees == 1 else f"{callees} callees, last arrival"
            figures.append(
                _p99_figure(
                    f"ring fan-out to {who}, p99 ({pacing})",
                    _ms([s.last for s in f.rings[key]]),
                    _ms(f.echoes[key]),
                    target=True,
                )
            )
    for callees in (1, 10):
        key = _variant(callees, True)
        base = _ms(f.echoes[key])
        first = _ms([s.first for s in f.rings[key]])
        reply = _ms([s.reply for s in f.rings[key]])
        figures += [
            _p99_figure(f"ring to {callees}: first call.ring, p99 (awake)", first, base, False),
            _p99_figure(f"ring to {callees}: caller's reply, p99 (awake)", reply, base, False),
        ]
    return figures


def _conditions(settings: Settings, f: Figures, pinned: bool, profiled: bool) -> list[str]:
    notes = [
        "The coordinator's per-connection rate limit is LIFTED for this benchmark "
        "(Limits(rate_per_second=1e9, rate_burst=10**9, max_violations=10**9); default is "
        "100 msg/s, burst 200), so throughput measures the relay, not the limiter. All other "
        "settings are the defaults of `streamcall serve` with `--db :memory:`.",
        "Baseline: a bare aiohttp WebSocket echo server (same aiohttp stack and WebSocket "
        "options), measured in the same run by the same client code.",
        (
            "Each server ran in its own subprocess pinned to CPU 1; the load client was "
            "pinned to CPU 0."
            if pinned
            else "CPU pinning was not available: server and client shared the CPUs."
        ),
        f"Relay: A sends call.signal ({f.relay_frame_bytes}-byte frame, 300-byte ICE candidate) "
        f"to B's session, at most {settings.window} frames in flight, {settings.relay_messages:,} "
        f"frames per repetition, {settings.relay_reps} repetitions alternating with the echo "
        "server; B counts call.signal events. The coordinator also answers each request with a "
        "result frame to A (2 frames out per frame in); the echo server sends 1.",
        f"Ring: {settings.ring_samples} rings per variant with {settings.users} users connected; "
        "a random caller creates a new call with ring: true; latency = send -> call.ring "
        "arrival at the callee (10 callees: the last of them). Rings are paced one at a time and "
        "cancelled (untimed); the next starts once every member got call.ended. Echo RTT uses "
        f"the same request frame ({f.ring1_frame_bytes} / {f.ring10_frame_bytes} bytes) on one "
        f"of {settings.users} idle connections.",
        "Pacing 'cores kept awake': the client busy-polls its event loop while waiting and "
        "starts the next sample at once. Pacing 'idle 3 ms between rings': the client sleeps in "
        "epoll and pauses 3 ms, so both vCPUs halt; waking a halted vCPU on this VM can take up "
        "to a host timer tick (~4 ms), which shows in the p95/p99 of both servers. The awake "
        "figures are the servers' own latency; the idle ones are what an otherwise idle server "
        "on this VM delivers.",
        "The load client's cyclic GC is paused during each timed block (for both servers); "
        "the servers run unmodified.",
    ]
    if profiled:
        notes.insert(0, "PROFILED RUN: the coordinator ran under cProfile; figures are slowed.")
    return notes


def _details(settings: Settings, f: Figures) -> list[str]:
    return [
        "relay msg/s per repetition: coordinator "
        + ", ".join(f"{r:,.0f}" for r in f.coord_rates)
        + "; echo "
        + ", ".join(f"{r:,.0f}" for r in f.echo_rates),
        *(
            f"{key} ms p50 / p95 / p99: ring {_fmt_ms(_ms([s.last for s in f.rings[key]]))}; "
            f"echo RTT {_fmt_ms(_ms(f.echoes[key]))}"
            for key in f.rings
        ),
        f"{settings.users} authenticated coordinator connections opened (100 at a time) in "
        f"{f.connect_seconds:.2f} s; the coordinator's /health reported "
        f"{f.server_connections} connections during the rings",
        f"{settings.users} idle echo connections opened in {f.echo_connect_seconds:.2f} s",
        "max ms: "
        + "; ".join(
            f"{key} ring {max(s.last for s in f.rings[key]) * 1000:.2f}, "
            f"echo {max(f.echoes[key]) * 1000:.2f}"
            for key in f.rings
        ),
    ]


def build_run(
    settings: Settings, f: Figures, pinned: bool, profiled: bool, seconds: float
) -> BenchRun:
    """The figures, the conditions and the raw numbers of one run."""
    return BenchRun(
        bench="coordinator",
        title="signaling relay throughput and ring fan-out",
        quick=settings.quick,
        seconds=seconds,
        figures=_figures(settings, f),
        conditions=_conditions(settings, f, pinned, profiled),
        details=_details(settings, f),
        settings={
            "relay_messages": settings.relay_messages,
            "relay_reps": settings.relay_reps,
            "window": settings.window,
            "users": settings.users,
            "ring_samples": settings.ring_samples,
            "warmup": settings.warmup,
        },
        machine=machine(),
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.coordinator", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fast smoke run (small sizes)")
    add_output_options(p, "coordinator")
    p.add_argument("--seed", type=int, default=1, help="random seed for callers and callees")
    p.add_argument(
        "--cprofile",
        action="store_true",
        help=f"run the coordinator under cProfile, stats to {PROFILE_FILE}",
    )
    return p


def _print_profile(path: Path) -> None:
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (targets missed or not), 1 on an error."""
    watch = Stopwatch()
    args = _parser().parse_args(argv)
    settings = Settings.quick_run() if args.quick else Settings()
    cpus = os.cpu_count() or 1
    pin = cpus >= 2 and hasattr(os, "sched_setaffinity")
    profile: Path | None = PROFILE_FILE if args.cprofile else None
    raise_nofile()
    try:
        with _pinned(0 if pin else None):
            figures = asyncio.run(
                _measure(settings, 1 if pin else None, profile, random.Random(args.seed))
            )
    except Exception:
        traceback.print_exc()
        print("benchmark failed", file=sys.stderr)
        return 1
    run = build_run(settings, figures, pin, profile is not None, watch.seconds())
    publish(run, args.out, args.json, command_line(argv, "bench.coordinator"))
    if profile is not None:
        _print_profile(profile)
    return 0
