"""``python -m bench``: run every benchmark, one after the other, and write one report.

Each bench runs as its own subprocess (``python -m bench.<name> --out ... --json ...``), so
no two share a process, an event loop or a CPU pinning; each writes its figures as JSON
(:mod:`bench.figures`), which this runner reads back and renders into ``bench/RESULTS.md``
with the machine, the date and the command. A missed target is a figure, not an error; the
exit status is 1 only when a bench crashed (its section is then missing and the summary
says so).

``--quick`` passes ``--quick`` to every bench (smoke sizes, a minute in all) and writes
``bench/out/RESULTS-quick.md`` instead, so a smoke run never overwrites the committed report.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec

from .figures import REPO_ROOT, BenchRun, Stopwatch, machine, read_json, render, targets_met

__all__ = ["BENCHES", "main"]

BENCHES = ("coordinator", "media", "outage", "recording", "widget")
"""Every bench, in the order they run (cheapest first)."""
OUT_DIR = REPO_ROOT / "bench" / "out"
RESULTS = REPO_ROOT / "bench" / "RESULTS.md"
QUICK_RESULTS = OUT_DIR / "RESULTS-quick.md"
TIMEOUT = {False: 30 * 60.0, True: 5 * 60.0}
"""Seconds one bench may take, full and ``--quick``, before it counts as crashed."""


def _benches(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(BENCHES))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(BENCHES)} (got {text!r})")
    return [name for name in BENCHES if name in names]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="smoke sizes for every bench")
    p.add_argument(
        "--only",
        type=_benches,
        default=list(BENCHES),
        metavar="NAMES",
        help=f"comma-separated benches to run (default all: {','.join(BENCHES)})",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"the report (default {RESULTS.relative_to(REPO_ROOT)}, with --quick "
        f"{QUICK_RESULTS.relative_to(REPO_ROOT)})",
    )
    p.add_argument(
        "--dir",
        type=Path,
        default=OUT_DIR,
        help="where each bench writes NAME.json, NAME.md and NAME.log (default "
        f"{OUT_DIR.relative_to(REPO_ROOT)})",
    )
    return p


def _run_bench(name: str, directory: Path, quick: bool) -> BenchRun | str:
    """Run one bench to completion: its figures, or why it has none."""
    json_path, log = directory / f"{name}.json", directory / f"{name}.log"
    json_path.unlink(missing_ok=True)  # a crash must not leave an older run's figures behind
    argv = [sys.executable, "-m", f"bench.{name}", "--out", str(directory / f"{name}.md")]
    argv += ["--json", str(json_path), *(["--quick"] if quick else [])]
    print(f"== bench/{name} (report on stdout to {log})", file=sys.stderr, flush=True)
    try:
        with log.open("w", encoding="utf-8") as stdout:
            # stderr (progress lines, tracebacks) stays on the terminal.
            done = subprocess.run(  # noqa: S603 - our own modules, fixed arguments
                argv, cwd=REPO_ROOT, stdout=stdout, timeout=TIMEOUT[quick], check=False
            )
    except subprocess.TimeoutExpired:
        return f"`bench/{name}`: no result after {TIMEOUT[quick]:g} s (log {log})"
    if done.returncode != 0:
        return f"`bench/{name}`: exit status {done.returncode} (log {log})"
    try:
        return read_json(json_path)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as error:
        return f"`bench/{name}`: unreadable figures {json_path}: {error}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benches and write the report; 1 if any bench crashed, else 0."""
    watch = Stopwatch()
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(arguments)
    out: Path = args.out or (QUICK_RESULTS if args.quick else RESULTS)
    args.dir.mkdir(parents=True, exist_ok=True)
    runs: list[BenchRun] = []
    failures: list[str] = []
    for name in args.only:
        result = _run_bench(name, args.dir, args.quick)
        if isinstance(result, str):
            print(f"   {result}", file=sys.stderr, flush=True)
            failures.append(result)
        else:
            met, judged = targets_met(result)
            print(
                f"   {result.seconds:.1f} s, {met}/{judged} targets met",
                file=sys.stderr,
                flush=True,
            )
            runs.append(result)
    text = render(
        runs,
        out,
        command=" ".join(["python -m bench", *arguments]),
        seconds=watch.seconds(),
        host=machine(),
        failures=failures,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"written to {out}" + (f"; {len(failures)} bench(es) crashed" if failures else ""))
    return 1 if failures else 0
