"""Figures, targets and the machine they were measured on, as a Markdown report."""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Report", "Row", "machine", "percentile", "render"]


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 < p <= 100) of non-empty ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    measure: str
    figure: str
    baseline: str
    ratio: str
    target: str
    passed: bool | None
    """None: informational, no target."""


@dataclass
class Report:
    """Everything the Markdown file holds."""

    title: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)


def machine() -> dict[str, str]:
    """nproc, CPU model, Python version, OS and date of this run."""
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "CPU": model,
        "Python": sys.version.split()[0] + f" ({platform.python_implementation()})",
        "OS": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def _verdict(passed: bool | None) -> str:
    return "-" if passed is None else ("PASS" if passed else "FAIL")


def render(report: Report) -> str:
    """The report as Markdown (also readable as plain text on a terminal)."""
    header = ("Measure", "streamcall coordinator", "baseline (aiohttp echo)", "ratio", "target")
    lines = [f"# {report.title}", ""]
    lines.append("| " + " | ".join((*header, "result")) + " |")
    lines.append("|" + "---|" * (len(header) + 1))
    for r in report.rows:
        cells = (r.measure, r.figure, r.baseline, r.ratio, r.target, _verdict(r.passed))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if report.notes:
        lines += [f"- {n}" for n in report.notes]
        lines.append("")
    if report.details:
        lines += ["## Details", ""]
        lines += [f"- {d}" for d in report.details]
        lines.append("")
    lines += ["## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in machine().items()]
    lines.append("")
    return "\n".join(lines)
