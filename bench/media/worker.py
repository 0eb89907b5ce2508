"""One variant in a process of its own: ``python -m bench.media.worker VARIANT [options]``.

A fresh process per variant keeps CPU accounting separate and confines the process-wide
H264 encoder hook to the variant that installs it. With ``--startup N`` it times ``N``
call setups (after one untimed warm-up setup that pays for lazy imports and first codec
loads); otherwise it measures one steady window. Either way it prints one line,
``RESULT <json>``, on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from streamcall_widget.engine.codecs import install_fast_h264

from .ours import open_ours
from .raw import open_raw
from .tally import Pair, Window, measure_window

__all__ = ["RESULT_PREFIX", "VARIANTS", "StartupResult", "SteadyResult", "Variant", "main"]

RESULT_PREFIX = "RESULT "
"""What the worker's result line starts with, followed by JSON."""


@dataclass(frozen=True)
class Variant:
    """Which implementation runs the call, with which video codec."""

    side: str
    """``raw`` (aiortc by hand) or ``ours`` (two StreamCall clients)."""
    codec: str
    fast_h264: bool = False
    """Install FastH264Encoder for the whole process first (raw only: StreamCall decides
    for itself which H264 encoder it uses)."""
    screen: bool = False
    """Alice also shares a screen (ours only): camera + screen against camera alone."""


VARIANTS: dict[str, Variant] = {
    "raw-vp8": Variant("raw", "video/VP8"),
    "ours-vp8": Variant("ours", "video/VP8"),
    "ours-vp8-screen": Variant("ours", "video/VP8", screen=True),
    "raw-h264": Variant("raw", "video/H264"),
    "raw-h264-fast": Variant("raw", "video/H264", fast_h264=True),
    "ours-h264": Variant("ours", "video/H264"),
}


class StartupResult(msgspec.Struct):
    """A startup worker's result: its untimed warm-up and its timed setups, in seconds."""

    warmup: float
    startup: list[float]


class SteadyResult(msgspec.Struct):
    """A window worker's result: the window, and the setup time of that same call."""

    window: Window
    first_frame: float


@contextlib.asynccontextmanager
async def _call(variant: Variant) -> AsyncIterator[Pair]:
    """A running 1:1 call of ``variant``, hung up when the block ends."""
    with tempfile.TemporaryDirectory(prefix="bench-media-") as runtime_dir:
        if variant.side == "raw":
            pair: Pair = await open_raw(variant.codec)
        else:
            pair = await open_ours(variant.codec, Path(runtime_dir), screen=variant.screen)
        try:
            yield pair
        finally:
            await pair.close()


async def _startup(variant: Variant, runs: int, timeout: float) -> StartupResult:
    """Seconds from the start of setup to bob's first video frame, for each timed run."""
    times: list[float] = []
    for _ in range(runs + 1):
        async with _call(variant) as pair:
            times.append(await pair.at_bob.wait_first_video(timeout) - pair.started)
    return StartupResult(warmup=times[0], startup=times[1:])


async def _steady(variant: Variant, settle: float, window: float, timeout: float) -> SteadyResult:
    """One measured window of a running call, and that call's own setup time."""
    async with _call(variant) as pair:
        measured = await measure_window(pair, settle=settle, window=window, timeout=timeout)
        first = (pair.at_bob.first_video_at or pair.started) - pair.started
    return SteadyResult(window=measured, first_frame=first)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.media.worker", description=__doc__)
    p.add_argument("variant", choices=sorted(VARIANTS))
    p.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    p.add_argument("--startup", type=int, default=0, help="time N setups instead of a window")
    p.add_argument("--settle", type=float, default=2.0, help="seconds before the window")
    p.add_argument("--window", type=float, default=10.0, help="seconds of measurement")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to the first frame")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one variant and print its result line."""
    args = _parser().parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    variant = VARIANTS[args.variant]
    if variant.fast_h264:
        install_fast_h264()
    result: StartupResult | SteadyResult
    if args.startup:
        result = asyncio.run(_startup(variant, args.startup, args.timeout))
    else:
        result = asyncio.run(_steady(variant, args.settle, args.window, args.timeout))
    print(RESULT_PREFIX + msgspec.json.encode(result).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
