"""The coordinator benchmark still runs end to end (quick sizes; figures are not judged)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_coordinator_benchmark_quick_run_reports_every_figure(tmp_path: Path) -> None:
    """`python -m bench.coordinator --quick` exits 0 and writes relay and fan-out rows."""
    out = tmp_path / "coordinator.md"
    result = subprocess.run(
        [sys.executable, "-m", "bench.coordinator", "--quick", "--out", str(out)],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = out.read_text()
    assert "relay throughput" in report
    assert report.count("ring fan-out") >= 4
    assert "msg/s per repetition: coordinator" in report
