"""The README as a new user reads it: its two commands exist, and its Python example runs
and prints what its comment says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from streamcall_widget.coordinator.embedded import discovery_path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands() -> None:
    """The first block is the main job and the test command, each a script in .ci/."""
    first_block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first_block is not None
    assert README.index("```bash") < README.index("## ")  # before any section
    commands = [line.split("#")[0].split() for line in first_block.group(1).splitlines()]
    assert commands == [["bash", ".ci/lab"], ["bash", ".ci/test"]]
    assert (ROOT / ".ci/run").read_text().rstrip().endswith("exec bash .ci/test")
    assert "notebooks/01_quickstart.ipynb" in (ROOT / ".ci/lab").read_text()
    assert (ROOT / "notebooks/01_quickstart.ipynb").is_file()


def test_readme_python_example_prints_its_comment(tmp_path: Path) -> None:
    """The plain-Python example: two users call each other on the embedded coordinator."""
    examples = re.findall(r"```python\n(.*?)```", README, re.S)
    example = next(code for code in examples if "StreamCall()" in code)
    expected = re.search(r"print\(.*\)  # (.*)", example)
    assert expected is not None
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path)}  # a private coordinator
    result = subprocess.run(
        [sys.executable, "-c", example],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected.group(1)
    assert not discovery_path(tmp_path).exists()  # alice's close() stopped the coordinator
