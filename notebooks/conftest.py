"""The tutorials under nbval: each pytest-xdist worker gets its own Jupyter runtime directory.

An embedded coordinator advertises itself in the runtime directory, and a tutorial's
``StreamCall()`` joins the one it finds there: two tutorials running at once on two workers
must not find each other's (one closing would cut the other's calls).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Point this worker's kernels at a runtime directory of its own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        base = Path(os.environ.get("JUPYTER_RUNTIME_DIR") or tempfile.mkdtemp())
        own = base / worker
        own.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ["JUPYTER_RUNTIME_DIR"] = str(own)
