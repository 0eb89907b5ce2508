"""The benchmark driver: JupyterLab, Chromium, the bench notebook and its windows.

One private JupyterLab server (``tests/browser/jupyter.py``) serves a notebook this driver
writes; headless Chromium (``tests/browser/chromium.py``) opens it in a 1280x1024 page at
device scale factor 1, with :data:`~.page.INIT_SCRIPT` and :data:`~.page.BENCH_CSS`. The
kernel (cell 0) starts the call and creates the view (``media_path="pipe"``) without
showing it; then, in this order:

1. ``hidden before``: the call runs, the view exists but is not displayed (no frames are
   encoded or sent): the kernel CPU baseline;
2. ``shown``: cell 1 displays the view; the page draws at its native animation rate;
3. ``hidden after``: cell 1's output is cleared, so no view is on the page again: the
   baseline once more, on the other side of the shown window (their mean is the baseline);
4. ``thin pipe``: cell 2 shows the thinnest anywidget JPEG pipe (:mod:`.thin`) alone;
5. ``throttled``: cell 1 runs again and the page's animation frames are limited to one
   per 100 ms;
6. ``webrtc``: the same view switched to ``media_path="webrtc"``, native animation rate;
7. ``quickstart webrtc`` and ``quickstart pipe``: cell 3 shows alice's and bob's views
   together, every tile at its layout size (shorter windows, :data:`~.report.AUX_SECONDS`);
8. ``uplink webrtc`` and ``uplink pipe``: alice's view alone, her camera switched to the
   page's (a stamped clock canvas), timed in bob's kernel (shorter windows too).

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
from bench.figures import Stopwatch, add_output_options, command_line, publish
from tests.browser.chromium import launch_chromium
from tests.browser.jupyter import (
    kernel_execute,
    open_notebook,
    run_cell,
    run_jupyter,
    wait_for_widget,
    write_notebook,
)

from .page import (
    BENCH_CSS,
    INIT_SCRIPT,
    PageWindow,
    read_window,
    set_quickstart,
    set_raf_interval,
    start_window,
)
from .report import AUX_SECONDS, FULL_SECONDS, Paths, Phase, Results, Settings, build_run

__all__ = ["main"]

QUICK = Settings(seconds=2.0, settle=0.5, quick=True)
"""``--quick``: 2 s windows, enough to prove the bench runs; the figures mean nothing."""
NOTEBOOK = "widget_bench.ipynb"
VIEWPORT: ViewportSize = {"width": 1280, "height": 1024}
THROTTLE_MS = 100.0
"""The throttled page's animation frame interval: at most 10 draws a second."""
KERNEL_CPU, DRIVER_CPU = 1, 0
FIRST_DRAW_TIMEOUT_MS = 30_000


_THIN = ".bench-thin"
_LINKED = "() => [...document.querySelectorAll('.sc-call')].every((v) => v.dataset.path === %r)"


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
    quickstart = "from IPython.display import display\ndisplay(*session.quickstart())"
    return [setup, "view", "session.thin_pipe()", quickstart]


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


def _window(
    page: Page, name: str, settings: Settings, *, shown: bool, seconds: float | None = None
) -> Phase:
    """Let the call settle, then measure one window of the kernel and (if shown) the page.

    Playwright only reads the page at the window's ends: in between, the driver sleeps."""
    length = settings.seconds if seconds is None else seconds
    time.sleep(settings.settle)
    page_start = start_window(page) if shown else None
    kernel_start = _kernel(page)
    processes_start = _process_cpu()
    time.sleep(length)
    processes = {
        kind: (seconds - processes_start.get(kind, 0.0)) / length
        for kind, seconds in _process_cpu().items()
    }
    kernel_end = _kernel(page, kernel_start["wall_ms"])
    drawn: PageWindow | None = read_window(page, page_start) if page_start is not None else None
    print(f"  {name}: done", file=sys.stderr, flush=True)
    return Phase(name, kernel_start, kernel_end, drawn, processes)


def _show(page: Page) -> None:
    """Run cell 1 (``view``) and wait until the view has drawn a frame."""
    run_cell(page, 1)
    wait_for_widget(page, 1, ".sc-call").scroll_into_view_if_needed()
    page.wait_for_function(
        "() => Number(document.querySelector('.sc-call')?.dataset.framesDrawn) > 0",
        timeout=FIRST_DRAW_TIMEOUT_MS,
    )


def _hide(page: Page, cell: int = 1, selector: str = ".sc-call") -> None:
    """Clear a cell's output, so no view of its widget is left on the page (the pipe then
    stops: the page reports no visible view), and wait until it is gone."""
    page.evaluate(
        "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].model.outputs.clear()",
        cell,
    )
    page.wait_for_function(f"() => document.querySelector({selector!r}) === null")


