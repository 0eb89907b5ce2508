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

__all__ = ["Paths", "Phase", "Results", "Settings", "build_run"]

FPS_TARGET = 0.98
"""Frames drawn per second, at least this fraction of the rate the kernel received."""
P50_TARGET_MS, P95_TARGET_MS = 15.0, 30.0
THROTTLED_TARGET_FRAMES = 2
"""With a 10 fps page, latency within this many of its frame intervals."""
GROWTH_TARGET_MS = 1000 / FPS
"""Last third's median latency at most this above the first third's (one source frame)."""
CPU_TARGET_MS = 1.5
"""Kernel CPU per 480p frame sent."""
WEBRTC_FPS_TARGET = 0.98
"""WebRTC path: frames drawn per second, at least this fraction of the source's rate."""
WEBRTC_LATENCY_TARGET = 0.5
"""WebRTC path: latency p50 at most this fraction of the JPEG pipe's."""
THIN_TARGET = 1.25
"""The JPEG pipe's latency p50 at most this multiple of the thinnest pipe's."""
STAMP_MATCH_MS = 5.0
"""A drawn frame's ``ts`` and the kernel's arrival time of the id read from its pixels
come from two taps on the same frame: farther apart than this, they are different frames."""


FULL_SECONDS = 60.0
AUX_SECONDS = 20.0
"""The quickstart and uplink windows' length at most (their figures need less than a minute)."""
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

    def fresh_draws(self, *, view: int | None = None, local: bool = False) -> list[Draw]:
        """The first paint of each frame (repaints of the same frame after a resize left
        out), in paint order, of the remote tiles (``local``: the self-previews) of one
        view or (None) of all. A canvas frame is known by its ``ts``; every native draw is
        a frame of its own (requestVideoFrameCallback runs once per presented frame)."""
        seen: set[tuple[int, str, float]] = set()
        fresh = []
        for draw in self.page.draws if self.page is not None else []:
            if draw.local != local or (view is not None and draw.view != view):
                continue
            if draw.native:
                fresh.append(draw)
            elif (draw.view, draw.key, draw.ts) not in seen:
                seen.add((draw.view, draw.key, draw.ts))
                fresh.append(draw)
        return fresh

    def kernel_time(self, draw: Draw) -> float:
        """When the kernel got the frame ``draw`` painted: its ``ts``, or for a native
        frame the kernel's arrival time of the id read from it (NaN if unknown)."""
        if not draw.native:
            return draw.ts
        arrived = self.kernel_end["arrivals"].get(str(draw.stamp))
        return float(arrived) if arrived is not None else math.nan

    def latencies(self) -> list[float]:
        """Kernel-to-paint latency of each frame whose kernel time is known, ms."""
        times = ((d.drawn_at, self.kernel_time(d)) for d in self.fresh_draws())
        return [drawn - kernel for drawn, kernel in times if math.isfinite(kernel)]

    def page_cpu(self) -> float:
        """Chromium's processes' CPU seconds per second (renderer, GPU, browser, ...)."""
        return sum(v for kind, v in self.processes.items() if kind.startswith("chromium"))

    def tile_rates(self, views: int) -> dict[str, float]:
        """Frames drawn per second of each tile of the first ``views`` views on the page,
        by ``view N remote|local`` (a tile that drew nothing: 0)."""
        assert self.page is not None
        return {
            f"view {view} {'local' if local else 'remote'}": len(
                self.fresh_draws(view=view, local=local)
            )
            / self.page.seconds
            for view in range(views)
            for local in (False, True)
        }


@dataclass(frozen=True)
class Paths:
    """The windows comparing the media paths (issue 13), on the same call."""

    webrtc: Phase
    """Alice's view shown, ``media_path="webrtc"``: the tile is a native video."""
    thin: Phase
    """No CallView shown: the thinnest anywidget JPEG pipe (:mod:`.thin`) alone."""
    quick_webrtc: Phase
    """Alice's and bob's views in one page, every tile shown, WebRTC."""
    quick_pipe: Phase
    """The same, JPEG pipe."""
    uplink_webrtc: Phase
    """Alice's page camera (a stamped clock canvas) to bob's kernel over the link."""
    uplink_pipe: Phase
    """The same with ``media_path="pipe"`` (the widget channel's uplink)."""

    @property
    def phases(self) -> tuple[Phase, ...]:
        """Every window, in the order they ran (the thin pipe ran before the others)."""
        return (
            self.thin,
            self.webrtc,
            self.quick_webrtc,
            self.quick_pipe,
            self.uplink_webrtc,
            self.uplink_pipe,
        )


@dataclass(frozen=True)
class Results:
    """The four windows of one run, in the order they ran."""

    hidden_before: Phase
    shown: Phase
    hidden_after: Phase
    throttled: Phase
    throttle_ms: float
    paths: Paths

    @property
    def phases(self) -> tuple[Phase, Phase, Phase, Phase]:
        """The four windows of the JPEG pipe's figures, in the order they ran."""
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


def _pct(values: list[float], p: float) -> float:
    """``percentile``, NaN for no values (a path that drew nothing)."""
    return percentile(values, p) if values else math.nan


def _latency(
    name: str,
    p: int,
    values: list[float],
    baseline: list[float],
    baseline_label: str,
    *,
    target: Target | None = None,
    suffix: str = "",
    detail: str = "",
) -> Figure:
    """Figure ``name pP``: the ``p``-th percentile of ``values`` beside ``baseline``'s
    (``{}`` in ``baseline_label`` becomes ``pP``)."""
    return Figure(
        f"{name} p{p}{suffix}",
        _pct(values, p),
        "ms",
        _pct(baseline, p),
        baseline_label.format(f"p{p}"),
        target,
        digits=1,
        detail=detail,
    )


def _drawn_rate(phase: Phase) -> float:
    assert phase.page is not None
    return len(phase.fresh_draws()) / phase.page.seconds


def _cpu_detail(phase: Phase) -> str:
    return (
        f"kernel {phase.rate('cpu') * 100:.1f} %, page (Chromium) {phase.page_cpu() * 100:.1f} "
        "% of one core"
    )


def _path_figures(results: Results) -> list[Figure]:
    """Issue 13: the WebRTC path, the JPEG pipe and the thinnest pipe side by side, the
    quickstart's two views, and the page camera's way up to the other kernel."""
    paths = results.paths
    pipe, webrtc, thin = results.shown, paths.webrtc, paths.thin
    pipe_latency, webrtc_latency, thin_latency = (p.latencies() for p in (pipe, webrtc, thin))
    hidden_label = "kernel CPU, view hidden (mean of both windows)"
    figures = [
        Figure(
            "webrtc: frames drawn per second in the page",
            _drawn_rate(webrtc),
            "fps",
            float(FPS),
            "the source's frame rate",
            Target("ratio", ">=", WEBRTC_FPS_TARGET),
            detail=f"kernel received {webrtc.rate('received'):.2f} fps in the window",
        ),
        _latency(
            "webrtc: kernel-to-paint latency",
            50,
            webrtc_latency,
            pipe_latency,
            "the JPEG pipe's {} (shown window)",
            target=Target("ratio", "<=", WEBRTC_LATENCY_TARGET),
        ),
        _latency(
            "webrtc: kernel-to-paint latency",
            95,
            webrtc_latency,
            pipe_latency,
            "the JPEG pipe's {} (shown window)",
        ),
        Figure(
            "thin pipe: frames drawn per second in the page",
            _drawn_rate(thin),
            "fps",
            thin.rate("received"),
            "frames per second alice's kernel received",
        ),
        _latency(
            "JPEG pipe latency",
            50,
            pipe_latency,
            thin_latency,
            "the thinnest anywidget JPEG pipe's {}",
            target=Target("ratio", "<=", THIN_TARGET),
            suffix=" against the thinnest pipe's",
        ),
        _latency(
            "thin pipe: kernel-to-paint latency",
            95,
            thin_latency,
            pipe_latency,
            "the JPEG pipe's {}",
        ),
    ]
    for label, phase in (("JPEG pipe", pipe), ("webrtc", webrtc), ("thin pipe", thin)):
        figures += [
            Figure(
                f"kernel CPU per second of call: {label}",
                phase.rate("cpu") * 100,
                "%",
                results.hidden_cpu * 100,
                hidden_label,
                digits=1,
            ),
            Figure(
                f"page CPU per second of call: {label}",
                phase.page_cpu() * 100,
                "%",
                results.hidden_before.page_cpu() * 100,
                "Chromium's CPU, view hidden (before)",
                digits=1,
                detail=", ".join(
                    f"{kind} {share * 100:.1f} %"
                    for kind, share in sorted(phase.processes.items())
                    if kind.startswith("chromium")
                ),
            ),
        ]
    for label, phase in (("webrtc", paths.quick_webrtc), ("pipe", paths.quick_pipe)):
        rates = phase.tile_rates(views=2)
        figures.append(
            Figure(
                f"quickstart, two views, {label}: frames drawn per tile per second, slowest tile",
                min(rates.values(), default=math.nan),
                "fps",
                float(FPS),
                "the source's frame rate",
                detail=", ".join(f"{tile} {rate:.1f}" for tile, rate in rates.items())
                + f"; {_cpu_detail(phase)}",
            )
        )
    for label, phase in (("webrtc", paths.uplink_webrtc), ("pipe", paths.uplink_pipe)):
        latencies = [latency for _at, latency in phase.kernel_end["uplink"]]
        missing = (
            "not available: no page-camera frame reached bob's kernel; " if not latencies else ""
        )
        figures += [
            _latency(
                f"page camera to bob's kernel, {label}: latency",
                50,
                latencies,
                webrtc_latency,
                "kernel-to-page latency {}, webrtc",
                detail=f"{missing}{len(latencies)} stamped frames read; {_cpu_detail(phase)}",
            ),
            _latency(
                f"page camera to bob's kernel, {label}: latency",
                95,
                latencies,
                webrtc_latency,
                "kernel-to-page latency {}, webrtc",
                detail=missing.removesuffix("; "),
            ),
            Figure(
                f"page camera to bob's kernel, {label}: frames per second at bob",
                phase.rate("bob_received") if latencies else math.nan,
                "fps",
                float(FPS),
                "the page camera's 30 fps",
                detail=(
                    f"{missing}{phase.delta('uplink_unread'):.0f} frames with no readable "
                    "clock stamp"
                ),
            ),
        ]
    return figures


def _side_by_side(results: Results) -> str:
    """One line per path: fps, latency, CPU."""
    rows = []
    for label, phase in (
        ("webrtc", results.paths.webrtc),
        ("JPEG pipe", results.shown),
        ("thinnest pipe", results.paths.thin),
    ):
        latency = phase.latencies()
        rows.append(
            f"{label}: {_drawn_rate(phase):.1f} fps drawn, latency p50 {_pct(latency, 50):.1f}"
            f" / p95 {_pct(latency, 95):.1f} ms, {_cpu_detail(phase)}"
        )
    return "side by side (same call, same run): " + "; ".join(rows)


def _stamp_check(phase: Phase) -> str:
    """Whether the pixels drawn are the frame whose ``ts`` the page reported."""
    arrivals = phase.kernel_end["arrivals"]
    draws = phase.fresh_draws()
    read = [d for d in draws if d.stamp is not None]
    known = [d for d in read if str(d.stamp) in arrivals]
    matching = [
        d for d in known if abs(arrivals[str(d.stamp)] - phase.kernel_time(d)) <= STAMP_MATCH_MS
    ]
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
        f"{phase.delta('pipe', 'encode_cpu_seconds'):.3f} s; JPEG sizes {phase.tile_sizes()}; "
        f"thinnest pipe sent {phase.delta('thin', 'frames'):.0f} JPEGs, encode CPU "
        f"{phase.delta('thin', 'encode_cpu_seconds'):.3f} s; bob received "
        f"{phase.delta('bob_received'):.0f} frames from alice"
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
        f"The JPEG pipe's figures: four windows of {settings.seconds:g} s on the same call, "
        f"each after a {settings.settle:g} s settle, media_path='pipe': hidden before (view "
        "created, not displayed: nothing encoded or sent), shown (native animation frames), "
        "hidden after (the cell's output cleared: no view on the page), throttled (the view "
        "displayed again; requestAnimationFrame wrapped to run callbacks at most every "
        f"{throttle_ms:g} ms).",
        "Issue 13's paths, same call, same run: 'thin pipe' (between hidden after and "
        f"throttled, {settings.seconds:g} s): no CallView shown, bench/widget/thin.py alone "
        "(alice's remote frames as 640x480 PyAV mjpeg JPEGs, at most 2 unacked, page "
        "createImageBitmap, painted on the next animation frame, acked); 'webrtc' (after "
        f"throttled, {settings.seconds:g} s): alice's view with media_path='webrtc', the tile a "
        "native <video>; latency = the frame's expectedDisplayTime in "
        "requestVideoFrameCallback minus alice's kernel arrival time of the id read from the "
        "presented frame's 320x16 corner. JPEG pipe figures in these comparisons are the "
        "shown window's. CPU per second of call: the kernel process, and Chromium's processes "
        "(browser, renderer, GPU, utility, by psutil on the driver's process tree).",
        f"Quickstart (windows of {min(settings.seconds, AUX_SECONDS):g} s): alice's and "
        "bob's CallViews in one page (display(view, bob_view)), every tile at the layout's "
        "own size, local previews shown; WebRTC, then the pipe. Bob's frames are not stamped "
        "from here on (see the README: a video processor's rgb24 frames crash the kernel when "
        "a page link encodes them too). Frames drawn per tile: canvas paints by distinct "
        "ts, native videos by requestVideoFrameCallback calls.",
        f"Page camera to bob's kernel (windows of {min(settings.seconds, AUX_SECONDS):g} s): "
        "alice's camera switched to the page's, whose getUserMedia the bench replaces by a "
        "640x480 canvas.captureStream(30) drawing the wall clock as two stamps; alice's view "
        "shown with media_path='webrtc', then 'pipe'; bob's on_remote_video hook reads the "
        "clock (nearest-neighbour rescaled when the page's encoder sent it smaller): latency "
        "= bob's time.time() minus the stamped time; frames per second from bob's "
        "remote_frame_count. The hook skips frames while it runs, so it reads fewer stamps "
        "than frames arrive.",
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
        *(_kernel_detail(p) for p in (*results.phases, *results.paths.phases)),
        _side_by_side(results),
        *(_breakdown(p) for p in shown_phases),
        *(_stamp_check(p) for p in (*shown_phases, results.paths.webrtc, results.paths.thin)),
    ]
    return BenchRun(
        bench="widget",
        title="CallView in JupyterLab and headless Chromium",
        quick=settings.quick,
        seconds=seconds,
        figures=[*_figures(results), *_path_figures(results)],
        conditions=[*_warnings(results), *_conditions(settings, pinned, results.throttle_ms)],
        details=details,
        settings={
            "seconds": settings.seconds,
            "settle": settings.settle,
            "throttle_ms": results.throttle_ms,
        },
        machine=machine(),
    )
