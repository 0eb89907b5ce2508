"""Calls between processes: a real ``streamcall serve`` and ``streamcall bot`` subprocesses."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pytest

from streamcall_widget import CallState, Participant, StreamCall
from streamcall_widget.coordinator.auth import mint_token
from streamcall_widget.engine.stamp import dominant_frequency, read_stamp, user_stamp, user_tone

API_KEY = "proc-key"
API_SECRET = "proc-secret-0123456789abcdef0123456789"
STREAMCALL = [sys.executable, "-m", "streamcall_widget.cli"]


@dataclass
class Server:
    """A running ``streamcall serve``."""

    url: str
    process: subprocess.Popen[str]


class LineReader:
    """Collects a subprocess's output lines on a thread, to wait for one without blocking."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> str:
        """The first line (from now or before) matching ``pattern``."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        for line in self.seen:
            if regex.search(line):
                return line
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if regex.search(line):
                return line
        raise AssertionError(f"no line matching {pattern!r} in {timeout} s; got {self.seen}")


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [*STREAMCALL, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """A standalone coordinator on 127.0.0.1, port 0, with one known app."""
    process = _spawn(
        "serve",
        "--port=0",
        f"--api-key={API_KEY}",
        f"--api-secret={API_SECRET}",
        "--db=:memory:",
        "--log-level=WARNING",
    )
    assert process.stderr is not None
    line = LineReader(process.stderr).wait_for(r"coordinator on ws://")
    url = re.search(r"(ws://\S+)", line)
    assert url is not None
    yield Server(url.group(1), process)
    _stop(process)


@pytest.fixture
def bot(server: Server, request: pytest.FixtureRequest) -> Iterator[LineReader]:
    """``streamcall bot --user bob --auto-accept`` (plus the test's extra options)."""
    extra: list[str] = getattr(request, "param", [])
    process = _spawn(
        "bot",
        "--user=bob",
        f"--url={server.url}",
        f"--api-key={API_KEY}",
        f"--token={mint_token(API_SECRET, 'bob')}",
        "--auto-accept",
        *extra,
    )
    assert process.stdout is not None
    lines = LineReader(process.stdout)
    lines.wait_for(r'"event": "ready"')
    yield lines
    _stop(process)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""


@pytest.fixture
def alice(server: Server, tmp_path: Path) -> Iterator[StreamCall]:
    """A client in this process, logged in to the server with a token."""
    client = StreamCall(url=server.url, api_key=API_KEY, settings_dir=tmp_path)
    client.login("alice", name="Alice", token=mint_token(API_SECRET, "alice")).result(10)
    yield client
    client.close()


def _collect(call: Any, kind: str, count: int) -> list[tuple[Participant | None, Any]]:
    frames: list[tuple[Participant | None, Any]] = []
    done = threading.Event()

    def keep(participant: Participant | None, array: npt.NDArray[Any]) -> None:
        frames.append((participant, array.copy()))
        if len(frames) >= count:
            done.set()

    handle = (call.on_remote_video if kind == "video" else call.on_remote_audio)(keep)
    assert done.wait(30), f"only {len(frames)} remote {kind} frames arrived"
    handle.remove()
    return frames


def _mono(samples: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    mono: npt.NDArray[np.float64] = samples.reshape(-1, 2).mean(axis=1)
    return mono


def test_call_between_processes_carries_video_and_audio(alice: StreamCall, bot: LineReader) -> None:
    """A notebook process rings a bot process through `streamcall serve`; each receives the
    other's stamped video and tone."""
    call = alice.call(["bob"]).result(10)
    call.wait_until(CallState.JOINED).result(30)
    bot.wait_for(r'"state": "joined"')

    video = _collect(call, "video", 10)
    assert {p.user_id for p, _ in video if p is not None} == {"bob"}
    assert read_stamp(video[-1][1]) == user_stamp("bob")

    audio = _collect(call, "audio", 50)
    samples = np.concatenate([_mono(a) for _, a in audio[10:]])
    assert abs(dominant_frequency(samples, 48000) - user_tone("bob")) < 30

    alice.end_call().result(10)
    bot.wait_for(r'"state": "ended"')
    bot.wait_for(r'"state": "left"')


@pytest.mark.parametrize("bot", [["--echo"]], indirect=True)
def test_echo_bot_sends_back_what_it_receives(alice: StreamCall, bot: LineReader) -> None:
    """``streamcall bot --echo`` returns the caller's own stamped video."""
    call = alice.call(["bob"]).result(10)
    call.wait_until(CallState.JOINED).result(30)
    deadline = time.monotonic() + 30
    stamps: set[int | None] = set()
    while user_stamp("alice") not in stamps and time.monotonic() < deadline:
        stamps |= {read_stamp(frame) for _, frame in _collect(call, "video", 5)}
    assert user_stamp("alice") in stamps
    alice.end_call().result(10)
    bot.wait_for(r'"state": "ended"')
    events = [json.loads(line) for line in bot.seen if line.startswith("{")]
    assert {"ready", "incomingCall", "callEvent"} <= {e["event"] for e in events}