def _set_path(page: Page, path: str) -> None:
    """Force every view's media path and wait until each page view says it uses it."""
    kernel_execute(page, f"session.set_path({path!r})")
    page.wait_for_function(_LINKED % path, timeout=FIRST_DRAW_TIMEOUT_MS)


def _thin(page: Page, settings: Settings) -> Phase:
    """The thinnest pipe (cell 2) shown alone: CallView's output is cleared before."""
    run_cell(page, 2)
    wait_for_widget(page, 2, _THIN).scroll_into_view_if_needed()
    page.wait_for_function(
        "() => window.__bench.draws.some((d) => d[10] === 'thin')",
        timeout=FIRST_DRAW_TIMEOUT_MS,
    )
    phase = _window(page, "thin pipe", settings, shown=True)
    _hide(page, 2, _THIN)
    kernel_execute(page, "session.thin.close()")
    return phase


def _quickstart(page: Page, settings: Settings) -> tuple[Phase, Phase]:
    """Alice's and bob's views in one page (cell 3), every tile shown: WebRTC, then pipe."""
    seconds = min(settings.seconds, AUX_SECONDS)
    set_quickstart(page, True)
    kernel_execute(page, "session.set_path('webrtc')")
    run_cell(page, 3)
    page.wait_for_function(
        "() => document.querySelectorAll('.sc-call').length === 2", timeout=FIRST_DRAW_TIMEOUT_MS
    )
    _set_path(page, "webrtc")
    webrtc = _window(page, "quickstart webrtc", settings, shown=True, seconds=seconds)
    _set_path(page, "pipe")
    pipe = _window(page, "quickstart pipe", settings, shown=True, seconds=seconds)
    _hide(page, 3)
    set_quickstart(page, False)
    return webrtc, pipe


def _uplink(page: Page, settings: Settings) -> tuple[Phase, Phase]:
    """Alice's page camera (the stamped clock canvas) to bob's kernel: WebRTC, then pipe."""
    seconds = min(settings.seconds, AUX_SECONDS)
    _show(page)
    _set_path(page, "webrtc")
    kernel_execute(page, "session.use_page_camera()")
    webrtc = _window(page, "uplink webrtc", settings, shown=False, seconds=seconds)
    _set_path(page, "pipe")
    pipe = _window(page, "uplink pipe", settings, shown=False, seconds=seconds)
    return webrtc, pipe


def _measure(browser: Browser, root: Path, settings: Settings, pin: bool) -> Results:
    """Open the bench notebook and run the four windows; the kernel's session is closed
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
                hidden_before = _window(page, "hidden before", settings, shown=False)
                _show(page)
                shown = _window(page, "shown", settings, shown=True)
                _hide(page)
                hidden_after = _window(page, "hidden after", settings, shown=False)
                thin = _thin(page, settings)
                _show(page)
                set_raf_interval(page, THROTTLE_MS)
                throttled = _window(page, "throttled", settings, shown=True)
                set_raf_interval(page, 0)
                _set_path(page, "webrtc")
                _wait_native(page)
                webrtc = _window(page, "webrtc", settings, shown=True)
                _hide(page)
                quickstart = _quickstart(page, settings)
                uplink = _uplink(page, settings)
            finally:
                kernel_execute(page, "session.close()")
        finally:
            context.close()
    return Results(
        hidden_before,
        shown,
        hidden_after,
        throttled,
        THROTTLE_MS,
        Paths(webrtc, thin, *quickstart, *uplink),
    )


def _wait_native(page: Page) -> None:
    """Wait until the remote tile shows the link's video (a frame presented natively)."""
    page.evaluate("() => { window.__bench.draws = []; }")
    page.wait_for_function(
        "() => window.__bench.draws.some((d) => d[9] && !d[8])", timeout=FIRST_DRAW_TIMEOUT_MS
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.widget", description=__doc__)
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK.seconds:g} s windows, {QUICK.settle:g} s settle",
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=None,
        help=f"each window's length (default {FULL_SECONDS:g})",
    )
    p.add_argument(
        "--no-pin", action="store_true", help="leave every process on every CPU (no pinning)"
    )
    add_output_options(p, "widget")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (targets missed or not), 1 on an error."""
    watch = Stopwatch()
    args = _parser().parse_args(argv)
    settings = QUICK if args.quick else Settings()
    if args.seconds is not None:
        settings = Settings(
            seconds=args.seconds, settle=min(settings.settle, args.seconds), quick=args.quick
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
    run = build_run(settings, pin, results, watch.seconds())
    publish(run, args.out, args.json, command_line(argv, "bench.widget"))
    return 0
