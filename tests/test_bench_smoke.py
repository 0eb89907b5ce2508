"""The benchmarks still run end to end, and the report says what they measured.

``python -m bench --quick`` runs every bench once at smoke sizes (about a minute: the widget
bench starts JupyterLab and Debian's headless Chromium like the browser tests) into a temp
directory; the tests read its report and each bench's JSON. Figures and targets are never
judged here: a missed target is a figure, not a failure.
"""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.figures import BenchRun, Figure, Target, read_json, render, write_json

pytestmark = pytest.mark.timeout(600)

REPO = Path(__file__).resolve().parent.parent
FIGURES = {
    "coordinator": (
        "relay throughput",
        "ring fan-out to 1 callee, p99 (cores kept awake)",
        "ring fan-out to 10 callees, last arrival, p99 (cores kept awake)",
        "ring fan-out to 1 callee, p99 (idle 3 ms between rings)",
        "ring fan-out to 10 callees, last arrival, p99 (idle 3 ms between rings)",
    ),
    "media": (
        "time to first remote video frame",
        "received video fps, 1:1 VP8 call",
        "process CPU, 1:1 VP8 call",
        "process CPU, camera + 960x540@15 screen vs camera alone",
        "process CPU, 1:1 H264 call, StreamCall's encoder vs aiortc default",
        "process CPU, 1:1 H264 call, raw aiortc with FastH264Encoder",
        "encoder threads' CPU, 1:1 H264 call",
    ),
    "outage": (
        "longest remote-video gap, 2 s coordinator outage (kill -9",
        "longest remote-video gap, one client's socket dropped and resumed",
        "remote video frames per second during the outage",
    ),
    "recording": (
        "process CPU, 3-party call while recording",
        "live remote video frames per second while recording",
        "recorded grid frames per second",
    ),
    "widget": (
        "frames drawn per second in the page",
        "kernel-to-paint latency p50",
        "kernel-to-paint latency p95",
        "latency p95, page drawing at most every 100 ms",
        "throttled latency p50, last third of the window",
        "kernel CPU per frame sent: pipe encode CPU / frames",
        "kernel CPU per frame sent: whole process, shown minus hidden",
        "webrtc: frames drawn per second in the page",
        "webrtc: kernel-to-paint latency p50",
        "JPEG pipe latency p50 against the thinnest pipe's",
        "kernel CPU per second of call: thin pipe",
        "page CPU per second of call: webrtc",
        "quickstart, two views, webrtc: frames drawn per tile per second",
        "quickstart, two views, pipe: frames drawn per tile per second",
        "page camera to bob's kernel, webrtc: latency p50",
    ),
}
"""Name prefixes of the figures each bench must report."""
TARGETS = {"coordinator": 5, "media": 4, "outage": 4, "recording": 2, "widget": 10}
"""How many of each bench's figures are judged against a target (the issues' targets)."""
DIFFERENCE = "kernel CPU per frame sent: whole process, shown minus hidden"
"""A difference of two CPU rates: over 2 s windows, noise can make it zero or negative."""


@dataclass(frozen=True)
class QuickRun:
    """What ``python -m bench --quick`` left behind."""

    returncode: int
    stderr: str
    report: str
    runs: dict[str, BenchRun]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    """Run every bench at smoke sizes, once for the whole module."""
    out = tmp_path_factory.mktemp("bench")
    argv = [sys.executable, "-m", "bench", "--quick", "--dir", str(out)]
    argv += ["--out", str(out / "RESULTS.md")]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=540, check=False)
    runs = {
        name: read_json(out / f"{name}.json") for name in FIGURES if (out / f"{name}.json").exists()
    }
    report = (out / "RESULTS.md").read_text() if (out / "RESULTS.md").exists() else ""
    return QuickRun(done.returncode, done.stderr, report, runs)


def _figure(run: BenchRun, prefix: str) -> Figure:
    matching = [f for f in run.figures if f.name.startswith(prefix)]
    assert len(matching) == 1, f"{run.bench}: no single figure {prefix!r}"
    return matching[0]


