"""The benchmark driver: run every variant in its own pinned subprocess, compare, report.

Each worker (:mod:`.worker`) is pinned to CPU 1 and this driver, which only waits, to
CPU 0 (on a machine with at least two CPUs). Workers run one at a time, in an order that
is reversed every round, so slow drift of a shared machine hits raw and ours alike.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import msgspec

from bench.coordinator.wire import REPO_ROOT
from bench.figures import BenchRun, Stopwatch, bench_main

from .report import build_run
from .worker import RESULT_PREFIX, VARIANTS, StartupResult, SteadyResult

__all__ = ["Results", "Settings", "main"]

STARTUP_VARIANTS = ("raw-vp8", "ours-vp8")

R = TypeVar("R")


@dataclass(frozen=True)
class Settings:
    """Sizes of one benchmark run; the defaults are the full run, :data:`QUICK` the smoke run."""

    startup_rounds: int = 3
    """Worker processes per side for the setup time."""
    startup_runs: int = 5
    """Timed setups per worker process (after one untimed warm-up)."""
    window_rounds: int = 3
    """Windows (each in a fresh worker process) per call variant."""
    settle: float = 2.0
    """Seconds from both sides' first video frame to the start of the window."""
    window: float = 10.0
    """Seconds of each CPU and frame-rate window."""
    quick: bool = False


QUICK = Settings(
    startup_rounds=1, startup_runs=2, window_rounds=1, settle=0.5, window=2.0, quick=True
)
"""``--quick``: done in about 20 s; proves the benchmark runs, measures nothing meaningful."""


@dataclass
class Results:
    """Every worker's result, by variant name."""

    startup: dict[str, list[StartupResult]]
    windows: dict[str, list[SteadyResult]]


@dataclass(frozen=True)
class _Job:
    """One worker run: a variant and its options."""

    variant: str
    args: tuple[str, ...]


def _schedule(names: Sequence[str], rounds: int, args: tuple[str, ...]) -> list[_Job]:
    """``rounds`` passes over ``names``, every other one in reverse order."""
    jobs: list[_Job] = []
    for r in range(rounds):
        ordered = names if r % 2 == 0 else list(reversed(names))
        jobs += [_Job(name, args) for name in ordered]
    return jobs


def _run_worker(job: _Job, cpu: int | None, timeout: float) -> str:
    """Run one worker to completion and return its JSON result."""
    argv = [sys.executable, "-m", "bench.media.worker", job.variant, *job.args]
    if cpu is not None:
        argv += ["--cpu", str(cpu)]
    done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"worker {job.variant} exited with {done.returncode}:\n{done.stderr[-3000:]}"
        )
    print(f"  {job.variant} {' '.join(job.args)}: done", file=sys.stderr, flush=True)
    return lines[-1][len(RESULT_PREFIX) :]


def _run_all(
    jobs: list[_Job], cpu: int | None, timeout: float, kind: type[R]
) -> dict[str, list[R]]:
    """Run ``jobs`` one after the other and group their decoded results by variant."""
    by_variant: dict[str, list[R]] = {}
    for job in jobs:
        output = _run_worker(job, cpu, timeout)
        by_variant.setdefault(job.variant, []).append(msgspec.json.decode(output, type=kind))
    return by_variant


def _measure(settings: Settings, cpu: int | None) -> Results:
    startup_jobs = _schedule(
        STARTUP_VARIANTS, settings.startup_rounds, ("--startup", str(settings.startup_runs))
    )
    window_args = ("--settle", str(settings.settle), "--window", str(settings.window))
    window_jobs = _schedule(list(VARIANTS), settings.window_rounds, window_args)
    timeout = 120.0 + 30.0 * settings.startup_runs + settings.window
    return Results(
        startup=_run_all(startup_jobs, cpu, timeout, StartupResult),
        windows=_run_all(window_jobs, cpu, timeout, SteadyResult),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (targets missed or not), 1 on an error."""
    return bench_main("media", __doc__, "fast smoke run (small sizes)", argv, _run)


def _run(quick: bool, watch: Stopwatch) -> BenchRun:
    settings = QUICK if quick else Settings()
    pinned = (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity")
    if pinned:
        os.sched_setaffinity(0, {0})
    results = _measure(settings, 1 if pinned else None)
    return build_run(settings, results, pinned, watch.seconds())
