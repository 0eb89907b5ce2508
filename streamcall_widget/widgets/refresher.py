"""One thread that copies engine state into every widget's traits.

Widgets show the engine's state; they never keep their own. Rather than each engine event
setting traits from whatever thread it arrives on, every widget has a ``refresh()`` that
reads the engine and sets its traits, and this one thread calls it: at once when an engine
event wakes it, and 10 times a second for what changes without events (levels, speaking,
connection quality). Only traits whose value changed reach the page.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Protocol

__all__ = ["Refreshable", "Refresher", "refresher"]

logger = logging.getLogger(__name__)

PERIOD = 0.1
"""Seconds between two polls of the engine."""


class Refreshable(Protocol):
    """Something that copies engine state into its traits."""

    def refresh(self) -> None:
        """Read the engine and update the traits (called on the refresher thread)."""


class Refresher:
    """The refresher thread, started with the first widget."""

    def __init__(self, period: float = PERIOD) -> None:
        self._period = period
        self._widgets: weakref.WeakSet[Refreshable] = weakref.WeakSet()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, widget: Refreshable) -> None:
        """Refresh ``widget`` from now on (it is dropped when garbage collected)."""
        with self._lock:
            self._widgets.add(widget)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="streamcall-widgets", daemon=True
                )
                self._thread.start()
        self.wake()

    def discard(self, widget: Refreshable) -> None:
        """Stop refreshing ``widget``."""
        with self._lock:
            self._widgets.discard(widget)

    def wake(self) -> None:
        """Refresh every widget now (any thread; an engine event happened)."""
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._period)
            self._wake.clear()
            with self._lock:
                widgets = list(self._widgets)
            for widget in widgets:
                try:
                    widget.refresh()
                except Exception:
                    logger.exception("refreshing %r failed", widget)


refresher = Refresher()
"""The process's refresher."""
