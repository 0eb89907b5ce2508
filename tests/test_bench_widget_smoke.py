"""The CallView benchmark still runs end to end (2 s windows; figures and targets not judged).

It starts JupyterLab and headless Chromium like the browser tests, so it needs Debian's
Chromium; it takes about 30 s.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

FIGURES = (
    "frames drawn per second in the page",
    "kernel-to-paint latency p50",
    "kernel-to-paint latency p95",
    "latency p95, page drawing at most every 100 ms",
    "throttled latency p50, last third of the window",
    "kernel CPU per frame sent: pipe encode_cpu_seconds / frames",
    "kernel CPU per frame sent: whole process, shown minus hidden",
)
DIFFERENCE = "kernel CPU per frame sent: whole process, shown minus hidden"
"""A difference of two CPU rates: over 2 s windows, noise can make it zero or negative."""
REPO = Path(__file__).resolve().parent.parent


def test_widget_benchmark_short_run_reports_every_figure(tmp_path: Path) -> None:
    """`python -m bench.widget --seconds 2` exits 0, draws frames and reports every figure."""
    out = tmp_path / "widget.json"
    argv = [sys.executable, "-m", "bench.widget", "--seconds", "2", "--out", str(out)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["frames_drawn"] > 0
    assert set(results["figures"]) == set(FIGURES)
    for name, figure in results["figures"].items():
        for field in ("value", "baseline", "ratio"):
            assert math.isfinite(figure[field]), (name, field, figure)
        assert figure["baseline"] > 0, (name, figure)
        if name != DIFFERENCE:
            assert figure["value"] > 0, (name, figure)
