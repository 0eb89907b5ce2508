"""Shared pieces of the engine tests: real ``StreamCall`` clients, recorders and polling.

Each test gets its own runtime directory, so the first client it makes starts a fresh
embedded coordinator (on the engine loop of this process) and later ones find it through
the discovery file; :class:`Clients` closes them in reverse order, the starter last (each
test module's ``clients`` fixture is ``with Clients(tmp_path) as made: yield made``).

Nothing here sleeps to let time pass: every wait polls a condition with a generous deadline
and fails naming what it waited for.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy.typing as npt

from streamcall_widget import Call, CallEvent, CallState, IncomingCall, Participant, StreamCall
from streamcall_widget.coordinator import App, Coordinator, CoordinatorConfig
from streamcall_widget.engine.devices import SYNTHETIC_CAMERA, SYNTHETIC_MICROPHONE
from streamcall_widget.engine.mesh import MeshTransport
from streamcall_widget.engine.peer import PeerSession
from streamcall_widget.engine.results import ErrorReport
from streamcall_widget.engine.stamp import dominant_frequency, read_stamp
from streamcall_widget.protocol.lifecycle import PHASES

T = TypeVar("T")

DEADLINE = 20.0
"""Seconds any single wait may take before the test fails (2 shared cores: be generous)."""
RESULT = 15.0
"""Seconds ``EngineFuture.result`` may take."""
SAMPLE_RATE = 48_000
"""aiortc decodes Opus to 48 kHz interleaved s16 stereo."""


Triple = tuple[str, str | None, str | None]
"""A callEvent as the sequence tests compare it: (state, user_id, reason)."""


def wait_for(
    probe: Callable[[], T | None], what: str, timeout: float = DEADLINE, interval: float = 0.02
) -> T:
    """Poll ``probe`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def wait_stalled(
    count: Callable[[], int], what: str, quiet: float = 0.5, timeout: float = DEADLINE
) -> int:
    """Poll ``count`` until it has not changed for ``quiet`` seconds; return its value."""
    deadline = time.monotonic() + timeout
    value, since = count(), time.monotonic()
    while True:
        time.sleep(0.05)
        now, current = time.monotonic(), count()
        if current != value:
            value, since = current, now
        elif now - since >= quiet:
            return value
        if now > deadline:
            raise AssertionError(f"{what} kept changing for {timeout} s (now {value})")


def wait_growing(count: Callable[[], int], what: str, by: int = 5) -> int:
    """Wait until ``count`` has grown by ``by`` from now; return the new value."""
    start = count()
    return wait_for(lambda: count() if count() >= start + by else None, what)


class Recorder(Generic[T]):
    """A listener that keeps everything it is called with, safe to read from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[T] = []

    def __call__(self, item: T) -> None:
        with self._lock:
            self._items.append(item)

    @property
    def items(self) -> list[T]:
        """A snapshot of what was recorded, in order."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        """Forget what was recorded so far."""
        with self._lock:
            self._items.clear()

    def wait(self, match: Callable[[T], bool], what: str) -> T:
        """The first recorded item ``match`` accepts, waiting for it if needed."""

        def find() -> T | None:
            return next((item for item in self.items if match(item)), None)

        return wait_for(find, what)


@dataclass
class Client:
    """One ``StreamCall`` with recorders on each of its listener events."""

    user_id: str
    sc: StreamCall
    events: Recorder[CallEvent] = field(default_factory=Recorder)
    incoming: Recorder[IncomingCall] = field(default_factory=Recorder)
    errors: Recorder[ErrorReport] = field(default_factory=Recorder)

    def triples(self, call_id: str | None = None) -> list[Triple]:
        """The callEvents so far as (state, user_id, reason), optionally of one call."""
        return [
            (str(e.state), e.user_id, None if e.reason is None else str(e.reason))
            for e in self.events.items
            if call_id is None or e.call_id == call_id
        ]

    def phases(self, call_id: str | None = None) -> list[Triple]:
        """Only the phase changes among :meth:`triples`."""
        return [t for t in self.triples(call_id) if CallState(t[0]) in PHASES]

    def wait_event(
        self, state: CallState, user_id: str | None = None, call_id: str | None = None
    ) -> CallEvent:
        """The first callEvent of ``state`` (by ``user_id``, of ``call_id``), waiting for it."""
        return self.events.wait(
            lambda e: (
                e.state is state
                and (user_id is None or e.user_id == user_id)
                and (call_id is None or e.call_id == call_id)
            ),
            f"{self.user_id} to see {state.value}" + (f" by {user_id}" if user_id else ""),
        )

    def wait_incoming(self, cid: str) -> IncomingCall:
        """The incomingCall of ``cid``, waiting for it."""
        return self.incoming.wait(lambda i: i.cid == cid, f"{self.user_id} to be rung for {cid}")

    def wait_ringing(self, cid: str) -> Call:
        """The Call ringing here for ``cid`` (once its incomingCall has been delivered)."""
        self.wait_incoming(cid)
        ringing = self.sc.get_ringing_call().result(RESULT)
        assert ringing is not None
        assert ringing.cid == cid
        return ringing

    def flush(self) -> None:
        """Wait until every event already produced for this client has reached listeners.

        The coordinator answers a request only after sending the events produced before
        it, so one round trip brings them all in; then a marker posted on the listener
        thread runs after the listeners of every event emitted so far.
        """
        if self.sc.get_current_user().result(RESULT).is_logged_in:
            self.sc.query_calls(limit=1).result(RESULT)
        done = threading.Event()
        self.sc._runner.post(done.set)
        assert done.wait(DEADLINE), f"{self.user_id}'s listener thread is stuck"

    def errors_in(self, where: str) -> list[ErrorReport]:
        """Error reports whose ``where`` mentions ``where``."""
        return [r for r in self.errors.items if where in r.where]


class Clients:
    """Makes logged-in clients sharing one embedded coordinator; closes them all."""

    def __init__(self, runtime_dir: Path) -> None:
        self.runtime_dir = runtime_dir
        self.made: list[Client] = []

    def __call__(
        self, user_id: str, *, name: str | None = None, login: bool = True, **options: Any
    ) -> Client:
        """A client for ``user_id`` (synthetic camera and microphone), listening to all."""
        options.setdefault("camera", SYNTHETIC_CAMERA.id)
        options.setdefault("microphone", SYNTHETIC_MICROPHONE.id)
        sc = StreamCall(runtime_dir=self.runtime_dir, settings_dir=self.runtime_dir, **options)
        client = Client(user_id, sc)
        self.made.append(client)
        sc.add_listener("callEvent", client.events)
        sc.add_listener("incomingCall", client.incoming)
        sc.add_listener("error", client.errors)
        if login:
            sc.login(user_id, name=name).result(RESULT)
        return client

    def close(self) -> None:
        """Close every client, the last made first (the coordinator's owner is the first)."""
        while self.made:
            self.made.pop().sc.close()

    def __enter__(self) -> Clients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ring_and_accept(caller: Client, callee: Client, **options: Any) -> tuple[Call, Call]:
    """``caller`` rings ``callee``, who accepts; returns both Calls once both are joined."""
    outgoing = caller.sc.call([callee.user_id], ring=True, **options).result(RESULT)
    callee.wait_ringing(outgoing.cid)
    answered = callee.sc.accept_call().result(RESULT)
    outgoing.wait_until(CallState.JOINED).result(RESULT)
    assert answered.state is CallState.JOINED
    return outgoing, answered


def participant(call: Call, user_id: str) -> Participant | None:
    """``user_id``'s participant in ``call`` now, if present."""
    return next((p for p in call.participants if p.user_id == user_id), None)


def session_of(call: Call, user_id: str) -> str:
    """The session id of ``user_id`` in ``call``, waiting until they are in it."""
    found = wait_for(lambda: participant(call, user_id), f"{user_id} to be in {call.cid}")
    return found.session_id


def peers(call: Call) -> dict[str, PeerSession]:
    """The call's peer connections by remote session id (none outside a session)."""
    transport = call._links.transport
    if transport is None:
        return {}
    assert isinstance(transport, MeshTransport)
    return transport.peers


def mono_tone(samples: npt.NDArray[Any]) -> float:
    """The loudest frequency of one received audio frame (interleaved s16 stereo)."""
    return dominant_frequency(samples, SAMPLE_RATE, channels=2)


class MediaProbe:
    """``on_remote_video``/``on_remote_audio`` hooks keeping, per user, what arrived."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.stamps: dict[str, list[int | None]] = {}
        self.tones: dict[str, list[float]] = {}

    def attach(self, call: Call) -> MediaProbe:
        """Hook this probe to ``call``'s remote video and audio."""
        call.on_remote_video(self.video)
        call.on_remote_audio(self.audio)
        return self

    def video(self, who: Participant | None, rgb: npt.NDArray[Any]) -> None:
        """Record the stamp read from one remote video frame."""
        stamp = read_stamp(rgb)
        with self._lock:
            self.stamps.setdefault(who.user_id if who else "?", []).append(stamp)

    def audio(self, who: Participant | None, samples: npt.NDArray[Any]) -> None:
        """Record the dominant frequency of one remote audio frame."""
        tone = mono_tone(samples)
        with self._lock:
            self.tones.setdefault(who.user_id if who else "?", []).append(tone)

    def stamps_of(self, user_id: str) -> list[int | None]:
        """Stamps read from ``user_id``'s frames, in order."""
        with self._lock:
            return list(self.stamps.get(user_id, ()))

    def tones_of(self, user_id: str) -> list[float]:
        """Dominant frequencies of ``user_id``'s audio frames, in order."""
        with self._lock:
            return list(self.tones.get(user_id, ()))

    def wait_stamp(self, user_id: str, stamp: int, frames: int = 3) -> None:
        """Wait until the last ``frames`` frames from ``user_id`` all carry ``stamp``."""

        def seen() -> bool:
            last = self.stamps_of(user_id)[-frames:]
            return len(last) == frames and all(s == stamp for s in last)

        wait_for(seen, f"{frames} frames from {user_id} stamped {stamp}")

    def wait_tone(self, user_id: str, hz: float, frames: int = 5, tolerance: float = 30.0) -> None:
        """Wait until the last ``frames`` audio frames from ``user_id`` are at ``hz``."""

        def heard() -> bool:
            last = self.tones_of(user_id)[-frames:]
            return len(last) == frames and all(abs(t - hz) <= tolerance for t in last)

        wait_for(heard, f"{frames} audio frames from {user_id} at {hz} Hz")


class ServerThread:
    """A coordinator for fixed apps, served from its own thread and event loop.

    It stands for a remote server: clients reach it by URL and API key, with tokens.
    ``port`` and ``db`` let a test stop it and start another in its place.
    """

    def __init__(self, *apps: App, port: int = 0, db: str | None = None) -> None:
        self.apps = apps
        self._port = port
        self._db = db
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="test-coordinator", daemon=True)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        assert self._ready.wait(DEADLINE), "the test coordinator did not start"
        if self._failure is not None:
            raise self._failure
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(DEADLINE)
        assert not self._thread.is_alive(), "the test coordinator did not stop"

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._failure = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        config = CoordinatorConfig(apps=self.apps, port=self._port, db=self._db)
        async with Coordinator(config) as server:
            self.url = server.url
            self._ready.set()
            await self._stop.wait()
