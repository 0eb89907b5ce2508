"""The figures every benchmark produces, their JSON form and the Markdown report.

Each benchmark (``python -m bench.coordinator``, ``bench.media``, ``bench.widget``) ends
with a :class:`BenchRun`: its :class:`Figure` s, each beside a baseline measured in the same
run, and the conditions they were measured under. It writes the run as JSON
(:func:`write_json`) and as Markdown (:func:`render`); ``python -m bench`` reads every
bench's JSON back (:func:`read_json`) and renders them all into one ``RESULTS.md``.

A target is data (:class:`Target`), not a lambda, so whether a figure met it can be
recomputed from the JSON and the report's target column is written from the same numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import math
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

__all__ = [
    "BenchRun",
    "Figure",
    "Stopwatch",
    "Target",
    "command_line",
    "finite",
    "machine",
    "percentile",
    "publish",
    "read_json",
    "render",
    "targets_met",
    "write_json",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
README = REPO_ROOT / "bench" / "README.md"

Op = Literal["<", "<=", ">=", ">"]
_OP_TEXT: dict[str, str] = {"<": "<", "<=": "≤", ">=": "≥", ">": ">"}


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 < p <= 100) of non-empty ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def finite(value: float | None) -> float | None:
    """``value``, or None when it is missing, NaN or infinite (JSON has no NaN)."""
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class Target:
    """What a figure must reach: ``of`` compared with ``op`` to ``bound``.

    ``of`` is ``value`` (the figure itself, in its unit), ``ratio`` (figure / baseline) or
    ``excess`` (figure - baseline, in the figure's unit)."""

    of: Literal["value", "ratio", "excess"]
    op: Op
    bound: float

    def met(self, figure: Figure) -> bool:
        """Whether ``figure`` reaches the target; a figure that could not be measured
        does not."""
        subject = {"value": figure.value, "ratio": figure.ratio, "excess": figure.excess}[self.of]
        if subject is None:
            return False
        return {
            "<": subject < self.bound,
            "<=": subject <= self.bound,
            ">=": subject >= self.bound,
            ">": subject > self.bound,
        }[self.op]

    def text(self, unit: str) -> str:
        """The target as the report shows it, e.g. ``≥ 0.98x baseline`` or ``< 5 ms``."""
        op = _OP_TEXT[self.op]
        if self.of == "ratio":
            return f"{op} {self.bound:g}x baseline"
        if self.of == "excess":
            return f"{op} baseline + {self.bound:.3g} {unit}"
        return f"{op} {self.bound:g} {unit}"


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its same-run baseline.

    ``value`` and ``baseline`` are None when they could not be measured (non-finite
    numbers are turned into None, so the JSON stays standard)."""

    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    """What the baseline is (for example ``raw aiortc`` or ``the source's 30 fps``)."""
    target: Target | None = None
    """None: informational, no target."""
    digits: int = 2
    """Decimals shown in the report (the JSON keeps every digit)."""
    detail: str = ""
    """More numbers shown beside the value, e.g. the p50 and p95 of a p99 figure."""

    def __post_init__(self) -> None:
        # A frozen dataclass: normalise through object.__setattr__, once, at construction.
        object.__setattr__(self, "value", finite(self.value))
        object.__setattr__(self, "baseline", finite(self.baseline))

    @property
    def ratio(self) -> float | None:
        """``value / baseline`` when both are known and the baseline is not zero."""
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def excess(self) -> float | None:
        """``value - baseline`` when both are known."""
        if self.value is None or self.baseline is None:
            return None
        return self.value - self.baseline

    @property
    def met(self) -> bool | None:
        """Whether the target is met; None for an informational figure."""
        return None if self.target is None else self.target.met(self)


@dataclass(frozen=True)
class BenchRun:
    """One benchmark's figures and the conditions they were measured under."""

    bench: str
    """The package under ``bench/``: ``coordinator``, ``media`` or ``widget``."""
    title: str
    quick: bool
    seconds: float
    """Wall-clock length of the bench's own run."""
    figures: list[Figure]
    conditions: list[str] = field(default_factory=list)
    """How it was measured: sources, baselines, window lengths, pinning."""
    details: list[str] = field(default_factory=list)
    """Raw per-window and per-repetition figures behind the table."""
    settings: dict[str, float | int | bool | str] = field(default_factory=dict)
    """The run's sizes (window lengths, repetitions), as numbers."""
    machine: dict[str, str] = field(default_factory=dict)


def _to_builtins(run: BenchRun) -> dict[str, Any]:
    """The run as JSON-ready builtins, each figure with its ratio, target text and met."""
    data: dict[str, Any] = msgspec.to_builtins(run)
    for figure, out in zip(run.figures, data["figures"], strict=True):
        out["ratio"] = figure.ratio
        out["met"] = figure.met
        if figure.target is not None:
            out["target"]["text"] = figure.target.text(figure.unit)
    return data


def add_output_options(parser: argparse.ArgumentParser, bench: str) -> None:
    """``--out`` (the Markdown report) and ``--json`` (the figures ``python -m bench``
    reads back): the two files every bench writes, by default ``bench/out/<bench>.md`` and
    ``.json``."""
    out_dir = REPO_ROOT / "bench" / "out"
    report, figures = out_dir / f"{bench}.md", out_dir / f"{bench}.json"
    parser.add_argument("--out", type=Path, default=report, help=f"report file (default {report})")
    parser.add_argument(
        "--json", type=Path, default=figures, help=f"figures as JSON (default {figures})"
    )


def write_json(run: BenchRun, path: Path) -> None:
    """Write ``run`` to ``path`` (directories created); the computed fields ``ratio``,
    ``met`` and the target's ``text`` are included for readers other than :func:`read_json`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(_to_builtins(run)), indent=1))


def read_json(path: Path) -> BenchRun:
    """A run written by :func:`write_json` (its computed fields are recomputed)."""
    return msgspec.convert(msgspec.json.decode(path.read_bytes()), BenchRun)


# ---- the machine


def _first_line(argv: list[str]) -> str | None:
    """The first line ``argv`` prints, or None if it cannot run."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - fixed, local commands
            argv, capture_output=True, text=True, timeout=20, check=False, cwd=REPO_ROOT
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.strip().splitlines()
    return lines[0].strip() if done.returncode == 0 and lines else None


def _read_key(path: str, key: str, sep: str) -> str | None:
    """The value of the first ``key<sep>value`` line of ``path``."""
    with contextlib.suppress(OSError), open(path, encoding="utf-8") as lines:
        for line in lines:
            name, found, value = line.partition(sep)
            if found and name.strip() == key:
                return value.strip().strip('"')
    return None


def _versions() -> str:
    names = ("streamcall_widget", "aiortc", "av", "aiohttp", "numpy", "jupyterlab", "playwright")
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def _commit() -> str:
    """The repository's commit, ``+ local changes`` when the work tree differs from it.

    ``--no-optional-locks`` keeps ``git status`` from rewriting the index."""
    head = _first_line(["git", "rev-parse", "--short=12", "HEAD"])
    if head is None:
        return "unknown"
    try:
        status = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
            cwd=REPO_ROOT,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return head
    return f"{head} + local changes" if status.strip() else head


def machine() -> dict[str, str]:
    """Where and when the figures were measured: date (UTC), CPU, memory, OS, software."""
    memory = _read_key("/proc/meminfo", "MemTotal", ":")
    memory_text = f"{int(memory.split()[0]) / 2**20:.1f} GiB" if memory else "unknown"
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = f"{os.cpu_count()}" + (f" ({affinity} usable)" if affinity != os.cpu_count() else "")
    os_name = _read_key("/etc/os-release", "PRETTY_NAME", "=") or platform.system()
    chromium = _first_line(["/usr/bin/chromium", "--version"])
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": _read_key("/proc/cpuinfo", "model name", ":") or platform.processor() or "unknown",
        "cores": cores,
        "memory": memory_text,
        "OS": f"{os_name}, kernel {platform.release()}",
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "packages": _versions(),
        "Chromium": chromium or "not found",
        "commit": _commit(),
    }


# ---- Markdown


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _number(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _with_unit(value: float | None, figure: Figure) -> str:
    number = _number(value, figure.digits)
    return number if value is None or not figure.unit else f"{number} {figure.unit}"


def _ratio(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.3f}x" if abs(ratio) < 10 else f"{ratio:.1f}x"


def _met(met: bool | None) -> str:
    return "-" if met is None else ("✔" if met else "✘")


def _row(f: Figure) -> str:
    value = _with_unit(f.value, f) + (f" ({f.detail})" if f.detail else "")
    if f.baseline is None and not f.baseline_label:
        baseline = "-"
    elif f.baseline is None:
        baseline = f.baseline_label
    else:
        baseline = _with_unit(f.baseline, f) + (f": {f.baseline_label}" if f.baseline_label else "")
    target = "-" if f.target is None else f.target.text(f.unit)
    cells = (f.name, value, baseline, _ratio(f.ratio), target, _met(f.met))
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def targets_met(run: BenchRun) -> tuple[int, int]:
    """How many of the run's targets were met, out of how many targets."""
    judged = [f.met for f in run.figures if f.met is not None]
    return sum(judged), len(judged)


def _readme_link(out: Path, bench: str) -> str:
    """A link from the report at ``out`` to the bench's section of bench/README.md."""
    relative = os.path.relpath(README, out.resolve().parent)
    return f"[bench/README.md § `bench/{bench}`]({relative}#bench{bench})"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{seconds:.1f} s"


def render_section(run: BenchRun, out: Path) -> list[str]:
    """One bench's part of a report: its table, conditions and raw figures."""
    met, judged = targets_met(run)
    lines = [
        f"## `bench/{run.bench}`: {run.title}",
        "",
        f"Ran for {_duration(run.seconds)}; {met} of {judged} targets met. How it works: "
        f"{_readme_link(out, run.bench)}.",
        "",
        "| figure | value | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|",
        *(_row(f) for f in run.figures),
        "",
    ]
    if run.conditions:
        lines += ["Conditions:", "", *(f"- {c}" for c in run.conditions), ""]
    if run.details:
        lines += [
            "<details><summary>Raw figures</summary>",
            "",
            *(f"- {d}" for d in run.details),
            "",
            "</details>",
            "",
        ]
    return lines


QUICK_BANNER = (
    "> **Quick run — not the committed figures.** Sizes and windows are cut to a smoke test; "
    "the figures say only that every bench still runs."
)


def render(
    runs: Sequence[BenchRun],
    out: Path,
    *,
    command: str,
    seconds: float,
    host: dict[str, str],
    failures: Sequence[str] = (),
) -> str:
    """The Markdown report of ``runs`` to be written at ``out`` (links are relative to
    it): the command and its duration, a summary, the machine, then one section per bench.
    ``failures`` lists benches that crashed, one line each."""
    quick = any(run.quick for run in runs)
    lines = ["# Benchmark results", ""]
    if quick:
        lines += [QUICK_BANNER, ""]
    lines += [
        f"Measured {host.get('date', '?')} by `{command}` in {_duration(seconds)}. Each figure "
        "stands beside a baseline measured in the same run on the same machine; ratio = "
        "figure / baseline. Targets are judged here, never in the tests.",
        "",
        "| bench | ran for | targets met |",
        "|---|---|---|",
    ]
    for run in runs:
        met, judged = targets_met(run)
        lines.append(f"| `bench/{run.bench}` | {_duration(run.seconds)} | {met} / {judged} |")
    lines += [f"| {_cell(failure)} | crashed | - |" for failure in failures]
    lines += ["", "## Machine", "", *(f"- {k}: {v}" for k, v in host.items()), ""]
    for run in runs:
        lines += render_section(run, out)
    return "\n".join(lines)


def publish(run: BenchRun, markdown: Path, json_path: Path, command: str) -> None:
    """End a bench's own run: print its report, write it as Markdown and the run as JSON."""
    host = run.machine or machine()
    text = render([run], markdown, command=command, seconds=run.seconds, host=host)
    print(text)
    markdown.parent.mkdir(parents=True, exist_ok=True)
    markdown.write_text(text, encoding="utf-8")
    write_json(run, json_path)
    print(f"written to {markdown} and {json_path}")


def command_line(argv: Sequence[str] | None, module: str) -> str:
    """The command a bench was run with, as the report shows it."""
    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join(["python -m", module, *args])


class Stopwatch:
    """Wall-clock seconds since construction (a bench's :attr:`BenchRun.seconds`)."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def seconds(self) -> float:
        """Seconds elapsed so far."""
        return time.monotonic() - self._start


def bench_main(
    bench: str,
    doc: str | None,
    quick_help: str,
    argv: Sequence[str] | None,
    run: Callable[[bool, Stopwatch], BenchRun],
) -> int:
    """The command line most benches share: ``--quick`` and the output options; ``run(quick,
    watch)`` measures and builds the :class:`BenchRun` (``watch`` started before anything).
    A failure is printed and exits 1 (targets missed or not, a run that ran exits 0); else
    the report is published."""
    watch = Stopwatch()
    parser = argparse.ArgumentParser(prog=f"python -m bench.{bench}", description=doc)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    add_output_options(parser, bench)
    args = parser.parse_args(argv)
    try:
        measured = run(args.quick, watch)
    except Exception:
        traceback.print_exc()
        print("benchmark failed", file=sys.stderr)
        return 1
    publish(measured, args.out, args.json, command_line(argv, f"bench.{bench}"))
    return 0
