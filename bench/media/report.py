"""The media benchmark's figures, each beside its same-run baseline, and its conditions."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiortc
import av
import numpy

from bench.figures import BenchRun, Figure, Target, machine

from .tally import FPS, HEIGHT, TONE_HZ, WIDTH, Window

if TYPE_CHECKING:
    from .run import Results, Settings

__all__ = ["build_run"]

STARTUP_TARGET = 1.5
"""StreamCall's time to the first remote frame, at most this times raw aiortc's."""
VP8_CPU_TARGET = 1.1
"""StreamCall's CPU in a VP8 call, at most this times raw aiortc's."""
FPS_TARGET = 0.98
"""Frames received per second, at least this fraction of the source's."""
H264_CPU_TARGET = 0.5
"""CPU of StreamCall's H264 call, at most this times raw aiortc's with its default encoder."""


def _cpu(window: Window) -> float:
    """Process CPU seconds per wall second (1.0: one core busy)."""
    return window.cpu_share


def _encoder_cpu(window: Window) -> float:
    """CPU share of aiortc's encoder calls (the loop's executor threads, plus threads
    started by the codec libraries)."""
    spent = window.threads.get("asyncio", 0.0) + window.threads.get("native", 0.0)
    return spent / window.wall_seconds


@dataclass(frozen=True)
class _CpuComparison:
    """One CPU row: a variant against a baseline variant, with a target ratio or none."""

    measure: str
    variant: str
    baseline: str
    baseline_label: str
    figure: Callable[[Window], float] = _cpu
    target: float | None = None


_DEFAULT_H264 = "raw aiortc, default H264 encoder"
_CPU_ROWS = (
    _CpuComparison(
        "process CPU, 1:1 VP8 call", "ours-vp8", "raw-vp8", "raw aiortc", target=VP8_CPU_TARGET
    ),
    _CpuComparison(
        "process CPU, camera + 960x540@15 screen vs camera alone, 1:1 VP8 call",
        "ours-vp8-screen",
        "ours-vp8",
        "StreamCall, camera alone",
    ),
    _CpuComparison(
        "process CPU, 1:1 H264 call, StreamCall's encoder vs aiortc default",
        "ours-h264",
        "raw-h264",
        _DEFAULT_H264,
        target=H264_CPU_TARGET,
    ),
    _CpuComparison(
        "process CPU, 1:1 H264 call, raw aiortc with FastH264Encoder",
        "raw-h264-fast",
        "raw-h264",
        _DEFAULT_H264,
    ),
    _CpuComparison(
        "encoder threads' CPU, 1:1 H264 call: StreamCall vs aiortc default",
        "ours-h264",
        "raw-h264",
        _DEFAULT_H264,
        figure=_encoder_cpu,
    ),
)


def _pct(share: float) -> str:
    return f"{share * 100:.1f} %"


def _cpu_figures(windows: dict[str, list[Window]]) -> list[Figure]:
    """One figure per :data:`_CPU_ROWS` entry: medians over the rounds, % of one core."""
    figures = []
    for c in _CPU_ROWS:
        ours = statistics.median(c.figure(w) for w in windows[c.variant])
        base = statistics.median(c.figure(w) for w in windows[c.baseline])
        figures.append(
            Figure(
                f"{c.measure} (median of {len(windows[c.variant])}; % of one core)",
                ours * 100,
                "%",
                base * 100,
                c.baseline_label,
                None if c.target is None else Target("ratio", "<=", c.target),
                digits=1,
            )
        )
    return figures


def _figures(results: Results) -> list[Figure]:
    windows = {name: [r.window for r in runs] for name, runs in results.windows.items()}
    raw_start = [t for r in results.startup["raw-vp8"] for t in r.startup]
    ours_start = [t for r in results.startup["ours-vp8"] for t in r.startup]
    fps_raw = statistics.median(w.fps for w in windows["raw-vp8"])
    return [
        Figure(
            f"time to first remote video frame (VP8; median of {len(ours_start)} setups)",
            statistics.median(ours_start),
            "s",
            statistics.median(raw_start),
            "raw aiortc",
            Target("ratio", "<=", STARTUP_TARGET),
            digits=3,
        ),
        Figure(
            f"received video fps, 1:1 VP8 call (slower receiver; median of "
            f"{len(windows['ours-vp8'])})",
            statistics.median(w.fps for w in windows["ours-vp8"]),
            "fps",
            FPS,
            f"the source's rate; raw aiortc received {fps_raw:.2f}",
            Target("ratio", ">=", FPS_TARGET),
        ),
        *_cpu_figures(windows),
    ]


