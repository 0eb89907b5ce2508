"""One module of js/lib with what it imports, as a single ES module a blank page can load.

Several renderer parts are not widget entries of their own (the keypad, the chat panel,
the permission notices, the control bar): their Chromium tests bundle them alone with the
project's pinned esbuild and mount them in a blank page.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["bundle_module"]

ROOT = Path(__file__).resolve().parents[2]


def bundle_module(path: str) -> str:
    """``path`` (relative to the repository, e.g. ``js/lib/chat.js``) and its imports."""
    done = subprocess.run(
        [
            str(ROOT / "node_modules" / ".bin" / "esbuild"),
            path,
            "--bundle",
            "--format=esm",
            "--log-level=error",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout
