"""User callbacks: ordered listeners, run on their own thread, whose errors never spread.

Listeners must not run on the engine loop: a listener that calls ``sc.accept_call().result()``
would wait for the very loop it blocks. They run instead on one dispatcher thread, in
the order events happened and, for one event, in the order listeners were added. A
listener that raises is logged (and passed to ``on_error``, which the widgets show) and
the next listener still runs.
"""

from __future__ import annotations

import functools
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from streamcall_widget.errors import InputError

__all__ = ["CallbackRunner", "ListenerHandle", "ListenerRegistry", "report_hook_error"]

logger = logging.getLogger(__name__)

E = TypeVar("E")

ErrorSink = Callable[[str, BaseException], None]


class CallbackRunner:
    """One daemon thread running queued callbacks in order."""

    def __init__(self, name: str = "streamcall-callbacks") -> None:
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            job()

    def post(self, job: Callable[[], None]) -> None:
        """Queue ``job``; it runs after everything queued before it."""
        self._queue.put(job)

    def close(self, timeout: float = 5.0) -> None:
        """Run what is queued, then stop the thread (a no-op from the thread itself)."""
        self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)


@dataclass(eq=False)
class ListenerHandle:
    """What ``add_listener`` returns: ``remove()`` unsubscribes this one listener."""

    event: str
    _remove: Callable[[], None] = field(repr=False)

    def remove(self) -> None:
        """Stop calling this listener (idempotent)."""
        self._remove()


class ListenerRegistry(Generic[E]):
    """Listeners per event name; emitting queues every listener's call on the runner."""

    def __init__(
        self, events: tuple[str, ...], runner: CallbackRunner, on_error: ErrorSink
    ) -> None:
        self._events = events
        self._runner = runner
        self._on_error = on_error
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._listeners: dict[str, dict[int, Callable[[E], Any]]] = {name: {} for name in events}

    def add(self, event: str, listener: Callable[[E], Any]) -> ListenerHandle:
        """Call ``listener(payload)`` for every ``event``, after those added before it."""
        if event not in self._listeners:
            raise InputError(f"unknown event {event!r}; allowed: {', '.join(self._events)}")
        if not callable(listener):
            raise InputError(f"listener must be callable, not {type(listener).__name__}")
        with self._lock:
            key = next(self._ids)
            self._listeners[event][key] = listener

        def remove() -> None:
            with self._lock:
                self._listeners[event].pop(key, None)

        return ListenerHandle(event, remove)

    def clear(self) -> None:
        """Remove every listener of every event."""
        with self._lock:
            for listeners in self._listeners.values():
                listeners.clear()

    def count(self, event: str) -> int:
        """How many listeners ``event`` has."""
        with self._lock:
            return len(self._listeners[event])

    def emit(self, event: str, payload: E) -> None:
        """Queue the calls of ``event``'s listeners (as registered now) with ``payload``."""
        with self._lock:
            listeners = list(self._listeners[event].values())
        for listener in listeners:
            self._runner.post(functools.partial(self._call, event, listener, payload))

    def _call(self, event: str, listener: Callable[[E], Any], payload: E) -> None:
        try:
            listener(payload)
        except Exception as exc:
            report_hook_error(self._on_error, f"{event} listener {_name(listener)}", exc)


def report_hook_error(sink: ErrorSink, where: str, error: BaseException) -> None:
    """Log a user callback's error in one line (its traceback at DEBUG) and hand it to
    ``sink``; never raises."""
    logger.warning("error in %s: %r", where, error)
    logger.debug("error in %s", where, exc_info=error)
    try:
        sink(where, error)
    except Exception:
        logger.exception("error sink failed")


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", repr(fn))