def _window_detail(name: str, index: int, run_first: float, window: Window) -> str:
    threads = ", ".join(
        f"{group} {_pct(seconds / window.wall_seconds)}"
        for group, seconds in sorted(window.threads.items(), key=lambda item: -item[1])
        if seconds > 0
    )
    encoders = ", ".join(f"{n} x{c}" for n, c in window.encoders.items())
    return (
        f"{name} #{index + 1}: CPU {_pct(window.cpu_share)} (by thread: {threads}); "
        f"video frames bob/alice {window.video_frames[0]}/{window.video_frames[1]}, "
        f"audio {window.audio_frames[0]}/{window.audio_frames[1]} in "
        f"{window.wall_seconds:.2f} s; encoders {encoders}; setup {run_first:.3f} s"
    )


def _details(results: Results) -> list[str]:
    details = [
        f"setup seconds, {name}, per worker process ([untimed warm-up] timed setups): "
        + "; ".join(f"[{r.warmup:.3f}] " + ", ".join(f"{t:.3f}" for t in r.startup) for r in runs)
        for name, runs in results.startup.items()
    ]
    for name, runs in sorted(results.windows.items()):
        details += [_window_detail(name, i, r.first_frame, r.window) for i, r in enumerate(runs)]
    return details


def _conditions(settings: Settings, pinned: bool) -> list[str]:
    return [
        f"Source, every variant and both directions: SyntheticCamera {WIDTH}x{HEIGHT} at "
        f"{FPS} fps plus SyntheticMicrophone ({TONE_HZ:g} Hz tone); StreamCall opens its own "
        "synthetic devices (same classes; its camera draws a user stamp and its tone "
        "frequency is per user).",
        "Baseline 'raw aiortc': two RTCPeerConnections in one process, offer/answer applied "
        "by hand, no ICE servers; each receiver turns every frame into a numpy array (rgb24 "
        "video), as StreamCall does for on_remote_video/on_remote_audio.",
        "Time to first frame: raw = from creating the peer connections to bob's first "
        "decoded video frame; StreamCall = from alice.call(user_ids=['bob'], ring=False, "
        "video=True) (both clients logged in) to bob's first on_remote_video, bob calling "
        "join_call as soon as call() returns. Each worker process does one untimed warm-up "
        f"setup first; {settings.startup_rounds} worker(s) per side, "
        f"{settings.startup_runs} timed setups each.",
        f"CPU: process CPU time (all threads) over a {settings.window:g} s wall window that "
        f"starts {settings.settle:g} s after both sides received video; "
        f"{settings.window_rounds} window(s) per variant, each in a fresh process.",
        "H264: StreamCall installs FastH264Encoder (x264 preset ultrafast) itself; raw "
        "aiortc uses aiortc's H264Encoder (x264 default preset, medium) unless the row says "
        "otherwise. The 'encoders' detail lists the encoder classes the senders really used.",
        (
            "Each worker ran alone in its own subprocess pinned to CPU 1 (the driver, which "
            "only waits, on CPU 0); the order of variants is reversed every round."
            if pinned
            else "CPU pinning was not available: workers were not pinned."
        ),
        f"Versions: aiortc {aiortc.__version__}, PyAV {av.__version__} (libavcodec "
        f"{'.'.join(map(str, av.library_versions['libavcodec']))}), numpy {numpy.__version__}.",
    ]


def build_run(settings: Settings, results: Results, pinned: bool, seconds: float) -> BenchRun:
    """The figures, the conditions and every raw figure of one run."""
    return BenchRun(
        bench="media",
        title="a 1:1 call through StreamCall against raw aiortc",
        quick=settings.quick,
        seconds=seconds,
        figures=_figures(results),
        conditions=_conditions(settings, pinned),
        details=_details(results),
        settings={
            "startup_rounds": settings.startup_rounds,
            "startup_runs": settings.startup_runs,
            "window_rounds": settings.window_rounds,
            "settle": settings.settle,
            "window": settings.window,
        },
        machine=machine(),
    )
