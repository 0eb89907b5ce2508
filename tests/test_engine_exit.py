"""Interpreter exit without close(): nothing is left behind and nothing is printed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from streamcall_widget.coordinator.embedded import DISCOVERY_NAME

SCRIPT = textwrap.dedent(
    """
    import sys
    from streamcall_widget import CallState, StreamCall

    runtime = sys.argv[1]
    alice = StreamCall(runtime_dir=runtime, settings_dir=runtime)
    bob = StreamCall(runtime_dir=runtime, settings_dir=runtime)
    alice.login("alice").result(10)
    bob.login("bob").result(10)
    call = alice.call(["bob"], ring=False).result(10)
    bob.join_call(call.id).result(10)
    call.wait_until(CallState.JOINED).result(10)
    print("in call", flush=True)
    # no close(): the interpreter exits in the middle of the call
    """
)


def test_exit_in_a_call_cleans_up(tmp_path: Path) -> None:
    """A script that exits mid-call (media flowing, embedded coordinator running) exits 0,
    prints no traceback and removes the discovery file."""
    script = tmp_path / "exit_in_call.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "in call" in done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    assert "Task was destroyed" not in done.stderr, done.stderr
    assert "reconnecting" not in done.stderr, done.stderr
    assert not (tmp_path / DISCOVERY_NAME).exists()
