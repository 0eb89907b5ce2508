"""Watchable call properties, as Voximplant's ``ReadonlyWatchable`` (seed 001).

``call.watch("state", fn)`` calls ``fn(new, old)`` whenever ``call.state`` changes, for
every name in :data:`WATCHABLE`. :class:`CallWatchables` is a mixin of
:class:`~streamcall_widget.engine.call.Call` holding those properties (``duration``,
``started_at``, ``previous_state``, ``remote_display_name``, ``signalwire``...) and the
``watch`` method; :class:`Watchers` keeps each watched value and tells its watchers.

When values are compared: each time the call emits ``callEvent``\\ s (so ``state``,
``previous_state`` and ``signalwire`` changes reach watchers right after the ``callEvent``
listeners of the same change, in order, never merged), and, while anyone watches, every
:data:`POLL` seconds on the engine loop for what changes without an event (the streams, the
running ``duration``). ``duration`` is reported once per whole second. Watchers run on the
client's listener thread (never on the engine loop: a watcher may wait on an
``EngineFuture``); one raising is reported through the ``error`` listeners and the others
still run.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streamcall_widget.errors import InvalidArguments
from streamcall_widget.protocol.lifecycle import CallMember, CallState, Direction
from streamcall_widget.protocol.signalwire import (
    SignalWireState,
    SignalWireView,
    signalwire_state,
)

from .call_parts import CallParts
from .listeners import ListenerHandle

if TYPE_CHECKING:
    from .call import CallHost
    from .streams import LocalStream
    from .tracks import TrackRef

__all__ = ["POLL", "WATCHABLE", "CallWatchables", "Watcher", "Watchers"]

POLL = 0.25
"""Seconds between two looks at the values that change without an event."""

WATCHABLE = (
    "state",
    "previous_state",
    "signalwire",
    "direction",
    "duration",
    "started_at",
    "remote_display_name",
    "remote_uri",
    "local_streams",
    "remote_streams",
    "has_screen_sharing",
    "participant_count",
    "is_on_hold",
    "is_deaf",
    "pins",
    "local_pins",
    "is_live",
    "own_capabilities",
    "is_recording",
)
"""The properties of a ``Call`` that ``watch`` accepts."""

Watcher = Callable[[Any, Any], Any]
"""``fn(new, old)``, called when a watched value changes."""

_CHANGE_KEY: dict[str, Callable[[Any], Any]] = {"duration": math.floor}
"""How a value is compared where not by equality: ``duration`` by whole seconds."""


class Watchers:
    """The watchers of one call's properties, the last value each saw, and the poll."""

    def __init__(
        self,
        read: Callable[[str], Any],
        host: CallHost,
        where: str,
    ) -> None:
        self._read = read
        self._host = host
        self._where = where
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._watchers: dict[str, dict[int, Watcher]] = {}
        self._seen: dict[str, Any] = {}
        self._poll: asyncio.Task[None] | None = None
        self._closed = False

    def add(self, name: str, fn: Watcher) -> ListenerHandle:
        """Call ``fn(new, old)`` from now on whenever property ``name`` changes."""
        if name not in WATCHABLE:
            raise InvalidArguments(f"{name!r} cannot be watched; watchable: {', '.join(WATCHABLE)}")
        if not callable(fn):
            raise InvalidArguments(f"a watcher must be callable, not {type(fn).__name__}")
        with self._lock:
            key = next(self._ids)
            if not self._watchers.get(name):  # unwatched until now: what was seen is stale
                self._seen[name] = self._read(name)
            self._watchers.setdefault(name, {})[key] = fn

        def remove() -> None:
            with self._lock:
                self._watchers.get(name, {}).pop(key, None)

        if not self._closed:
            self._host.engine.loop.call_soon_threadsafe(self._start_polling)
        return ListenerHandle(name, remove)

    def refresh(self) -> None:
        """Compare every watched value with the last one seen; queue the watchers of each
        change (engine loop)."""
        with self._lock:
            watched = {name: dict(fns) for name, fns in self._watchers.items() if fns}
        for name, fns in watched.items():
            new = self._read(name)
            old = self._seen.get(name)
            same_key = _CHANGE_KEY.get(name, _identity)
            if same_key(new) == same_key(old):
                continue
            self._seen[name] = new
            for fn in fns.values():
                self._host.post_callback(functools.partial(self._call, name, fn, new, old))

    def close(self) -> None:
        """Tell the last changes, then drop every watcher and stop polling."""
        self.refresh()
        self._closed = True
        with self._lock:
            self._watchers.clear()
        if self._poll is not None:
            self._poll.cancel()

    def _start_polling(self) -> None:
        if self._poll is None and not self._closed:
            self._poll = asyncio.get_running_loop().create_task(self._polling())

    async def _polling(self) -> None:
        while True:
            self.refresh()
            await asyncio.sleep(POLL)

    def _call(self, name: str, fn: Watcher, new: Any, old: Any) -> None:
        try:
            fn(new, old)
        except Exception as exc:
            where = f"{name} watcher {getattr(fn, '__qualname__', repr(fn))} of {self._where}"
            self._host.report(where, exc)


