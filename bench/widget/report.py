"""The CallView benchmark's figures, each beside its same-run baseline, ratio and target.

The table is rendered like bench.media's (:func:`bench.media.report.render_media`); the
JSON holds the same rows as numbers, the conditions, the per-window raw figures and the
machine.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.coordinator.report import Report, Row, machine, percentile
from bench.media.tally import FPS, HEIGHT, WIDTH

from .page import Draw, PageWindow

__all__ = ["Figure", "Phase", "Results", "Settings", "WidgetReport", "build_report", "to_json"]

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


@dataclass(frozen=True)
class Settings:
    """Sizes of one run."""

    seconds: float = 60.0
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
    """The three windows of one run."""

    hidden: Phase
    shown: Phase
    throttled: Phase
    throttle_ms: float


@dataclass(frozen=True)
class Figure:
    """One row as numbers."""

    measure: str
    value: float
    baseline: float
    baseline_label: str
    ratio: float
    target: str
    passed: bool
    unit: str


@dataclass(frozen=True)
class WidgetReport:
    """The figures and the rendered report."""

    figures: list[Figure]
    report: Report


def _median(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else math.nan


def _cpu_per_frame_ms(results: Results) -> tuple[float, float, float]:
    """Encoder CPU per frame sent, whole-kernel CPU per frame sent over the hidden
    baseline, and the hidden call's kernel CPU per frame received, all ms."""
    shown, hidden = results.shown, results.hidden
    frames = shown.delta("pipe", "frames")
    encode = shown.delta("pipe", "encode_cpu_seconds") / frames * 1000
    extra = (shown.rate("cpu") - hidden.rate("cpu")) / shown.rate("pipe", "frames") * 1000
    call = hidden.rate("cpu") / hidden.rate("received") * 1000
    return encode, extra, call


