"""Media survives the coordinator: peers talk directly, so an outage must not stop them.

A server is stopped mid-call and another started on the same port and database three
seconds later; both clients go ``reconnecting`` and back to ``joined``, resuming the same
sessions (the new server restores them from the database), while frames keep arriving
every second of the outage, each read back by its stamp.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streamcall_widget import Call, CallState, Participant, StreamCall
from streamcall_widget.coordinator import App, mint_token
from streamcall_widget.engine.stamp import read_stamp, user_stamp

from .engine_helpers import RESULT, ServerThread, wait_for
from .ports import free_port

APP = App(api_key="outage-key", api_secret="outage-secret-" + "o" * 32)
OUTAGE = 3.0
"""Seconds the coordinator stays down."""


class Arrivals:
    """A remote-video hook keeping when each frame from ``user_id`` arrived, by stamp."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self._lock = threading.Lock()
        self.times: list[float] = []

    def __call__(self, who: Participant | None, rgb: Any) -> None:
        if who is not None and who.user_id == self.user_id:
            assert read_stamp(rgb) == user_stamp(self.user_id)
            with self._lock:
                self.times.append(time.monotonic())

    def per_second(self, start: float, seconds: int) -> list[int]:
        """Frames that arrived in each second from ``start``."""
        with self._lock:
            return [sum(start + s <= t < start + s + 1 for t in self.times) for s in range(seconds)]


def _call_with_arrivals(
    alice: StreamCall, bob: StreamCall
) -> tuple[Call, Call, Arrivals, Arrivals]:
    """Alice's call with Bob, each side timing the other's stamped video (flowing)."""
    outgoing = alice.call(["bob"], ring=False).result(RESULT)
    answered = bob.join_call(outgoing.id).result(RESULT)
    at_alice, at_bob = Arrivals("bob"), Arrivals("alice")
    outgoing.on_remote_video(at_alice)
    answered.on_remote_video(at_bob)
    wait_for(lambda: len(at_alice.times) > 10 and len(at_bob.times) > 10, "media both ways")
    return outgoing, answered, at_alice, at_bob


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def clients(tmp_path: Path, port: int) -> Iterator[Callable[[str], StreamCall]]:
    made: list[StreamCall] = []

    def make(user_id: str) -> StreamCall:
        sc = StreamCall(
            url=f"ws://127.0.0.1:{port}/ws",
            api_key=APP.api_key,
            runtime_dir=tmp_path,
            settings_dir=tmp_path,
            camera="synthetic-camera",
            microphone="synthetic-microphone",
        )
        made.append(sc)
        sc.login(user_id, token_provider=lambda: mint_token(APP.api_secret, user_id)).result(RESULT)
        return sc

    yield make
    for sc in reversed(made):
        sc.close()


def test_frames_arrive_every_second_of_a_coordinator_outage(
    clients: Callable[[str], StreamCall], tmp_path: Path, port: int
) -> None:
    """Stop the server mid-call, start another on its port and database after 3 s: both
    sides receive the other's stamped video in every second of the outage and both end
    ``joined`` again in the sessions they had."""
    db = str(tmp_path / "calls.sqlite3")
    server = ServerThread(APP, port=port, db=db).__enter__()
    try:
        alice, bob = clients("alice"), clients("bob")
        outgoing, answered, at_alice, at_bob = _call_with_arrivals(alice, bob)
        states: dict[str, list[CallState]] = {"alice": [], "bob": []}
        errors: list[object] = []
        alice.add_listener("error", errors.append)
        bob.add_listener("error", errors.append)
        alice.add_listener("callEvent", lambda e: states["alice"].append(e.state))
        bob.add_listener("callEvent", lambda e: states["bob"].append(e.state))

        before = (outgoing.session_id, answered.session_id)
        start = time.monotonic()
        server.__exit__(None, None, None)
        wait_for(
            lambda: all(CallState.RECONNECTING in s for s in states.values()),
            "both calls to be reconnecting",
        )
        time.sleep(OUTAGE - (time.monotonic() - start))  # the outage itself
        server = ServerThread(APP, port=port, db=db).__enter__()
        for call in (outgoing, answered):
            call.wait_until(CallState.JOINED).result(RESULT)
        seconds = int(OUTAGE)
        wait_for(lambda: time.monotonic() > start + seconds, "the outage to be over")
        assert all(at_bob.per_second(start, seconds)), at_bob.per_second(start, seconds)
        assert all(at_alice.per_second(start, seconds)), at_alice.per_second(start, seconds)
        assert [s for s in states["alice"] if s in (CallState.RECONNECTING, CallState.JOINED)][
            :2
        ] == [CallState.RECONNECTING, CallState.JOINED]
        seen = len(at_bob.times)
        wait_for(lambda: len(at_bob.times) > seen + 10, "alice's video after the rejoin")
        assert_joined_together(outgoing, answered)
        assert (outgoing.session_id, answered.session_id) == before  # resumed, not rejoined
        assert errors == []  # the hooks' stamp checks included
    finally:
        server.__exit__(None, None, None)


def _serve(port: int, db: Path) -> subprocess.Popen[bytes]:
    """``streamcall serve`` for APP on ``port`` and ``db``, answering /health."""
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "streamcall"),
            "serve",
            f"--port={port}",
            f"--db={db}",
            f"--api-key={APP.api_key}",
        ],
        env={**os.environ, "STREAMCALL_API_SECRET": APP.api_secret},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def healthy() -> bool:
        assert proc.poll() is None, "streamcall serve exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return True
        except OSError:
            return False

    wait_for(healthy, "streamcall serve to answer /health")
    return proc


def test_media_survives_kill_9_of_the_server_process(
    clients: Callable[[str], StreamCall], tmp_path: Path, port: int
) -> None:
    """``kill -9`` of ``streamcall serve`` mid-call, restarted 3 s later on the same port and
    database: frames arrive both ways in every second, and both clients resume the sessions
    they had (the server restores them from its database)."""
    db = tmp_path / "served.sqlite3"
    proc = _serve(port, db)
    try:
        alice, bob = clients("alice"), clients("bob")
        outgoing, answered, at_alice, at_bob = _call_with_arrivals(alice, bob)
        before = (outgoing.session_id, answered.session_id)

        start = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(RESULT)
        wait_for(
            lambda: (
                outgoing.state is CallState.RECONNECTING
                and answered.state is CallState.RECONNECTING
            ),
            "both calls to be reconnecting",
        )
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - start)))
        proc = _serve(port, db)
        for call in (outgoing, answered):
            call.wait_until(CallState.JOINED).result(RESULT)
        seconds = int(OUTAGE)
        assert all(at_bob.per_second(start, seconds)), at_bob.per_second(start, seconds)
        assert all(at_alice.per_second(start, seconds)), at_alice.per_second(start, seconds)
        assert (outgoing.session_id, answered.session_id) == before
        assert_joined_together(outgoing, answered)
    finally:
        proc.kill()
        proc.wait(RESULT)


def assert_joined_together(*calls: Call) -> None:
    """Each call sees the other's current session."""
    sessions = {call.session_id for call in calls}

    def together() -> bool:
        return all({p.session_id for p in call.participants} >= sessions for call in calls)

    wait_for(together, "each call to see both current sessions")
