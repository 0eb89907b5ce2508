"""The CallView benchmark's figures, each beside its same-run baseline, and its conditions."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.figures import BenchRun, Figure, Target, machine, percentile
from bench.media.tally import FPS, HEIGHT, WIDTH

from .page import Draw, PageWindow

__all__ = ["Phase", "Results", "Settings", "build_run"]

FPS_TARGET = 0.98
"""Frames drawn per second, at least this fraction of the rate the kernel received."""
P50_TARGET_MS, P95_TARGET_MS = 15.0, 30.0
THROTTLED_TARGET_FRAMES = 2
"""With a 10 fps page, latency within this many of its frame intervals."""
GROWTH_TARGET_MS = 1000 / FPS
"""Last third's median latency at most this above the first third's (one source frame)."""
CPU_TARGET_MS = 1.5
"""Kernel CPU per 480p frame sent."""
STAMP_MATCH_MS = 5.0
"""A drawn frame's ``ts`` and the kernel's arrival time of the id read from its pixels
come from two taps on the same frame: farther apart than this, they are different frames."""


FULL_SECONDS = 60.0
"""The full run's window length: the frame rate figure needs a minute."""


@dataclass(frozen=True)
class Settings:
    """Sizes of one run."""

    seconds: float = FULL_SECONDS
    """Each window's length."""
    settle: float = 3.0
    """Seconds before each window (first keyframes, bitrate ramp-up, the page's layout)."""
    quick: bool = False


@dataclass(frozen=True)
class Phase:
    """One window: the kernel's counters at both ends, and the page's draws if shown."""

    name: str
    kernel_start: dict[str, Any]
    kernel_end: dict[str, Any]
    page: PageWindow | None
    processes: dict[str, float]
    """CPU seconds per second of the bench's processes by kind, over the window."""

    @property
    def seconds(self) -> float:
        """The kernel's wall-clock length of the window."""
        return float(self.kernel_end["wall_ms"] - self.kernel_start["wall_ms"]) / 1000

    def delta(self, *path: str) -> float:
        """How much a kernel counter (a key path into the snapshot) grew in the window."""
        end: Any = self.kernel_end
        start: Any = self.kernel_start
        for key in path:
            end, start = end[key], start[key]
        return float(end - start)

    def rate(self, *path: str) -> float:
        """A kernel counter's growth per second."""
        return self.delta(*path) / self.seconds

    def threads(self) -> dict[str, float]:
        """Kernel CPU seconds per second by thread group."""
        start, end = self.kernel_start["threads"], self.kernel_end["threads"]
        return {
            name: (seconds - start.get(name, 0.0)) / self.seconds
            for name, seconds in sorted(end.items())
        }

    def tile_sizes(self) -> dict[str, int]:
        """JPEG tiles sent in the window, by size."""
        return dict(
            Counter(self.kernel_end["tile_sizes"]) - Counter(self.kernel_start["tile_sizes"])
        )

    def fresh_draws(self) -> list[Draw]:
        """The first paint of each frame (repaints of the same frame after a resize left
        out), in paint order."""
        seen: set[float] = set()
        fresh = []
        for draw in self.page.draws if self.page is not None else []:
            if draw.ts not in seen:
                seen.add(draw.ts)
                fresh.append(draw)
        return fresh

    def latencies(self) -> list[float]:
        """Kernel-to-paint latency of each frame, ms."""
        return [d.drawn_at - d.ts for d in self.fresh_draws()]


@dataclass(frozen=True)
class Results:
    """The four windows of one run, in the order they ran."""

    hidden_before: Phase
    shown: Phase
    hidden_after: Phase
    throttled: Phase
    throttle_ms: float

    @property
    def phases(self) -> tuple[Phase, Phase, Phase, Phase]:
        """Every window, in the order they ran."""
        return (self.hidden_before, self.shown, self.hidden_after, self.throttled)

    @property
    def hidden_cpu(self) -> float:
        """The hidden call's kernel CPU, s/s: the mean of the windows before and after the
        shown one, so a slow drift of the machine cancels out of the shown-minus-hidden
        difference."""
        return (self.hidden_before.rate("cpu") + self.hidden_after.rate("cpu")) / 2

    @property
    def hidden_received(self) -> float:
        """Frames per second alice's kernel received while hidden (mean of both windows)."""
        return (self.hidden_before.rate("received") + self.hidden_after.rate("received")) / 2


def _median(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else math.nan


def _cpu_per_frame_ms(results: Results) -> tuple[float, float, float]:
    """Encoder CPU per frame sent, whole-kernel CPU per frame sent over the hidden
    baseline, and the hidden call's kernel CPU per frame received, all ms."""
    shown = results.shown
    frames = shown.delta("pipe", "frames")
    encode = shown.delta("pipe", "encode_cpu_seconds") / frames * 1000
    extra = (shown.rate("cpu") - results.hidden_cpu) / shown.rate("pipe", "frames") * 1000
    call = results.hidden_cpu / results.hidden_received * 1000
    return encode, extra, call


def _figures(results: Results) -> list[Figure]:
    shown, throttled = results.shown, results.throttled
    assert shown.page is not None
    assert throttled.page is not None
    latencies = shown.latencies()
    animation_ms = shown.page.seconds * 1000 / shown.page.raf_frames
    frame_label = "the page's animation frame interval"
    slow = throttled.latencies()
    third = len(slow) // 3
    encode, extra, call = _cpu_per_frame_ms(results)
    call_label = "kernel CPU per frame received, view hidden"
    before, after = (p.rate("cpu") * 100 for p in (results.hidden_before, results.hidden_after))
    return [
        Figure(
            "frames drawn per second in the page",
            len(shown.fresh_draws()) / shown.page.seconds,
            "fps",
            shown.rate("received"),
            "frames per second alice's kernel received",
            Target("ratio", ">=", FPS_TARGET),
        ),
        Figure(
            "kernel-to-paint latency p50",
            percentile(latencies, 50),
            "ms",
            animation_ms,
            frame_label,
            Target("value", "<=", P50_TARGET_MS),
            digits=1,
        ),
        Figure(
            "kernel-to-paint latency p95",
            percentile(latencies, 95),
            "ms",
            animation_ms,
            frame_label,
            Target("value", "<=", P95_TARGET_MS),
            digits=1,
        ),
        Figure(
            f"latency p95, page drawing at most every {results.throttle_ms:g} ms",
            percentile(slow, 95),
            "ms",
            throttled.page.seconds * 1000 / len(slow),
            "time between draws, throttled",
            Target("value", "<=", THROTTLED_TARGET_FRAMES * results.throttle_ms),
            digits=1,
        ),
        Figure(
            "throttled latency p50, last third of the window",
            statistics.median(slow[-third:]) if third else math.nan,
            "ms",
            statistics.median(slow[:third]) if third else math.nan,
            "p50 of the first third",
            Target("excess", "<=", GROWTH_TARGET_MS),
            digits=1,
        ),
        Figure(
            "kernel CPU per frame sent: pipe encode CPU / frames",
            encode,
            "ms",
            call,
            call_label,
            Target("value", "<=", CPU_TARGET_MS),
        ),
        Figure(
            "kernel CPU per frame sent: whole process, shown minus hidden",
            extra,
            "ms",
            call,
            call_label,
            Target("value", "<=", CPU_TARGET_MS),
            detail=(
                f"kernel CPU shown {shown.rate('cpu') * 100:.1f} %, hidden {before:.1f} % "
                f"before and {after:.1f} % after (mean {results.hidden_cpu * 100:.1f} %) of "
                "one core"
            ),
        ),
    ]


def _stamp_check(phase: Phase) -> str:
    """Whether the pixels drawn are the frame whose ``ts`` the page reported."""
    arrivals = phase.kernel_end["arrivals"]
    draws = phase.fresh_draws()
    read = [d for d in draws if d.stamp is not None]
    known = [d for d in read if str(d.stamp) in arrivals]
    matching = [d for d in known if abs(arrivals[str(d.stamp)] - d.ts) <= STAMP_MATCH_MS]
    ids = [d.stamp for d in read]
    rising = sum(1 for a, b in itertools.pairwise(ids) if a is not None and b is not None and b > a)
    return (
        f"{phase.name}: {len(draws)} frames drawn, stamp read in {len(read)}; "
        f"{len(known)} ids known to the kernel, {len(matching)} with the kernel's arrival "
        f"time within {STAMP_MATCH_MS:g} ms of the frame's ts; ids rising in "
        f"{rising}/{max(len(ids) - 1, 0)} consecutive draws"
    )


def _breakdown(phase: Phase) -> str:
    draws = phase.fresh_draws()
    sent = dict(phase.kernel_end["sent"])
    queued = _median([sent.get(d.ts, math.nan) - d.ts for d in draws])
    wire = _median([d.received - sent.get(d.ts, math.nan) for d in draws])
    decode = _median([d.decoded - d.received for d in draws])
    wait = _median([d.drawn_at - d.decoded for d in draws])
    latencies = phase.latencies()
    assert phase.page is not None
    sizes = Counter(f"{w}x{h}" for d in phase.page.draws for w, h in [d.canvas])
    return (
        f"{phase.name}: latency medians: kernel ts -> sent (pipe's wait for the flow "
        f"window, encode) {queued:.1f} ms, sent -> page decode start {wire:.1f} ms, "
        f"decode {decode:.1f} ms, decoded -> painted {wait:.1f} ms; latency min "
        f"{min(latencies):.1f}, p50 {percentile(latencies, 50):.1f}, p95 "
        f"{percentile(latencies, 95):.1f}, p99 {percentile(latencies, 99):.1f}, max "
        f"{max(latencies):.1f} ms; canvas sizes {dict(sizes)}; data-frames-drawn "
        f"+{phase.page.frames_drawn} in {phase.page.seconds:.2f} s; native animation frames "
        f"{phase.page.raf_frames}; page clock offset (Date.now - timeOrigin-based) "
        f"{phase.page.clock_offset_ms:.1f} ms"
    )


def _kernel_detail(phase: Phase) -> str:
    threads = ", ".join(
        f"{name} {share * 100:.1f} %"
        for name, share in sorted(phase.threads().items(), key=lambda i: -i[1])
        if share > 0
    )
    processes = ", ".join(
        f"{kind} {share * 100:.1f} %"
        for kind, share in sorted(phase.processes.items(), key=lambda i: -i[1])
        if share > 0
    )
    return (
        f"{phase.name}: processes' CPU, % of one core: {processes}. "
        f"Kernel {phase.seconds:.2f} s, CPU {phase.rate('cpu') * 100:.1f} % of "
        f"one core (by thread: {threads}); received {phase.delta('received'):.0f} frames "
        f"({phase.delta('unstamped'):.0f} unstamped); pipe sent "
        f"{phase.delta('pipe', 'frames'):.0f} tiles in "
        f"{phase.delta('pipe', 'messages'):.0f} messages, "
        f"{phase.delta('pipe', 'bytes') / 1e6:.2f} MB, encode CPU "
        f"{phase.delta('pipe', 'encode_cpu_seconds'):.3f} s; JPEG sizes {phase.tile_sizes()}"
    )


def _warnings(results: Results) -> list[str]:
    """A hidden window in which the pipe still sent tiles: its CPU is no clean baseline."""
    return [
        f"WARNING: the {p.name} window sent {p.delta('pipe', 'frames'):.0f} tiles; its kernel "
        "CPU includes encoding them, so the hidden baseline is too high."
        for p in (results.hidden_before, results.hidden_after)
        if p.delta("pipe", "frames") > 0
    ]


def _conditions(settings: Settings, pinned: bool, throttle_ms: float) -> list[str]:
    notes = [
        f"Source: bob's synthetic camera, {WIDTH}x{HEIGHT} at {FPS} fps, a frame counter "
        "stamped into each frame by his video processor; alice's CallView in JupyterLab "
        "(headless Debian Chromium, 1280x1024 page, device scale factor 1), tile layout "
        f"grid, bench CSS pinning the remote tile's canvas at {WIDTH}x{HEIGHT} and hiding "
        "the local preview tile (so only the remote tile is encoded). Both clients in one "
        "kernel on an embedded coordinator; VP8; the page also plays the call's audio.",
        f"Four windows of {settings.seconds:g} s on the same call, each after a "
        f"{settings.settle:g} s settle, in this order: hidden before (view created, not "
        "displayed: nothing encoded or sent), shown (native animation frames), hidden after "
        "(the cell's output cleared: no view on the page), throttled (the view displayed "
        f"again; requestAnimationFrame wrapped to run callbacks at most every {throttle_ms:g} "
        "ms).",
        "Frames drawn: distinct frames (by ts) the page's draw hook reported for the remote "
        "tile over the page's window; baseline: frames alice's kernel received from bob "
        "over the kernel's window (the two windows differ by one kernel round trip).",
        "Latency: drawnAt (performance.timeOrigin + now) minus ts (kernel time.time() when "
        "the pipe got the frame), first paint of each frame; the id read back from the "
        "canvas is matched to the kernel's arrival time of that id (details).",
        "Kernel CPU: pipe encode_cpu_seconds / frames in the shown window; whole process: "
        "(CPU s/s shown - CPU s/s hidden) / tiles sent per second shown, where CPU s/s "
        "hidden is the mean of the hidden windows just before and just after the shown one "
        "(both reported), so a linear drift of the machine cancels. Baseline column: the "
        "hidden call's kernel CPU per frame received (two clients' decode, encode, stamp, "
        "tap), from the same two windows.",
        (
            "The kernel (all its threads) was pinned to CPU 1; this driver, the Jupyter "
            "server and Chromium to CPU 0."
            if pinned
            else "Nothing was pinned (--no-pin, or one CPU or no sched_setaffinity)."
        ),
    ]
    if settings.seconds < FULL_SECONDS:
        notes.insert(
            0, f"SHORT RUN: windows shorter than {FULL_SECONDS:g} s, figures are indicative only."
        )
    return notes


def build_run(settings: Settings, pinned: bool, results: Results, seconds: float) -> BenchRun:
    """The figures, the conditions and the raw per-window figures of one run."""
    shown_phases = (results.shown, results.throttled)
    details = [
        *(_kernel_detail(p) for p in results.phases),
        *(_breakdown(p) for p in shown_phases),
        *(_stamp_check(p) for p in shown_phases),
    ]
    return BenchRun(
        bench="widget",
        title="CallView in JupyterLab and headless Chromium",
        quick=settings.quick,
        seconds=seconds,
        figures=_figures(results),
        conditions=[*_warnings(results), *_conditions(settings, pinned, results.throttle_ms)],
        details=details,
        settings={
            "seconds": settings.seconds,
            "settle": settings.settle,
            "throttle_ms": results.throttle_ms,
        },
        machine=machine(),
    )