def _figures(results: Results) -> list[Figure]:
    shown, throttled = results.shown, results.throttled
    assert shown.page is not None
    assert throttled.page is not None
    drawn_fps = len(shown.fresh_draws()) / shown.page.seconds
    received_fps = shown.rate("received")
    latencies = shown.latencies()
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    animation_ms = shown.page.seconds * 1000 / shown.page.raf_frames
    slow = throttled.latencies()
    slow_p95 = percentile(slow, 95)
    slow_interval = throttled.page.seconds * 1000 / len(slow)
    third = len(slow) // 3
    first, last = statistics.median(slow[:third]), statistics.median(slow[-third:])
    encode, extra, call = _cpu_per_frame_ms(results)
    frame_label = "ms of page animation frame interval"
    call_label = "ms: kernel CPU per frame received, view hidden"
    rows = [
        (
            "frames drawn per second in the page",
            drawn_fps,
            received_fps,
            "fps received by alice's kernel",
            f">= {FPS_TARGET:g}x",
            drawn_fps >= FPS_TARGET * received_fps,
            "fps",
        ),
        (
            "kernel-to-paint latency p50",
            p50,
            animation_ms,
            frame_label,
            f"<= {P50_TARGET_MS:g} ms",
            p50 <= P50_TARGET_MS,
            "ms",
        ),
        (
            "kernel-to-paint latency p95",
            p95,
            animation_ms,
            frame_label,
            f"<= {P95_TARGET_MS:g} ms",
            p95 <= P95_TARGET_MS,
            "ms",
        ),
        (
            f"latency p95, page drawing at most every {results.throttle_ms:g} ms",
            slow_p95,
            slow_interval,
            "ms between draws (throttled)",
            f"<= {THROTTLED_TARGET_FRAMES * results.throttle_ms:g} ms",
            slow_p95 <= THROTTLED_TARGET_FRAMES * results.throttle_ms,
            "ms",
        ),
        (
            "throttled latency p50, last third of the window",
            last,
            first,
            "ms: p50 of the first third",
            f"<= first + {GROWTH_TARGET_MS:.1f} ms",
            last <= first + GROWTH_TARGET_MS,
            "ms",
        ),
        (
            "kernel CPU per frame sent: pipe encode_cpu_seconds / frames",
            encode,
            call,
            call_label,
            f"<= {CPU_TARGET_MS:g} ms",
            encode <= CPU_TARGET_MS,
            "ms",
        ),
        (
            "kernel CPU per frame sent: whole process, shown minus hidden",
            extra,
            call,
            call_label,
            f"<= {CPU_TARGET_MS:g} ms",
            extra <= CPU_TARGET_MS,
            "ms",
        ),
    ]
    return [
        Figure(measure, value, base, label, value / base, target, passed, unit)
        for measure, value, base, label, target, passed, unit in rows
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


def _notes(settings: Settings, pinned: bool, throttle_ms: float) -> list[str]:
    notes = [
        f"Source: bob's synthetic camera, {WIDTH}x{HEIGHT} at {FPS} fps, a frame counter "
        "stamped into each frame by his video processor; alice's CallView in JupyterLab "
        "(headless Debian Chromium, 1280x1024 page, device scale factor 1), tile layout "
        f"grid, bench CSS pinning the remote tile's canvas at {WIDTH}x{HEIGHT} and hiding "
        "the local preview tile (so only the remote tile is encoded). Both clients in one "
        "kernel on an embedded coordinator; VP8; the page also plays the call's audio.",
        f"Three windows of {settings.seconds:g} s on the same call, each after a "
        f"{settings.settle:g} s settle: hidden "
        "(view created, not displayed: nothing encoded or sent), shown (native animation "
        f"frames), throttled (requestAnimationFrame wrapped to run callbacks at most every "
        f"{throttle_ms:g} ms).",
        "Frames drawn: distinct frames (by ts) the page's draw hook reported for the remote "
        "tile over the page's window; baseline: frames alice's kernel received from bob "
        "over the kernel's window (the two windows differ by one kernel round trip).",
        "Latency: drawnAt (performance.timeOrigin + now) minus ts (kernel time.time() when "
        "the pipe got the frame), first paint of each frame; the id read back from the "
        "canvas is matched to the kernel's arrival time of that id (details).",
        "Kernel CPU: pipe encode_cpu_seconds / frames in the shown window; whole process: "
        "(CPU s/s shown - CPU s/s hidden) / tiles sent per second shown. Baseline column: "
        "the hidden call's kernel CPU per frame received (two clients' decode, encode, "
        "stamp, tap).",
        (
            "The kernel (all its threads) was pinned to CPU 1; this driver, the Jupyter "
            "server and Chromium to CPU 0."
            if pinned
            else "Nothing was pinned (--no-pin, or one CPU or no sched_setaffinity)."
        ),
    ]
    if settings.quick:
        notes.insert(0, "SHORT RUN: windows shorter than 60 s, figures are indicative only.")
    return notes


def build_report(settings: Settings, pinned: bool, results: Results) -> WidgetReport:
    """Rows with targets and verdicts, the conditions, and the raw per-window figures."""
    figures = _figures(results)
    rows = [
        Row(
            f"{f.measure}, {f.unit}",
            f"{f.value:.2f}",
            f"{f.baseline:.2f} ({f.baseline_label})",
            f"{f.ratio:.2f}x",
            f.target,
            f.passed,
        )
        for f in figures
    ]
    shown_phases = (results.shown, results.throttled)
    details = [
        *(_kernel_detail(p) for p in (results.hidden, *shown_phases)),
        *(_breakdown(p) for p in shown_phases),
        *(_stamp_check(p) for p in shown_phases),
    ]
    notes = _notes(settings, pinned, results.throttle_ms)
    return WidgetReport(figures, Report("streamcall CallView benchmark", rows, notes, details))


def to_json(report: WidgetReport, settings: Settings, results: Results) -> dict[str, Any]:
    """Everything the JSON file holds."""
    return {
        "title": report.report.title,
        "machine": machine(),
        "figures": {
            f.measure: {
                "value": f.value,
                "unit": f.unit,
                "baseline": f.baseline,
                "baseline_label": f.baseline_label,
                "ratio": f.ratio,
                "target": f.target,
                "passed": f.passed,
            }
            for f in report.figures
        },
        "settings": {"seconds": settings.seconds, "settle": settings.settle},
        "frames_drawn": len(results.shown.fresh_draws()),
        "notes": report.report.notes,
        "details": report.report.details,
    }