def _identity(value: Any) -> Any:
    return value


class CallWatchables(CallParts):
    """The watchable properties of a call; the ``Call`` provides what is declared here."""

    if TYPE_CHECKING:

        @property
        def local_streams(self) -> tuple[LocalStream, ...]: ...
        @property
        def remote_streams(self) -> tuple[TrackRef, ...]: ...
        @property
        def is_on_hold(self) -> bool: ...

    def _init_watchables(self) -> None:
        self._watchers = Watchers(lambda name: getattr(self, name), self._host, self.cid)
        self._left_at: float | None = None
        self._destroyed = False
        self._purged = False
        self._signalwire = SignalWireView(self._signalwire_word())

    def watch(self, name: str, fn: Watcher) -> ListenerHandle:
        """Call ``fn(new, old)`` on the listener thread whenever property ``name`` (one of
        :data:`WATCHABLE`) changes; ``remove()`` the handle to stop. An unknown name raises
        ``InvalidArguments`` listing the watchable ones."""
        return self._watchers.add(name, fn)

    @property
    def previous_state(self) -> CallState | None:
        """The phase before the current one (seed 004's ``prevState``; None while idle)."""
        return self.lifecycle.previous_phase

    @property
    def duration(self) -> float:
        """Seconds since the call was first joined (0.0 before; a rejoin keeps counting;
        it stops when the call is left)."""
        joined_at = self._core.joined_at
        if joined_at is None:
            return 0.0
        until = self._left_at if self._left_at is not None else time.time()
        return max(0.0, until - joined_at)

    @property
    def started_at(self) -> float | None:
        """When the call's session started (epoch seconds, the coordinator's
        ``session.started_at``); None until someone joined it."""
        return self._core.started_at

    @property
    def remote_display_name(self) -> str | None:
        """The other party's name (their id if they have none): the caller of a ring we
        got; in a call we made or joined, the other members, comma-separated in member
        order when there are several; None while there is nobody else (seed 001)."""
        return ", ".join(m.name or m.user_id for m in self._remote_parties()) or None

    @property
    def remote_uri(self) -> str | None:
        """The other party's address as a ``streamcall:<user_id>`` URI, chosen as
        :attr:`remote_display_name` (seed 001's ``remoteSipUri``: there are no SIP
        endpoints, the address is the user id on this call's coordinator)."""
        return ", ".join(f"streamcall:{m.user_id}" for m in self._remote_parties()) or None

    def _remote_parties(self) -> list[CallMember]:
        """The caller of a ring we got; else the other members, in member order."""
        lifecycle = self.lifecycle
        caller = lifecycle.caller
        if lifecycle.direction is Direction.INCOMING and caller is not None:
            return [caller]
        return [m for m in lifecycle.members if m.user_id != lifecycle.self_user_id]

    @property
    def signalwire(self) -> SignalWireView:
        """The call's state in SignalWire's words with the previous one (seed 004)."""
        word, last = self._signalwire_word(), self._signalwire
        return last if word is last.state else SignalWireView(word, last.state)

    def _signalwire_word(self) -> SignalWireState:
        lifecycle = self.lifecycle
        return signalwire_state(
            lifecycle.phase,
            lifecycle.direction,
            accepting=lifecycle.accepted_by == lifecycle.self_user_id,
            on_hold=self.is_on_hold,
            destroyed=self._destroyed,
            purged=self._purged,
        )

    def _changed(self) -> None:
        """The call emitted events (engine loop): note when it was left and the SignalWire
        word it moved from, and tell the watchers."""
        if self.state is CallState.LEFT and self._left_at is None:
            self._left_at = time.time()
        self._signalwire = self.signalwire
        self._watchers.refresh()

    def _released(self) -> None:
        """The call's media is closed (``destroy``), then it is forgotten (``purge``):
        the watchers hear both, then are dropped."""
        self._destroyed = True
        self._changed()
        self._purged = True
        self._signalwire = self.signalwire
        self._watchers.close()
