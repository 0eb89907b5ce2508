"""The media benchmark's figures, targets and conditions, in the coordinator report's format."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiortc
import av
import numpy

from bench.coordinator.report import Report, Row, render

from .tally import FPS, HEIGHT, TONE_HZ, WIDTH, Window

if TYPE_CHECKING:
    from .run import Results, Settings

__all__ = ["build_report", "render_media"]

STARTUP_TARGET = 1.5
"""StreamCall's time to the first remote frame, at most this times raw aiortc's."""
VP8_CPU_TARGET = 1.1
"""StreamCall's CPU in a VP8 call, at most this times raw aiortc's."""
FPS_TARGET = 0.98
"""Frames received per second, at least this fraction of the source's."""
H264_CPU_TARGET = 0.5
"""CPU of StreamCall's H264 call, at most this times raw aiortc's with its default encoder."""

_COORDINATOR_COLUMNS = "| streamcall coordinator | baseline (aiohttp echo) |"
_MEDIA_COLUMNS = "| StreamCall | baseline |"


def render_media(report: Report) -> str:
    """:func:`bench.coordinator.report.render` with this benchmark's column names."""
    text = render(report)
    if _COORDINATOR_COLUMNS not in text:
        raise RuntimeError("bench.coordinator.report.render changed its column names")
    return text.replace(_COORDINATOR_COLUMNS, _MEDIA_COLUMNS, 1)


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


def _cpu_rows(windows: dict[str, list[Window]]) -> list[Row]:
    """One row per :data:`_CPU_ROWS` entry: medians over the rounds, as % of one core."""
    rows = []
    for c in _CPU_ROWS:
        ours = statistics.median(c.figure(w) for w in windows[c.variant])
        base = statistics.median(c.figure(w) for w in windows[c.baseline])
        ratio = ours / base
        rows.append(
            Row(
                f"{c.measure} (median of {len(windows[c.variant])}; % of one core)",
                _pct(ours),
                f"{_pct(base)} ({c.baseline_label})",
                f"{ratio:.2f}x",
                "-" if c.target is None else f"<= {c.target:g}x",
                None if c.target is None else ratio <= c.target,
            )
        )
    return rows


def _rows(results: Results) -> list[Row]:
    windows = {name: [r.window for r in runs] for name, runs in results.windows.items()}
    raw_start = [t for r in results.startup["raw-vp8"] for t in r.startup]
    ours_start = [t for r in results.startup["ours-vp8"] for t in r.startup]
    start_ours, start_raw = statistics.median(ours_start), statistics.median(raw_start)
    fps_ours = statistics.median(w.fps for w in windows["ours-vp8"])
    fps_raw = statistics.median(w.fps for w in windows["raw-vp8"])
    return [
        Row(
            f"time to first remote video frame, s (VP8; median of {len(ours_start)} setups)",
            f"{start_ours:.3f}",
            f"{start_raw:.3f} (raw aiortc)",
            f"{start_ours / start_raw:.2f}x",
            f"<= {STARTUP_TARGET:g}x",
            start_ours <= STARTUP_TARGET * start_raw,
        ),
        Row(
            f"received video fps, 1:1 VP8 call (slower receiver; median of "
            f"{len(windows['ours-vp8'])})",
            f"{fps_ours:.2f}",
            f"{FPS} (source); raw aiortc {fps_raw:.2f}",
            f"{fps_ours / FPS:.3f}x",
            f">= {FPS_TARGET:g}x source",
            fps_ours >= FPS_TARGET * FPS,
        ),
        *_cpu_rows(windows),
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


def _notes(settings: Settings, pinned: bool) -> list[str]:
    notes = [
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
    if settings.quick:
        notes.insert(0, "QUICK SMOKE RUN: small sizes, figures are not meaningful measurements.")
    return notes


def build_report(settings: Settings, results: Results, pinned: bool) -> Report:
    """Rows with targets and verdicts, the conditions, and every raw figure."""
    return Report(
        "streamcall media benchmark", _rows(results), _notes(settings, pinned), _details(results)
    )
