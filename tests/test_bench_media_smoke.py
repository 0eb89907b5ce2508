"""The media benchmark still runs end to end (quick sizes; figures and targets not judged)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

FIGURE_ROWS = (
    "time to first remote video frame",
    "process CPU, 1:1 VP8 call",
    "received video fps, 1:1 VP8 call",
    "process CPU, 1:1 H264 call, StreamCall's encoder vs aiortc default",
    "process CPU, 1:1 H264 call, raw aiortc with FastH264Encoder",
    "encoder threads' CPU, 1:1 H264 call",
)
NUMBER = re.compile(r"^\d+(\.\d+)?( %)?$")
REPO = Path(__file__).resolve().parent.parent


def test_media_benchmark_quick_run_reports_every_figure(tmp_path: Path) -> None:
    """`python -m bench.media --quick` exits 0 and writes every row with numbers in it."""
    out = tmp_path / "media.md"
    argv = [sys.executable, "-m", "bench.media", "--quick", "--out", str(out)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    rows = [line.split(" | ") for line in out.read_text().splitlines() if line.startswith("| ")]
    for name in FIGURE_ROWS:
        matching = [cells for cells in rows if cells[0].removeprefix("| ").startswith(name)]
        assert len(matching) == 1, f"no single row {name!r} in the report"
        ours, baseline, ratio = matching[0][1:4]
        assert NUMBER.match(ours), (name, ours)
        assert re.match(r"^\d+(\.\d+)?", baseline), (name, baseline)
        assert re.match(r"^\d+\.\d+x$", ratio), (name, ratio)
