"""uv.lock pins what the README's commands install, and cannot drift from pyproject.toml."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).parent / "uv"


def _uv(*args: str, cwd: Path = ROOT, offline: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the venv's uv, never downloading Python; offline unless it must re-resolve."""
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_OFFLINE": "1" if offline else "0"}
    return subprocess.run(
        [str(UV), *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_lock_matches_pyproject() -> None:
    """`uv lock --check` passes: every range in pyproject.toml is what uv.lock resolved."""
    result = _uv("lock", "--check")
    assert result.returncode == 0, f"uv.lock is stale, run `uv lock`:\n{result.stderr}"


def test_a_dependency_missing_from_the_lock_fails_the_check(tmp_path: Path) -> None:
    """The same check fails on a copy whose pyproject.toml asks for one package more (online:
    telling a stale lock needs a resolution, and that reads the package index)."""
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(
        text.replace('  "simplejpeg>=1.7",\n', '  "simplejpeg>=1.7",\n  "six>=1",\n'),
        encoding="utf-8",
    )
    assert '"six>=1"' in pyproject.read_text(encoding="utf-8")
    result = _uv("lock", "--check", cwd=tmp_path, offline=False)
    assert result.returncode != 0
    assert "needs to be updated" in result.stderr


def test_the_environment_is_exactly_the_lock() -> None:
    """The .venv running these tests holds the lock's versions, nothing more or less."""
    result = _uv("sync", "--locked", "--check", "--extra", "test", "--python", sys.executable)
    assert result.returncode == 0, f"the environment differs from uv.lock:\n{result.stderr}"


def test_bootstrap_installs_the_uv_the_lock_pins() -> None:
    """.ci/bootstrap reads uv's own version from the lock, and that uv is what runs here."""
    lock = (ROOT / "uv.lock").read_text(encoding="utf-8")
    match = re.search(r'^name = "uv"\nversion = "([^"]+)"$', lock, re.M)
    assert match is not None, "uv.lock does not pin uv (a test extra in pyproject.toml)"
    version = subprocess.run(
        [str(UV), "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.split()[1]
    assert version == match.group(1)
    bootstrap = (ROOT / ".ci" / "bootstrap").read_text(encoding="utf-8")
    assert "sync -q --locked --extra test" in bootstrap
