"""The benchmark driver: JupyterLab, Chromium, the bench notebook and three windows.

One private JupyterLab server (``tests/browser/jupyter.py``) serves a notebook this driver
writes; headless Chromium (``tests/browser/chromium.py``) opens it in a 1280x1024 page at
device scale factor 1, with :data:`~.page.INIT_SCRIPT` and :data:`~.page.BENCH_CSS`. The
kernel (cell 0) starts the call and creates the view without showing it; then, each over
the same wall-clock length:

1. ``hidden``: the call runs, the view exists but is not displayed (no frames are encoded
   or sent): the kernel CPU baseline;
2. ``shown``: cell 1 displays the view; the page draws at its native animation rate;
3. ``throttled``: the page's animation frames are limited to one per 100 ms.

Kernel counters are read with ``kernel_execute`` at each window's ends (the kernel is idle
in between, so acks flow as in normal use); the page's draws with Playwright. On a machine
with two or more CPUs, this driver, the Jupyter server and Chromium run on CPU 0 and the
kernel on CPU 1, as bench.media pins its workers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import psutil  # type: ignore[import-untyped]
from playwright.sync_api import Browser, Page, ViewportSize

from bench.coordinator.wire import REPO_ROOT
from bench.media.report import render_media
from tests.browser.chromium import launch_chromium
from tests.browser.jupyter import (
    kernel_execute,
    open_notebook,
    run_cell,
    run_jupyter,
    wait_for_widget,
    write_notebook,
)

from .page import BENCH_CSS, INIT_SCRIPT, PageWindow, read_window, set_raf_interval, start_window
from .report import Phase, Results, Settings, build_report, to_json

__all__ = ["main"]

OUT_FILE = REPO_ROOT / "bench" / "out" / "widget.json"
NOTEBOOK = "widget_bench.ipynb"
VIEWPORT: ViewportSize = {"width": 1280, "height": 1024}
THROTTLE_MS = 100.0
"""The throttled page's animation frame interval: at most 10 draws a second."""
KERNEL_CPU, DRIVER_CPU = 1, 0
FIRST_DRAW_TIMEOUT_MS = 30_000


def _cells(pin: bool) -> list[str]:
    setup = (
        "import sys\n"
        f"sys.path.insert(0, {str(REPO_ROOT)!r})\n"
        "from bench.widget.kernel import Session, pin_process\n"
        "session = Session()\n"
        "view = session.start()\n"
    )
    if pin:
        setup += f"pin_process({KERNEL_CPU})\n"
    return [setup, "view"]


def _kernel(page: Page, since_ms: float | None = None) -> dict[str, Any]:
    """The kernel's counters (:meth:`~.kernel.Session.snapshot`)."""
    argument = "" if since_ms is None else repr(since_ms)
    state: dict[str, Any] = json.loads(kernel_execute(page, f"session.snapshot({argument})"))
    return state


def _process_cpu() -> dict[str, float]:
    """CPU seconds so far of this driver's descendants, by kind: the kernel, the Jupyter
    server, Chromium's processes by ``--type`` (``browser`` for the main one), Playwright."""
    groups: dict[str, float] = {}
    for process in psutil.Process().children(recursive=True):
        try:
            argv = process.cmdline()
            times = process.cpu_times()
        except psutil.Error:  # ended meanwhile
            continue
        line = " ".join(argv)
        if "ipykernel" in line:
            kind = "kernel"
        elif "jupyterlab" in line:
            kind = "jupyter server"
        elif "chrom" in line:
            types = [a.removeprefix("--type=") for a in argv if a.startswith("--type=")]
            kind = "chromium " + (types[0] if types else "browser")
        else:
            kind = "other (playwright)"
        groups[kind] = groups.get(kind, 0.0) + times.user + times.system
    return groups


def _window(page: Page, name: str, settings: Settings, *, shown: bool) -> Phase:
    """Let the call settle, then measure one window of the kernel and (if shown) the page."""
    time.sleep(settings.settle)
    page_start = start_window(page) if shown else None
    kernel_start = _kernel(page)
    processes_start = _process_cpu()
    time.sleep(settings.seconds)
    processes = {
        kind: (seconds - processes_start.get(kind, 0.0)) / settings.seconds
        for kind, seconds in _process_cpu().items()
    }
    kernel_end = _kernel(page, kernel_start["wall_ms"])
    drawn: PageWindow | None = read_window(page, page_start) if page_start is not None else None
    print(f"  {name}: done", file=sys.stderr, flush=True)
    return Phase(name, kernel_start, kernel_end, drawn, processes)


def _measure(browser: Browser, root: Path, settings: Settings, pin: bool) -> Results:
    """Open the bench notebook and run the three windows; the kernel's session is closed
    at the end."""
    write_notebook(root / NOTEBOOK, _cells(pin))
    with run_jupyter(root, "lab") as server:
        context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        try:
            context.add_init_script(INIT_SCRIPT)
            # open_notebook only calls new_page(), which a context has too; a context is
            # how Playwright gives its pages an init script, a viewport and a scale factor.
            page = open_notebook(cast(Browser, context), server, NOTEBOOK)
            page.add_style_tag(content=BENCH_CSS)
            run_cell(page, 0)
            try:
                hidden = _window(page, "hidden", settings, shown=False)
                run_cell(page, 1)
                wait_for_widget(page, 1, ".sc-call").scroll_into_view_if_needed()
                page.wait_for_function(
                    "() => Number(document.querySelector('.sc-call').dataset.framesDrawn) > 0",
                    timeout=FIRST_DRAW_TIMEOUT_MS,
                )
                shown = _window(page, "shown", settings, shown=True)
                set_raf_interval(page, THROTTLE_MS)
                throttled = _window(page, "throttled", settings, shown=True)
            finally:
                kernel_execute(page, "session.close()")
        finally:
            context.close()
    return Results(hidden, shown, throttled, THROTTLE_MS)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.widget", description=__doc__)
    p.add_argument("--quick", action="store_true", help="10 s windows instead of 60 s")
    p.add_argument("--seconds", type=float, default=None, help="each window's length")
    p.add_argument(
        "--no-pin", action="store_true", help="leave every process on every CPU (no pinning)"
    )
    p.add_argument("--out", type=Path, default=OUT_FILE, help=f"JSON results (default {OUT_FILE})")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (targets missed or not), 1 on an error."""
    args = _parser().parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (10.0 if args.quick else 60.0)
    settings = Settings(
        seconds=seconds, settle=min(3.0, seconds), quick=args.quick or args.seconds is not None
    )
    pin = not args.no_pin and (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity")
    if pin:
        os.sched_setaffinity(0, {DRIVER_CPU})
    try:
        with (
            launch_chromium() as browser,
            tempfile.TemporaryDirectory(prefix="bench-widget-") as root,
        ):
            results = _measure(browser, Path(root), settings, pin)
    except Exception:
        traceback.print_exc()
        print("benchmark failed", file=sys.stderr)
        return 1
    report = build_report(settings, pin, results)
    print(render_media(report.report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(to_json(report, settings, results), indent=1), encoding="utf-8")
    print(f"written to {args.out}")
    return 0