def test_every_bench_ran_and_the_report_has_its_section(quick_run: QuickRun) -> None:
    """Exit 0, a quick banner, the machine, and one table per bench."""
    assert quick_run.returncode == 0, quick_run.stderr[-5000:]
    assert set(quick_run.runs) == set(FIGURES)
    report = quick_run.report
    assert "Quick run — not the committed figures" in report
    assert "crashed" not in report
    for key in ("- CPU: ", "- cores: ", "- memory: ", "- OS: ", "- Chromium: ", "- date: "):
        assert key in report, key
    for name, run in quick_run.runs.items():
        assert run.quick
        assert f"## `bench/{name}`" in report
        assert run.conditions, name
        assert run.details, name


@pytest.mark.parametrize("bench", sorted(FIGURES))
def test_every_figure_has_a_value_a_baseline_and_a_verdict(quick_run: QuickRun, bench: str) -> None:
    """Each figure the bench promises is in its JSON with numbers, and in the report's
    table beside its baseline and ratio, with ✔/✘ when it has a target."""
    assert bench in quick_run.runs, quick_run.stderr[-5000:]
    run = quick_run.runs[bench]
    rows = [line for line in quick_run.report.splitlines() if line.startswith("| ")]
    assert sum(f.target is not None for f in run.figures) == TARGETS[bench]
    for prefix in FIGURES[bench]:
        figure = _figure(run, prefix)
        assert figure.value is not None, figure
        assert figure.baseline is not None, figure
        assert figure.baseline > 0, figure
        assert figure.ratio is not None, figure
        assert math.isfinite(figure.ratio), figure
        if figure.name != DIFFERENCE:
            assert figure.value > 0, figure
        row = [r for r in rows if r.startswith(f"| {figure.name} |")]
        assert len(row) == 1, figure.name
        verdicts = ("| ✔ |", "| ✘ |") if figure.target is not None else ("| - | - |",)
        assert row[0].endswith(verdicts), row[0]


def test_widget_hidden_windows_are_measured_before_and_after_shown(quick_run: QuickRun) -> None:
    """The widget's shown-minus-hidden CPU uses both hidden windows, and reports both."""
    run = quick_run.runs["widget"]
    detail = _figure(run, DIFFERENCE).detail
    assert " before and " in detail, detail
    assert " after (mean " in detail, detail
    phases = [d.split(":", 1)[0] for d in run.details[:4]]
    assert phases == ["hidden before", "shown", "hidden after", "throttled"]


def test_targets_json_round_trip_and_render(tmp_path: Path) -> None:
    """A target is judged from the figure's value, ratio or excess; a missing value fails
    it; the JSON keeps everything and the table shows the verdicts."""
    figures = [
        Figure("fast", 0.9, "ms", 2.0, "echo", Target("value", "<", 1.0)),
        Figure("share", 3.0, "msg/s", 4.0, "echo", Target("ratio", ">=", 0.8)),
        Figure("growth", 120.0, "ms", 100.0, "first third", Target("excess", "<=", 33.3)),
        Figure("lost", math.nan, "fps", 30.0, "source", Target("ratio", ">=", 0.98)),
        Figure("info", 1.0, "%", None, "", None),
    ]
    assert [f.met for f in figures] == [True, False, True, False, None]
    run = BenchRun("media", "a title", quick=False, seconds=1.0, figures=figures)
    path = tmp_path / "run.json"
    write_json(run, path)
    assert read_json(path) == run
    text = render([run], tmp_path / "RESULTS.md", command="python -m bench", seconds=2, host={})
    assert "| fast | 0.90 ms | 2.00 ms: echo | 0.450x | < 1 ms | ✔ |" in text
    assert "| lost | n/a | 30.00 fps: source | - | ≥ 0.98x baseline | ✘ |" in text
    assert "2 of 4 targets met" in text
    assert "Quick run" not in text
